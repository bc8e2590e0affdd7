import { writeFileAtomic } from '../core/atomic_write.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import type { ExecutionProviderName } from './execution_provider.ts';
import type { BatchData, InputSpecs } from './inputs.ts';
import { LocalStepRunner } from './local_step_runner.ts';
import type { Model } from './model.ts';
import { checkParamSet, type ParamSet } from './param_registry.ts';
import type { StepResult, StepRunner, StepRunnerInit } from './step_runner.ts';
import { initialTrainState } from './train_state.ts';
import type { TrainStepOptions, TrainStepSignature } from './train_step.ts';
import { WorkerStepRunner } from './worker_step_runner.ts';

export interface TrainerOptions<I extends InputSpecs, O extends string, L extends InputSpecs> {
  /** How the step graph is built: batch size, loss, AdamW settings, clipping. */
  readonly trainStep: TrainStepOptions<I, O, L>;
  /** Initial parameters (copied), e.g. `model.initParams(new Rng(seed))`. */
  readonly params: ReadonlyMap<string, Float32Array>;
  /** Learning rate of update n (1-based); without it every update uses `trainStep.optimizer.lr`. */
  readonly lrSchedule?: (step: number) => number;
  /** @default 'cpu'; 'cuda' falls back to CPU with a printed notice when unavailable */
  readonly executionProvider?: ExecutionProviderName;
  /** ORT intra-op threads. @default 1 */
  readonly intraOpNumThreads?: number;
  /** Run ORT in a worker thread so this thread's event loop stays responsive. @default false */
  readonly useWorker?: boolean;
  /** Notices (provider fallback, checkpoint differences). @default console.warn */
  readonly log?: (message: string) => void;
}

export interface SetParamsOptions {
  /** Zero the AdamW moments and the step count as well (fresh fine-tuning). @default false */
  readonly resetOptimizer?: boolean;
}

/**
 * Trains a Model with a generated ONNX step graph (forward + backward + AdamW), run by
 * onnxruntime-node. Weights and optimizer state stay in Float32Arrays owned by the runner
 * (this thread or a worker); this class adds the model-level parts: learning-rate schedule,
 * inference export and checkpoints.
 */
export class Trainer<I extends InputSpecs, O extends string> {
  readonly model: Model<I, O>;
  readonly signature: TrainStepSignature;
  readonly #runner: StepRunner;
  readonly #lrSchedule: ((step: number) => number) | undefined;
  readonly #log: (message: string) => void;
  #step: number;
  #lastGradNorm = Number.NaN;

  private constructor(model: Model<I, O>, signature: TrainStepSignature, runner: StepRunner, options: { lrSchedule?: (step: number) => number; log: (m: string) => void }) {
    this.model = model;
    this.signature = signature;
    this.#runner = runner;
    this.#lrSchedule = options.lrSchedule;
    this.#log = options.log;
    this.#step = 0;
  }

  static async create<I extends InputSpecs, O extends string, L extends InputSpecs>(
    model: Model<I, O>,
    options: TrainerOptions<I, O, L>,
  ): Promise<Trainer<I, O>> {
    checkParamSet(model.paramSpecs, options.params, `Trainer.create(${model.name}) params`);
    const graph = model.buildTrainStep(options.trainStep);
    const log = options.log ?? console.warn;
    const init: StepRunnerInit = {
      bytes: graph.bytes,
      signature: graph.signature,
      state: initialTrainState(options.params),
      session: { executionProvider: options.executionProvider ?? 'cpu', intraOpNumThreads: options.intraOpNumThreads ?? 1 },
    };
    const runner = options.useWorker ? await WorkerStepRunner.create(init, log) : await LocalStepRunner.create(init, log);
    return new Trainer(model, graph.signature, runner, { ...(options.lrSchedule ? { lrSchedule: options.lrSchedule } : {}), log });
  }

  /** The execution provider actually in use. */
  get provider(): ExecutionProviderName {
    return this.#runner.provider;
  }

  /** Number of updates performed (restored by loadCheckpoint). */
  get stepCount(): number {
    return this.#step;
  }

  /** Global gradient norm (before clipping) of the last update. */
  get lastGradNorm(): number {
    return this.#lastGradNorm;
  }

  /** Learning rate the next update will use. */
  get nextLearningRate(): number {
    return this.#lrSchedule ? this.#lrSchedule(this.#step + 1) : this.signature.optimizer.lr;
  }

  /** One AdamW update on `batch` (model inputs and loss targets by name); returns the loss before the update. */
  async step(batch: BatchData): Promise<number> {
    const result: StepResult = await this.#runner.step(batch, this.nextLearningRate);
    this.#step += 1;
    this.#lastGradNorm = result.gradNorm;
    return result.loss;
  }

  /** A copy of the current parameters. */
  async getParams(): Promise<ParamSet> {
    return (await this.#runner.getState()).params;
  }

  /** Replaces the parameters (copied in); optimizer state is kept unless `resetOptimizer`. */
  async setParams(params: ReadonlyMap<string, Float32Array>, options: SetParamsOptions = {}): Promise<void> {
    checkParamSet(this.model.paramSpecs, params, `Trainer.setParams(${this.model.name})`);
    if (options.resetOptimizer) {
      await this.#runner.setState(initialTrainState(params));
      this.#step = 0;
      return;
    }
    const state = await this.#runner.getState();
    await this.#runner.setState({ ...state, params: new Map([...params].map(([k, a]) => [k, a.slice()])) });
  }

  /** Writes the inference ONNX with the current weights as initializers (symbolic batch unless `batchSize`). */
  async exportInference(path: string, options: { readonly batchSize?: number } = {}): Promise<void> {
    const params = await this.getParams();
    writeFileAtomic(path, this.model.buildInference({ params, ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) }));
  }

  /** Parameters, AdamW moments and step count in one file, written atomically. */
  async saveCheckpoint(path: string): Promise<void> {
    const state = await this.#runner.getState();
    saveCheckpoint(path, state, { modelName: this.model.name, optimizer: this.signature.optimizer, params: this.signature.params });
  }

  /** Restores a checkpoint written by `saveCheckpoint`; throws a CheckpointError naming the file when it is invalid. */
  async loadCheckpoint(path: string): Promise<void> {
    const { state, optimizer } = loadCheckpoint(path, { modelName: this.model.name, params: this.model.paramSpecs });
    const current = this.signature.optimizer;
    if (JSON.stringify(optimizer) !== JSON.stringify(current)) {
      this.#log(`[flowsteer nn] ${path}: saved with optimizer ${JSON.stringify(optimizer)}, continuing with ${JSON.stringify(current)}`);
    }
    await this.#runner.setState(state);
    this.#step = state.step;
  }

  /** Releases the ORT session (and the worker thread). */
  async dispose(): Promise<void> {
    await this.#runner.dispose();
  }
}
