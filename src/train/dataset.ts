import { KEYS } from '../core/keys.ts';
import { UserError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { readLeRobotDataset, type DatasetStats, type LeRobotDataset } from '../data/index.ts';
import type { BatchData } from '../nn/index.ts';
import { PAD_ID, UNK_ID, type NormalizationSpec } from '../policy/manifest.ts';
import { Normalizer } from '../policy/normalize.ts';
import { WordTokenizer } from '../policy/tokenizer.ts';
import type { PolicyConfig } from './config.ts';
import { interpolate, sampleFlowTime } from './flow_matching.ts';
import { POLICY_INPUTS, type PolicyDims } from './model.ts';

/**
 * Training samples from a LeRobot v3 dataset:
 *
 *   observation at frame t (state, every camera, instruction)  ->  action chunk a[t .. t+H-1]
 *
 * Past the episode's end the chunk repeats the last action (the robot holds still), as
 * LeRobot's `delta_timestamps` padding does; those steps stay in the loss (LeRobot's diffusion
 * policy default, `do_mask_loss_for_padding = false`), which teaches the policy to stop.
 * Normalisation statistics come from `meta/stats.json` (LeRobot modes), the vocabulary from the
 * dataset's task strings, the validation split is by episode. Images are stored as uint8 HWC and
 * converted to float32 NCHW in [0, 1] per batch, with DrQ's random shift (pad by edge
 * replication, crop back at a random offset) when augmenting.
 */

/** Batch key of the subgoal head's target: the normalised action at the frame's next key frame, (B, A). */
export const SUBGOAL_TARGET = 'subgoal_target';

/** A std or range below this is treated as this (a joint that never moved must not blow up noise). */
export const MIN_SCALE = 1e-3;

/** The manifest normalisation entry for one feature, from the dataset's statistics. */
export function normalizationFromStats(stats: DatasetStats, key: string, mode: NormalizationSpec['mode'], dim: number, where: string): NormalizationSpec {
  if (mode === 'identity') return { mode };
  const s = stats[key];
  if (!s) throw new UserError(`${where}: meta/stats.json has no entry for '${key}' (needed for '${mode}' normalisation)`);
  const vec = (field: 'mean' | 'std' | 'min' | 'max'): number[] => {
    const v = s[field];
    if (!Array.isArray(v) || v.length !== dim || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new UserError(`${where}: meta/stats.json '${key}.${field}' must be ${dim} finite numbers`);
    }
    return v as number[];
  };
  if (mode === 'mean_std') return { mode, mean: vec('mean'), std: vec('std').map((x) => Math.max(x, MIN_SCALE)) };
  const min = vec('min');
  const max = vec('max').map((x, i) => Math.max(x, (min[i] as number) + MIN_SCALE));
  return { mode, min, max };
}

/** `['<pad>', '<unk>', ...sorted words of the task strings]` (lowercased, split as the runtime tokenizer does). */
export function buildVocab(tasks: readonly string[]): string[] {
  const splitter = new WordTokenizer({ type: 'word', lowercase: true, vocab: ['<pad>', '<unk>'], max_length: 1 });
  const words = new Set<string>();
  for (const task of tasks) for (const w of splitter.words(task)) words.add(w);
  words.delete('<pad>');
  words.delete('<unk>');
  const vocab = ['<pad>', '<unk>', ...[...words].sort()];
  if (vocab[PAD_ID] !== '<pad>' || vocab[UNK_ID] !== '<unk>') throw new Error('buildVocab: reserved ids moved');
  return vocab;
}

export interface TrainingDataOptions {
  /** Fraction of episodes held out (at least one when > 0 and there are >= 2 episodes). */
  readonly valFraction: number;
  /** Seeds the split. */
  readonly seed: number;
  /** Use these statistics instead of the dataset's (fine-tuning keeps the seeding bundle's). */
  readonly normalization?: { readonly state: NormalizationSpec; readonly action: NormalizationSpec };
}

/** Per-batch options of `TrainingData.batch`. */
export interface BatchOptions {
  /** Random-shift padding in pixels (0 = none). */
  readonly shift: number;
  /** Probability of zeroing a sample's normalised state (= the dataset mean). @default 0 */
  readonly stateDropout?: number;
}

/** One flow-matching batch: the model inputs, the loss targets, and the clean normalised chunk. */
export interface FlowBatch {
  readonly data: BatchData;
  /** (B, H, A) normalised ground-truth chunks (validation compares sampled chunks to these). */
  readonly actions: Float32Array;
}

/**
 * A dataset held in memory as flat arrays: normalised states and actions, uint8 images per
 * camera, per-frame episode bounds and instruction ids.
 */
export class TrainingData {
  readonly dir: string;
  readonly dims: PolicyDims;
  readonly chunkSize: number;
  readonly fps: number;
  readonly taskName: string | undefined;
  readonly stateNames: readonly string[];
  readonly actionNames: readonly string[];
  readonly normalization: { readonly state: NormalizationSpec; readonly action: NormalizationSpec };
  readonly vocab: readonly string[];
  readonly tokenizer: WordTokenizer;
  readonly numFrames: number;
  readonly numEpisodes: number;
  /** Frame indices of the training and validation episodes. */
  readonly trainFrames: Int32Array;
  readonly valFrames: Int32Array;
  readonly valEpisodes: readonly number[];
  readonly #cfg: PolicyConfig;
  readonly #state: Float32Array; // (N, S) normalised
  readonly #action: Float32Array; // (N, A) normalised
  readonly #images: Uint8Array[]; // per camera (N, h, w, 3)
  readonly #episodeEnd: Int32Array; // (N) one past the last frame of the frame's episode
  readonly #episodeStart: Int32Array; // (N) first frame of the frame's episode
  readonly #keyFrame: Int32Array; // (N) the frame whose action is the frame's subgoal (next gripper toggle, else the last)
  readonly #instruction: Int32Array; // (N) index into #tokens
  readonly #tokens: BigInt64Array; // (I, L)
  readonly #mask: Float32Array; // (I, L)

  private constructor(ds: LeRobotDataset, cfg: PolicyConfig, options: TrainingDataOptions) {
    const where = ds.dir;
    const spec = ds.spec;
    this.dir = ds.dir;
    this.#cfg = cfg;
    this.chunkSize = cfg.chunkSize;
    this.fps = spec.fps;
    const S = spec.stateNames.length;
    const A = spec.actionNames.length;
    const wanted = cfg.cameras ?? spec.cameras.map((c) => c.name);
    const cameras = wanted.map((name) => {
      const c = spec.cameras.find((x) => x.name === name);
      if (!c) throw new UserError(`${where}: config policy.cameras asks for camera '${name}', the dataset has ${spec.cameras.map((x) => `'${x.name}'`).join(', ') || 'none'}`);
      return { name: c.name, height: c.height, width: c.width };
    });
    if (cameras.length === 0) throw new UserError(`${where}: the dataset has no camera; the policy needs at least one image input`);
    const episodes = ds.episodes;
    if (episodes.length === 0) throw new UserError(`${where}: the dataset has no episodes`);
    const names = new Set(episodes.map((e) => e.taskName).filter((n) => n !== 'unknown'));
    this.taskName = names.size === 1 ? [...names][0] : undefined;
    this.stateNames = spec.stateNames;
    this.actionNames = spec.actionNames;
    this.normalization = options.normalization ?? {
      state: normalizationFromStats(ds.stats, KEYS.state, cfg.normalization.state, S, where),
      action: normalizationFromStats(ds.stats, KEYS.action, cfg.normalization.action, A, where),
    };
    const instructions = [...new Set(episodes.map((e) => e.instruction))];
    this.vocab = buildVocab([...ds.tasks, ...instructions]);
    this.tokenizer = new WordTokenizer({ type: 'word', lowercase: true, vocab: [...this.vocab], max_length: cfg.language.maxLength });
    const encoded = this.tokenizer.encode(instructions);
    this.#tokens = encoded.tokens;
    this.#mask = encoded.mask;
    this.dims = { stateDim: S, actionDim: A, cameras, vocabSize: this.vocab.length };

    const N = episodes.reduce((n, e) => n + e.frames.length, 0);
    this.numFrames = N;
    this.numEpisodes = episodes.length;
    this.#state = new Float32Array(N * S);
    this.#action = new Float32Array(N * A);
    this.#images = cameras.map((c) => new Uint8Array(N * c.height * c.width * 3));
    this.#episodeEnd = new Int32Array(N);
    this.#episodeStart = new Int32Array(N);
    this.#keyFrame = new Int32Array(N);
    this.#instruction = new Int32Array(N);
    const episodeStart: number[] = [];
    let f = 0;
    for (const e of episodes) {
      episodeStart.push(f);
      const end = f + e.frames.length;
      const instr = instructions.indexOf(e.instruction);
      for (const fr of e.frames) {
        this.#state.set(fr.state, f * S);
        this.#action.set(fr.action, f * A);
        cameras.forEach((c, k) => {
          const img = fr.images[c.name];
          if (!img) throw new UserError(`${where}: episode ${e.meta.episode_index} has a frame without camera '${c.name}'`);
          (this.#images[k] as Uint8Array).set(img, f * c.height * c.width * 3);
        });
        this.#episodeEnd[f] = end;
        this.#episodeStart[f] = end - e.frames.length;
        this.#instruction[f] = instr;
        f++;
      }
    }
    // Subgoals: the next frame (after f) where the gripper command crosses 0.5, else the episode's last frame.
    for (let k = 0; k < N; k++) {
      const end = this.#episodeEnd[k] as number;
      const closed = (g: number) => (this.#action[g * A + A - 1] as number) > 0.5;
      let g = k + 1;
      while (g < end && closed(g) === closed(k)) g++;
      this.#keyFrame[k] = Math.min(g, end - 1);
    }
    new Normalizer(this.normalization.state, S, KEYS.state).normalize(this.#state, this.#state);
    new Normalizer(this.normalization.action, A, KEYS.action).normalize(this.#action, this.#action);

    // Validation split by episode.
    const order = new Rng(options.seed ^ 0x5eed).shuffle(episodes.map((_, i) => i));
    const nVal = options.valFraction > 0 && episodes.length >= 2 ? Math.max(1, Math.round(options.valFraction * episodes.length)) : 0;
    const val = new Set(order.slice(0, nVal));
    this.valEpisodes = [...val].sort((a, b) => a - b);
    const framesOf = (pick: (i: number) => boolean): Int32Array => {
      const out: number[] = [];
      episodes.forEach((e, i) => {
        if (!pick(i)) return;
        for (let k = 0; k < e.frames.length; k++) out.push((episodeStart[i] as number) + k);
      });
      return Int32Array.from(out);
    };
    this.trainFrames = framesOf((i) => !val.has(i));
    this.valFrames = framesOf((i) => val.has(i));
  }

  /** Training frames that are among the first `n` of their episode. */
  trainFramesBefore(n: number): Int32Array {
    return this.trainFrames.filter((f) => f - (this.#episodeStart[f] as number) < n);
  }

  /** Reads and indexes a dataset directory. */
  static async load(dir: string, cfg: PolicyConfig, options: TrainingDataOptions): Promise<TrainingData> {
    return new TrainingData(await readLeRobotDataset(dir), cfg, options);
  }

  /** Builds from an already read dataset (tests). */
  static fromDataset(ds: LeRobotDataset, cfg: PolicyConfig, options: TrainingDataOptions): TrainingData {
    return new TrainingData(ds, cfg, options);
  }

  /**
   * A flow-matching batch on the given frames: observation inputs, x_t, t, target u_t = noise -
   * action and unit weights. `rng` draws everything (augmentation offsets, noise, times).
   */
  batch(frames: ArrayLike<number>, rng: Rng, options: BatchOptions): FlowBatch {
    const B = frames.length;
    const { stateDim: S, actionDim: A, cameras } = this.dims;
    const H = this.chunkSize;
    const L = this.#cfg.language.maxLength;
    const state = new Float32Array(B * S);
    const images = cameras.map((c) => new Float32Array(B * 3 * c.height * c.width));
    const tokens = new BigInt64Array(B * L);
    const mask = new Float32Array(B * L);
    const actions = new Float32Array(B * H * A);
    const noise = new Float32Array(H * A);
    const xT = new Float32Array(B * H * A);
    const time = new Float32Array(B);
    const target = new Float32Array(B * H * A);
    const weight = new Float32Array(B).fill(1);
    const subgoal = new Float32Array(B * A);
    for (let b = 0; b < B; b++) {
      const f = frames[b] as number;
      if (!(options.stateDropout && rng.uniform() < options.stateDropout)) state.set(this.#state.subarray(f * S, (f + 1) * S), b * S);
      cameras.forEach((c, k) => this.#writeImage(k, f, images[k] as Float32Array, b, options.shift > 0 ? rng : undefined, options.shift));
      const instr = this.#instruction[f] as number;
      tokens.set(this.#tokens.subarray(instr * L, (instr + 1) * L), b * L);
      mask.set(this.#mask.subarray(instr * L, (instr + 1) * L), b * L);
      const key = this.#keyFrame[f] as number;
      subgoal.set(this.#action.subarray(key * A, (key + 1) * A), b * A);
      const last = (this.#episodeEnd[f] as number) - 1;
      for (let j = 0; j < H; j++) {
        const g = Math.min(f + j, last);
        actions.set(this.#action.subarray(g * A, (g + 1) * A), (b * H + j) * A);
      }
      for (let i = 0; i < H * A; i++) noise[i] = rng.normal();
      const t = sampleFlowTime(rng, this.#cfg.timeBeta.alpha, this.#cfg.timeBeta.beta);
      time[b] = t;
      interpolate(actions.subarray(b * H * A, (b + 1) * H * A), noise, Math.fround(t), xT, target, b * H * A);
    }
    const data: Record<string, Float32Array | BigInt64Array> = {
      [POLICY_INPUTS.state]: state,
      [POLICY_INPUTS.tokens]: tokens,
      [POLICY_INPUTS.mask]: mask,
      [POLICY_INPUTS.xT]: xT,
      [POLICY_INPUTS.time]: time,
      target,
      weight,
      [SUBGOAL_TARGET]: subgoal,
    };
    cameras.forEach((c, k) => (data[POLICY_INPUTS.image(c.name)] = images[k] as Float32Array));
    return { data, actions };
  }

  /** Image of camera k at frame f -> out[b] as (3, h, w) floats in [0, 1], randomly shifted when `rng` is given. */
  #writeImage(k: number, f: number, out: Float32Array, b: number, rng: Rng | undefined, pad: number): void {
    const { height: h, width: w } = this.dims.cameras[k] as { height: number; width: number };
    const src = this.#images[k] as Uint8Array;
    const base = f * h * w * 3;
    const plane = h * w;
    const o = b * 3 * plane;
    // Offsets in [-pad, pad]: crop of the edge-padded image at (pad + dy, pad + dx).
    const dy = rng ? rng.int(2 * pad + 1) - pad : 0;
    const dx = rng ? rng.int(2 * pad + 1) - pad : 0;
    for (let y = 0; y < h; y++) {
      const sy = Math.min(h - 1, Math.max(0, y + dy));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(w - 1, Math.max(0, x + dx));
        const s = base + (sy * w + sx) * 3;
        const p = y * w + x;
        out[o + p] = (src[s] as number) / 255;
        out[o + plane + p] = (src[s + 1] as number) / 255;
        out[o + 2 * plane + p] = (src[s + 2] as number) / 255;
      }
    }
  }
}
