import * as ort from 'onnxruntime-node';
import { createSession, type ExecutionProviderName } from './execution_provider.ts';
import { checkBatch, type BatchData } from './inputs.ts';
import { checkParamSet } from './param_registry.ts';
import type { StepResult, StepRunner, StepRunnerInit } from './step_runner.ts';
import { cloneTrainState, type TrainState } from './train_state.ts';
import type { TrainStepSignature } from './train_step.ts';
import { trainStepIO } from './train_step_io.ts';

/** ORT tensors over one copy of the parameters and moments. */
interface StateBuffers {
  readonly params: Map<string, ort.Tensor>;
  readonly m: Map<string, ort.Tensor>;
  readonly v: Map<string, ort.Tensor>;
}

function allocate(sig: TrainStepSignature): StateBuffers {
  const make = (): Map<string, ort.Tensor> =>
    new Map(sig.params.map((p) => [p.name, new ort.Tensor('float32', new Float32Array(p.shape.reduce((a, b) => a * b, 1)), [...p.shape])]));
  return { params: make(), m: make(), v: make() };
}

const data = (t: ort.Tensor): Float32Array => t.data as Float32Array;

/**
 * Runs the step graph in this thread. State lives in two pre-allocated buffer sets: each
 * step feeds set A and has ORT write the updated values straight into set B (pre-allocated
 * fetches, no output copies), then the two swap. Inputs and outputs never alias.
 */
export class LocalStepRunner implements StepRunner {
  readonly provider: ExecutionProviderName;
  readonly #session: ort.InferenceSession;
  readonly #sig: TrainStepSignature;
  #current: StateBuffers;
  #next: StateBuffers;
  #step: number;
  readonly #scalarStep = new ort.Tensor('float32', new Float32Array(1), []);
  readonly #scalarLr = new ort.Tensor('float32', new Float32Array(1), []);

  private constructor(session: ort.InferenceSession, provider: ExecutionProviderName, sig: TrainStepSignature, state: TrainState) {
    this.#session = session;
    this.provider = provider;
    this.#sig = sig;
    this.#current = allocate(sig);
    this.#next = allocate(sig);
    this.#step = 0;
    this.#load(state);
  }

  static async create(init: StepRunnerInit, log?: (message: string) => void): Promise<LocalStepRunner> {
    const { session, provider } = await createSession(init.bytes, { ...init.session, ...(log ? { log } : {}) });
    return new LocalStepRunner(session, provider, init.signature, init.state);
  }

  #load(state: TrainState): void {
    for (const [what, set] of [['params', state.params], ['first moments', state.m], ['second moments', state.v]] as const) {
      checkParamSet(this.#sig.params, set, `train state (${what})`);
    }
    for (const p of this.#sig.params) {
      data(this.#current.params.get(p.name) as ort.Tensor).set(state.params.get(p.name) as Float32Array);
      data(this.#current.m.get(p.name) as ort.Tensor).set(state.m.get(p.name) as Float32Array);
      data(this.#current.v.get(p.name) as ort.Tensor).set(state.v.get(p.name) as Float32Array);
    }
    this.#step = state.step;
  }

  async step(batch: BatchData, lr: number): Promise<StepResult> {
    const sig = this.#sig;
    checkBatch(sig.batchInputs, batch, sig.batchSize, `train step (${sig.modelName})`);
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`train step (${sig.modelName}): learning rate must be a finite number >= 0, got ${lr}`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, spec] of Object.entries(sig.batchInputs)) {
      const d = batch[name] as Float32Array | BigInt64Array;
      feeds[name] = d instanceof Float32Array ? new ort.Tensor('float32', d, [sig.batchSize, ...spec.shape]) : new ort.Tensor('int64', d, [sig.batchSize, ...spec.shape]);
    }
    (this.#scalarStep.data as Float32Array)[0] = this.#step + 1;
    (this.#scalarLr.data as Float32Array)[0] = lr;
    feeds[trainStepIO.step] = this.#scalarStep;
    feeds[trainStepIO.lr] = this.#scalarLr;
    const fetches: Record<string, ort.Tensor | null> = { [sig.lossOutput]: null, [trainStepIO.gradNorm]: null };
    for (const p of sig.params) {
      feeds[trainStepIO.param(p.name)] = this.#current.params.get(p.name) as ort.Tensor;
      feeds[trainStepIO.adamM(p.name)] = this.#current.m.get(p.name) as ort.Tensor;
      feeds[trainStepIO.adamV(p.name)] = this.#current.v.get(p.name) as ort.Tensor;
      fetches[trainStepIO.paramNext(p.name)] = this.#next.params.get(p.name) as ort.Tensor;
      fetches[trainStepIO.adamMNext(p.name)] = this.#next.m.get(p.name) as ort.Tensor;
      fetches[trainStepIO.adamVNext(p.name)] = this.#next.v.get(p.name) as ort.Tensor;
    }
    const out = await this.#session.run(feeds, fetches);
    [this.#current, this.#next] = [this.#next, this.#current];
    this.#step += 1;
    return { loss: (out[sig.lossOutput]?.data as Float32Array)[0] as number, gradNorm: (out[trainStepIO.gradNorm]?.data as Float32Array)[0] as number };
  }

  async getState(): Promise<TrainState> {
    const copy = (set: Map<string, ort.Tensor>): Map<string, Float32Array> => new Map([...set].map(([k, t]) => [k, data(t)]));
    return cloneTrainState({ step: this.#step, params: copy(this.#current.params), m: copy(this.#current.m), v: copy(this.#current.v) });
  }

  async setState(state: TrainState): Promise<void> {
    this.#load(state);
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}
