import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeJsonAtomic } from '../core/atomic_write.ts';
import { UserError } from '../core/errors.ts';
import { Progress } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import { Trainer, createSession, trainStepIO, type ExecutionProviderName, type ParamSet } from '../nn/index.ts';
import { renderLineChart, writeRgbPng } from '../plot/index.ts';
import type { TrainConfig } from './config.ts';
import { TrainingData, type FlowBatch } from './dataset.ts';
import { WeightEma, loadParamFile, saveParamFile } from './ema.ts';
import { buildSampleGraph, writePolicyBundle } from './export.ts';
import { policyTrainStep } from './policy_train_step.ts';
import { flowPolicyModel, POLICY_INPUTS, type FlowPolicyModel, type PolicyDims } from './model.ts';
import { bundleNormalization, readBundleWeights, seedParamsFromBundle, type BundleWeights } from './init_from_bundle.ts';
import type { PolicyManifest } from '../policy/manifest.ts';

/**
 * `flowsteer train`: flow-matching behaviour cloning from a LeRobot dataset into a policy bundle.
 *
 * Output directory:
 *   policy.json, sample.onnx, features.onnx   the bundle (docs/policy-format.md), written at the end
 *   train_state.json                           config, data summary, loss history, validation history
 *   loss.png                                   training and validation loss curves
 *   checkpoints/last.safetensors               weights + AdamW state; `--resume` continues from it
 *
 * Every file is written atomically, checkpoint before train_state.json, so a kill at any moment
 * leaves a resumable directory. Batches are a pure function of (seed, step), so a resumed run
 * sees the same batches an uninterrupted one would have.
 */

export interface TrainOptions {
  readonly dataDir: string;
  readonly outDir: string;
  readonly config: TrainConfig;
  /** Continue from `<outDir>/checkpoints/last.safetensors`. @default false */
  readonly resume?: boolean;
  /**
   * Start from the weights of this policy bundle (fine-tuning; `src/train/init_from_bundle.ts`)
   * with its normalisation and vocabulary; AdamW state and the step count start fresh.
   */
  readonly initFrom?: string;
  /** @default 'cpu' */
  readonly device?: ExecutionProviderName;
  /** Bundle name in policy.json. @default basename(outDir) */
  readonly name?: string;
  /** Run ORT in a worker thread (batches are built meanwhile). @default true */
  readonly useWorker?: boolean;
  /** No progress output. @default false */
  readonly quiet?: boolean;
  /** Progress and notices. @default stderr */
  readonly log?: (line: string) => void;
  /** Stop once this many steps ran in this call, saving nothing, as a kill would (tests). */
  readonly stopAfterSteps?: number;
}

export interface HistoryPoint {
  readonly step: number;
  /** Mean training loss over the steps since the previous point: the flow-matching loss plus subgoal.weight x the subgoal loss. */
  readonly loss: number;
  readonly lr: number;
  readonly grad_norm: number;
  readonly elapsed_s: number;
}

export interface ValPoint {
  readonly step: number;
  /** Flow-matching loss alone on the fixed validation samples. */
  readonly loss: number;
  /** MSE between sampled chunks (K Euler steps from fixed noise) and the demonstrated ones, normalised units. */
  readonly action_mse: number;
}

export interface TrainState {
  readonly format: 'flowsteer.train_state';
  readonly version: 1;
  readonly step: number;
  readonly config: TrainConfig;
  readonly data: { dir: string; frames: number; episodes: number; train_frames: number; val_episodes: number[]; vocab: string[]; task?: string | undefined };
  readonly params: number;
  readonly elapsed_s: number;
  readonly history: HistoryPoint[];
  readonly val: ValPoint[];
  readonly finished: boolean;
}

export interface TrainResult {
  readonly state: TrainState;
  /** True when the run reached config.steps and exported the bundle. */
  readonly finished: boolean;
  readonly stepsPerSecond: number;
}

export const STATE_FILE = 'train_state.json';
export const CHECKPOINT_FILE = join('checkpoints', 'last.safetensors');
export const EMA_FILE = join('checkpoints', 'ema.safetensors');
export const LOSS_PLOT_FILE = 'loss.png';

/** Learning rate of update n (1-based): linear warm-up, then cosine decay to lr * minLrRatio. */
export function learningRate(config: TrainConfig, step: number): number {
  const { lr, warmupSteps, steps, minLrRatio } = config;
  if (step <= warmupSteps) return (lr * step) / Math.max(1, warmupSteps);
  const p = Math.min(1, (step - warmupSteps) / Math.max(1, steps - warmupSteps));
  return lr * (minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** The per-step random stream: batches depend only on (seed, step). */
function stepRng(seed: number, step: number): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ step) >>> 0);
}

function readState(path: string): TrainState {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as TrainState;
    if (s.format !== 'flowsteer.train_state') throw new Error('not a flowsteer train_state.json');
    return s;
  } catch (err) {
    throw new UserError(`${path}: cannot resume from it (${(err as Error).message})`);
  }
}

/** The config's recommended execution in policy.json's field names. */
function manifestExecution(e: NonNullable<TrainConfig['execution']>): NonNullable<PolicyManifest['execution']> {
  return {
    ...(e.nActionSteps !== undefined ? { n_action_steps: e.nActionSteps } : {}),
    ...(e.temporalEnsembleCoeff !== undefined ? { temporal_ensemble_coeff: e.temporalEnsembleCoeff } : {}),
  };
}

/** Fresh initialisation, or the seeding bundle's weights over it (`--init-from`). */
function initialParams(model: FlowPolicyModel, config: TrainConfig, seed: BundleWeights | undefined, options: TrainOptions, log: (line: string) => void): ParamSet {
  const fresh = model.initParams(new Rng(config.seed));
  if (!seed) return fresh;
  const { params, freshNames } = seedParamsFromBundle(model.paramSpecs, fresh, seed, options.initFrom!);
  if (!options.quiet) {
    log(`[train] initialised from ${options.initFrom} (${seed.params.size} tensors${freshNames.length ? `; not in the bundle, freshly initialised: ${freshNames.join(', ')}` : ''})`);
  }
  return params;
}

/** Trains (or resumes) and exports the bundle; see the file comment for the directory layout. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const config = options.config;
  const out = options.outDir;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const statePath = join(out, STATE_FILE);
  const ckptPath = join(out, CHECKPOINT_FILE);
  if (options.initFrom && options.resume) throw new UserError('--init-from starts a new run; --resume continues one: give one of them');
  let previous: TrainState | undefined;
  if (options.resume) {
    if (!existsSync(ckptPath) || !existsSync(statePath)) throw new UserError(`--resume: ${out} holds no training run to resume (expected ${STATE_FILE} and ${CHECKPOINT_FILE})`);
    previous = readState(statePath);
    if (JSON.stringify(previous.config.policy) !== JSON.stringify(config.policy)) {
      throw new UserError(`--resume: the policy config differs from the one ${statePath} was trained with; resume with the same policy settings (steps, lr and logging may change)`);
    }
  } else if (existsSync(statePath)) {
    throw new UserError(`${out} already holds a training run (${STATE_FILE}); pass --resume to continue it, or choose another --out`);
  }

  const seed = options.initFrom ? readBundleWeights(options.initFrom) : undefined;
  if (!options.quiet) log(`[train] reading ${options.dataDir}`);
  const data = await TrainingData.load(options.dataDir, config.policy, {
    valFraction: config.valFraction,
    seed: config.seed,
    ...(seed ? { normalization: bundleNormalization(seed.manifest) } : {}),
  });
  if (seed && JSON.stringify(seed.manifest.tokenizer.vocab) !== JSON.stringify(data.vocab)) {
    const known = new Set(seed.manifest.tokenizer.vocab);
    const extra = data.vocab.filter((w) => !known.has(w));
    throw new UserError(
      `--init-from ${options.initFrom}: ${options.dataDir} gives a different vocabulary than the bundle's tokenizer` +
        (extra.length ? ` (new words: ${extra.slice(0, 10).join(', ')})` : ' (fewer words)') +
        '; fine-tune on data with the same instruction vocabulary',
    );
  }
  if (data.trainFrames.length === 0) throw new UserError(`${options.dataDir}: no training frames left after the validation split`);
  if (previous && JSON.stringify(previous.data.vocab) !== JSON.stringify(data.vocab)) {
    throw new UserError(`--resume: ${options.dataDir} gives a different vocabulary than the run in ${out} was trained on (a different dataset?)`);
  }
  const dims = data.dims;
  const model = flowPolicyModel(config.policy, dims);
  const B = config.batchSize;
  const trainer = await Trainer.create(model, {
    trainStep: policyTrainStep(config, dims.actionDim),
    params: initialParams(model, config, seed, options, log),
    lrSchedule: (step) => learningRate(config, step),
    executionProvider: options.device ?? 'cpu',
    intraOpNumThreads: config.threads,
    useWorker: options.useWorker ?? true,
    log,
  });
  try {
    if (previous) await trainer.loadCheckpoint(ckptPath);
    const startStep = trainer.stepCount;
    const history: HistoryPoint[] = (previous?.history ?? []).filter((h) => h.step <= startStep);
    const valHistory: ValPoint[] = (previous?.val ?? []).filter((v) => v.step <= startStep);
    const elapsedBefore = previous && startStep > 0 ? (history.at(-1)?.elapsed_s ?? previous.elapsed_s) : 0;
    if (!options.quiet) {
      log(
        `[train] ${data.numEpisodes} episodes (${data.trainFrames.length} train / ${data.valFrames.length} val frames, val episodes ${data.valEpisodes.length}), ` +
          `cameras ${dims.cameras.map((c) => `${c.name} ${c.width}x${c.height}`).join(', ')}, vocab ${data.vocab.length}, ${model.paramCount} parameters, ` +
          `batch ${B}, provider ${trainer.provider}${startStep ? `, resuming at step ${startStep}` : ''}`,
      );
    }

    const emaPath = join(out, EMA_FILE);
    const sizes = new Map(model.paramSpecs.map((s) => [s.name, s.shape.reduce((a, b) => a * b, 1)]));
    const shapes = new Map(model.paramSpecs.map((s) => [s.name, s.shape]));
    const ema = config.emaDecay > 0 ? new WeightEma(await trainer.getParams(), config.emaDecay, config.emaEvery) : undefined;
    if (ema && previous && existsSync(emaPath)) ema.params = loadParamFile(emaPath, sizes);
    /** The weights validation and the bundle use: the EMA when enabled. */
    const evalParams = async (): Promise<ParamSet> => ema?.params ?? (await trainer.getParams());
    const validator = data.valFrames.length > 0 ? await Validator.create(model, config, dims, data, trainer.provider) : undefined;
    const summary = (step: number, elapsed: number, finished: boolean): TrainState => ({
      format: 'flowsteer.train_state',
      version: 1,
      step,
      config,
      data: {
        dir: resolve(options.dataDir),
        frames: data.numFrames,
        episodes: data.numEpisodes,
        train_frames: data.trainFrames.length,
        val_episodes: [...data.valEpisodes],
        vocab: [...data.vocab],
        task: data.taskName,
      },
      params: model.paramCount,
      elapsed_s: elapsed,
      history,
      val: valHistory,
      finished,
    });
    const save = async (step: number, elapsed: number, finished: boolean): Promise<TrainState> => {
      await trainer.saveCheckpoint(ckptPath);
      if (ema) saveParamFile(emaPath, ema.params, shapes, { step: String(step), decay: String(ema.decay) });
      const s = summary(step, elapsed, finished);
      writeJsonAtomic(statePath, s);
      writeLossPlot(join(out, LOSS_PLOT_FILE), history, valHistory);
      return s;
    };

    const early = data.trainFramesBefore(config.earlyFrames.frames);
    const nEarly = early.length > 0 ? Math.round(config.earlyFrames.fraction * B) : 0;
    const makeBatch = (step: number): FlowBatch => {
      const rng = stepRng(config.seed, step);
      const frames = new Int32Array(B);
      for (let i = 0; i < B; i++) frames[i] = i < nEarly ? (early[rng.int(early.length)] as number) : (data.trainFrames[rng.int(data.trainFrames.length)] as number);
      return data.batch(frames, rng, { shift: config.randomShift, stateDropout: config.stateDropout });
    };

    const t0 = performance.now();
    const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
    const progress = new Progress({ label: 'train', total: config.steps - startStep, unit: 'step', silent: options.quiet ?? false });
    let lossSum = 0;
    let lossCount = 0;
    let step = startStep;
    let ranHere = 0;
    let next = step < config.steps ? makeBatch(step + 1) : undefined;
    let lastVal = valHistory.at(-1);
    while (next && step < config.steps) {
      const lr = trainer.nextLearningRate;
      const pending = trainer.step(next.data);
      // Build the following batch while the worker computes this step.
      next = step + 1 < config.steps ? makeBatch(step + 2) : undefined;
      const loss = await pending;
      if (!Number.isFinite(loss)) throw new Error(`train: loss is ${loss} at step ${step + 1}; lower lr or check the dataset`);
      step += 1;
      ranHere += 1;
      lossSum += loss;
      lossCount += 1;
      if (ema?.shouldUpdate(step)) ema.update(await trainer.getParams(), step);
      if (step % config.logEvery === 0 || step === config.steps) {
        history.push({ step, loss: lossSum / lossCount, lr, grad_norm: trainer.lastGradNorm, elapsed_s: elapsed() });
        lossSum = 0;
        lossCount = 0;
      }
      if (validator && (step % config.valEvery === 0 || step === config.steps)) {
        lastVal = await validator.run(step, await evalParams());
        valHistory.push(lastVal);
      }
      const last = history.at(-1);
      progress.tick(1, `step ${step}/${config.steps}  loss ${(last?.loss ?? loss).toFixed(4)}${lastVal ? `  val ${lastVal.loss.toFixed(4)}  val action mse ${lastVal.action_mse.toFixed(4)}` : ''}  lr ${lr.toExponential(2)}`);
      if (step % config.checkpointEvery === 0 && step < config.steps) await save(step, elapsed(), false);
      if (options.stopAfterSteps !== undefined && ranHere >= options.stopAfterSteps && step < config.steps) {
        // A simulated kill: nothing is saved, the directory holds the last periodic checkpoint.
        validator?.dispose();
        return { state: summary(step, elapsed(), false), finished: false, stepsPerSecond: ranHere / ((performance.now() - t0) / 1000) };
      }
    }
    progress.finish();
    const seconds = (performance.now() - t0) / 1000;
    const state = await save(step, elapsed(), true);
    const params = await evalParams();
    const manifest = writePolicyBundle(out, config.policy, dims, params, {
      name: options.name ?? basename(resolve(out)),
      ...(data.taskName ? { task: data.taskName } : {}),
      fps: data.fps,
      stateNames: data.stateNames,
      actionNames: data.actionNames,
      normalization: data.normalization,
      vocab: data.vocab,
      description: `flow-matching policy trained by flowsteer train on ${basename(resolve(options.dataDir))} (${data.numEpisodes} episodes, ${step} steps of batch ${B})`,
      ...(config.execution ? { execution: manifestExecution(config.execution) } : {}),
    });
    if (!options.quiet) log(`[train] wrote ${out}/policy.json (${manifest.graphs.sample.file}, ${manifest.graphs.features.file}), ${LOSS_PLOT_FILE}, ${STATE_FILE}`);
    validator?.dispose();
    return { state, finished: true, stepsPerSecond: ranHere / Math.max(seconds, 1e-9) };
  } finally {
    await trainer.dispose();
  }
}

/**
 * Validation on fixed samples (frames, noise and times drawn once from the seed, no
 * augmentation): the flow loss through the velocity graph, and the MSE of fully sampled chunks
 * through the K-step sampling graph. Both graphs take the weights as inputs.
 */
class Validator {
  readonly #velocity: ort.InferenceSession;
  readonly #sampler: ort.InferenceSession;
  readonly #batches: FlowBatch[];
  readonly #noise: Float32Array[];
  readonly #specs: readonly { name: string; shape: readonly number[] }[];
  readonly #dims: PolicyDims;

  private constructor(velocity: ort.InferenceSession, sampler: ort.InferenceSession, batches: FlowBatch[], noise: Float32Array[], specs: readonly { name: string; shape: readonly number[] }[], dims: PolicyDims) {
    this.#velocity = velocity;
    this.#sampler = sampler;
    this.#batches = batches;
    this.#noise = noise;
    this.#specs = specs;
    this.#dims = dims;
  }

  static async create(model: FlowPolicyModel, config: TrainConfig, dims: PolicyDims, data: TrainingData, provider: ExecutionProviderName): Promise<Validator> {
    const session = { executionProvider: provider, intraOpNumThreads: config.threads };
    const velocity = (await createSession(model.buildInference(), session)).session;
    const sampler = (await createSession(buildSampleGraph(config.policy, dims), session)).session;
    const rng = new Rng(config.seed ^ 0x7a11d);
    const batches: FlowBatch[] = [];
    const noise: Float32Array[] = [];
    const B = config.batchSize;
    const n = config.policy.chunkSize * dims.actionDim;
    for (let k = 0; k < config.valBatches; k++) {
      const frames = Int32Array.from({ length: B }, () => data.valFrames[rng.int(data.valFrames.length)] as number);
      batches.push(data.batch(frames, rng, { shift: 0 }));
      noise.push(Float32Array.from({ length: B * n }, () => rng.normal()));
    }
    return new Validator(velocity, sampler, batches, noise, model.paramSpecs, dims);
  }

  async run(step: number, params: ParamSet): Promise<ValPoint> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const s of this.#specs) feeds[trainStepIO.param(s.name)] = new ort.Tensor('float32', params.get(s.name) as Float32Array, [...s.shape]);
    let lossSum = 0;
    let mseSum = 0;
    for (const [k, b] of this.#batches.entries()) {
      const batchFeeds = { ...feeds };
      for (const name of this.#velocity.inputNames) {
        if (name in feeds) continue;
        batchFeeds[name] = tensorOf(b.data[name]!, name, b, this.#dims);
      }
      const v = (await this.#velocity.run(batchFeeds)).v!.data as Float32Array;
      lossSum += meanSquaredDiff(v, b.data.target as Float32Array);
      const sampleFeeds = { ...feeds };
      for (const name of this.#sampler.inputNames) {
        if (name in feeds) continue;
        sampleFeeds[name] = name === POLICY_INPUTS.noise ? tensorLike(this.#noise[k]!, b.actions, b, this.#dims) : tensorOf(b.data[name]!, name, b, this.#dims);
      }
      const action = (await this.#sampler.run(sampleFeeds)).action!.data as Float32Array;
      mseSum += meanSquaredDiff(action, b.actions);
    }
    return { step, loss: lossSum / this.#batches.length, action_mse: mseSum / this.#batches.length };
  }

  dispose(): void {
    void this.#velocity.release();
    void this.#sampler.release();
  }
}

/** An ORT tensor for batch input `name` (shape from the batch size and the data length). */
function tensorOf(data: Float32Array | BigInt64Array, name: string, b: FlowBatch, dims: PolicyDims): ort.Tensor {
  const B = (b.data[POLICY_INPUTS.state] as Float32Array).length / dims.stateDim;
  const cam = dims.cameras.find((c) => POLICY_INPUTS.image(c.name) === name);
  const per = data.length / B;
  const shape = cam ? [B, 3, cam.height, cam.width] : name === POLICY_INPUTS.xT ? [B, per / dims.actionDim, dims.actionDim] : name === POLICY_INPUTS.time ? [B] : [B, per];
  return data instanceof BigInt64Array ? new ort.Tensor('int64', data, shape) : new ort.Tensor('float32', data, shape);
}

function tensorLike(data: Float32Array, like: Float32Array, b: FlowBatch, dims: PolicyDims): ort.Tensor {
  const B = (b.data[POLICY_INPUTS.state] as Float32Array).length / dims.stateDim;
  return new ort.Tensor('float32', data, [B, like.length / B / dims.actionDim, dims.actionDim]);
}

function meanSquaredDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return s / a.length;
}

/** Training loss (per logged interval) and validation curves, log y. */
export function writeLossPlot(path: string, history: readonly HistoryPoint[], val: readonly ValPoint[]): void {
  if (history.length < 2) return;
  const chart = renderLineChart({
    title: 'flow-matching loss',
    xLabel: 'step',
    yLabel: 'loss (normalised units)',
    logY: true,
    series: [
      { name: 'train loss (flow + subgoal)', x: history.map((h) => h.step), y: history.map((h) => h.loss) },
      ...(val.length ? [{ name: 'val loss', x: val.map((v) => v.step), y: val.map((v) => v.loss) }, { name: 'val sampled-action mse', x: val.map((v) => v.step), y: val.map((v) => v.action_mse) }] : []),
    ],
  });
  writeRgbPng(path, chart);
}
