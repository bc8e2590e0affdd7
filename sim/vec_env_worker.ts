/**
 * One slice of a VecEnv: the SimEnvs with global indices [first, first + count), stepped
 * together with auto-reset. Used in-process (numWorkers = 0) and as the body of a
 * `worker_threads` worker, which is what this file runs as when started by VecEnv.
 *
 * Seeding (identical whatever the number of workers): env i's first episode uses `seed + i`
 * (or the seed passed to reset); every later episode of env i uses its previous seed + numEnvs,
 * so the N envs walk disjoint, interleaved seed streams (i, i + N, i + 2N, ...).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Observation } from '../src/core/observation.ts';
import type { TaskConfig } from './task.ts';
import { SimEnv, type ActionSpace } from './env.ts';

/** What every env of a VecEnv is built from (plain data: it crosses the thread boundary). */
export interface EnvSpec {
  task: string;
  config?: Partial<TaskConfig>;
  actionSpace?: ActionSpace;
  render?: boolean;
  depth?: boolean;
  homeNoise?: number;
}

/** What the caller learns about the envs once they exist. */
export interface EnvMetadata {
  taskName: string;
  fps: number;
  maxSteps: number;
  stateNames: string[];
  actionNames: string[];
  cameras: string[];
}

/** The last step of a finished episode, returned in `infos[i].final` (the env is already reset). */
export interface FinalStep {
  observation: Observation;
  reward: number;
  rewardTerms: Record<string, number>;
  success: boolean;
  truncated: boolean;
  progress: number;
  unstable: boolean;
  /** Steps the finished episode lasted. */
  step: number;
  /** Seed the finished episode was reset with. */
  seed: number;
}

/** Per-env info of one VecEnv step. */
export interface VecStepInfo {
  rewardTerms: Record<string, number>;
  truncated: boolean;
  progress: number;
  unstable: boolean;
  /** Step index inside the current episode (0 right after an auto-reset). */
  step: number;
  /** Seed of the episode the returned observation belongs to. */
  seed: number;
  /** Present when the episode ended on this step: its last observation and outcome. */
  final?: FinalStep;
}

/** Results of one slice for one step; arrays are indexed by position in the slice. */
export interface SliceStepResult {
  observations: Observation[];
  rewards: Float64Array;
  dones: Uint8Array;
  successes: Uint8Array;
  truncateds: Uint8Array;
  infos: VecStepInfo[];
}

/** A contiguous block of envs, stepped in order. */
export class EnvSlice {
  readonly first: number;
  readonly envs: SimEnv[];
  readonly #numEnvs: number;
  readonly #actionDim: number;
  readonly #seeds: number[];
  #resetDone = false;

  private constructor(envs: SimEnv[], first: number, numEnvs: number, baseSeed: number) {
    this.envs = envs;
    this.first = first;
    this.#numEnvs = numEnvs;
    this.#actionDim = envs[0]!.actionNames.length;
    // The "previous" seed of env i, so that the first argument-less reset uses baseSeed + i.
    this.#seeds = envs.map((_, k) => baseSeed + first + k - numEnvs);
  }

  static async create(spec: EnvSpec, first: number, count: number, numEnvs: number, baseSeed: number): Promise<EnvSlice> {
    const envs: SimEnv[] = [];
    try {
      for (let k = 0; k < count; k++) envs.push(await SimEnv.create(spec));
    } catch (err) {
      for (const env of envs) env.dispose();
      throw err;
    }
    return new EnvSlice(envs, first, numEnvs, baseSeed);
  }

  metadata(): EnvMetadata {
    const env = this.envs[0]!;
    return { taskName: env.taskName, fps: env.fps, maxSteps: env.maxSteps, stateNames: [...env.stateNames], actionNames: [...env.actionNames], cameras: [...env.cameras] };
  }

  /** Resets every env: with `seeds` (one per env of the slice) or each env's next seed. */
  reset(seeds?: ArrayLike<number>): Observation[] {
    this.#resetDone = true;
    return this.envs.map((env, k) => {
      this.#seeds[k] = seeds ? seeds[k]! : this.#seeds[k]! + this.#numEnvs;
      return env.reset(this.#seeds[k]!);
    });
  }

  /** Steps every env with its row of `actions` (slice-local, count x actionDim); finished envs are reset. */
  step(actions: Float32Array): SliceStepResult {
    if (!this.#resetDone) throw new Error('VecEnv: call reset() before step()');
    const n = this.envs.length;
    const out: SliceStepResult = {
      observations: new Array(n),
      rewards: new Float64Array(n),
      dones: new Uint8Array(n),
      successes: new Uint8Array(n),
      truncateds: new Uint8Array(n),
      infos: new Array(n),
    };
    const dim = this.#actionDim;
    for (let k = 0; k < n; k++) {
      const env = this.envs[k]!;
      const r = env.step(actions.subarray(k * dim, (k + 1) * dim));
      out.rewards[k] = r.reward;
      out.dones[k] = r.done ? 1 : 0;
      out.successes[k] = r.success ? 1 : 0;
      out.truncateds[k] = r.truncated ? 1 : 0;
      const info: VecStepInfo = { rewardTerms: r.rewardTerms, truncated: r.truncated, progress: r.info.progress, unstable: r.info.unstable, step: r.info.step, seed: this.#seeds[k]! };
      if (r.done) {
        info.final = {
          observation: r.observation,
          reward: r.reward,
          rewardTerms: r.rewardTerms,
          success: r.success,
          truncated: r.truncated,
          progress: r.info.progress,
          unstable: r.info.unstable,
          step: r.info.step,
          seed: this.#seeds[k]!,
        };
        this.#seeds[k] = this.#seeds[k]! + this.#numEnvs;
        out.observations[k] = env.reset(this.#seeds[k]!);
        info.step = 0;
        info.seed = this.#seeds[k]!;
      } else {
        out.observations[k] = r.observation;
      }
      out.infos[k] = info;
    }
    return out;
  }

  dispose(): void {
    for (const env of this.envs) env.dispose();
  }
}

// ---- worker protocol -------------------------------------------------------------------------

/** `workerData` of a VecEnv worker. */
export interface WorkerInit {
  kind: 'flowsteer-vec-env';
  spec: EnvSpec;
  first: number;
  count: number;
  numEnvs: number;
  seed: number;
  /** numEnvs x actionDim float32, written by the caller before each `step` message. */
  actions: SharedArrayBuffer;
}

export type WorkerRequest = { id: number; type: 'reset'; seeds?: number[] } | { id: number; type: 'step' };

export type WorkerReply =
  | { id: number; type: 'ready'; metadata: EnvMetadata }
  | { id: number; type: 'reset'; observations: Observation[] }
  | { id: number; type: 'step'; result: SliceStepResult }
  | { id: number; type: 'error'; error: { name: string; message: string; stack?: string } };

/** Below this size copying a buffer is cheaper than moving it (measured: ~10 us per step for 4 states). */
const MIN_TRANSFER_BYTES = 1024;

/**
 * The ArrayBuffers under `value` (observations, result arrays) worth moving instead of copying:
 * each once, at least MIN_TRANSFER_BYTES, and only those a view covers entirely, so a view into a
 * larger buffer (e.g. wasm memory, which must never be detached) is copied by postMessage instead.
 */
export function transferables(value: unknown, out = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const buf = value.buffer;
    if (buf instanceof ArrayBuffer && buf.byteLength >= MIN_TRANSFER_BYTES && value.byteOffset === 0 && value.byteLength === buf.byteLength) out.add(buf);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return [...out];
}

function serialiseError(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

async function runWorker(init: WorkerInit): Promise<void> {
  const port = parentPort!;
  let slice: EnvSlice;
  try {
    slice = await EnvSlice.create(init.spec, init.first, init.count, init.numEnvs, init.seed);
  } catch (err) {
    port.postMessage({ id: 0, type: 'error', error: serialiseError(err) } satisfies WorkerReply);
    return;
  }
  const dim = slice.metadata().actionNames.length;
  const actions = new Float32Array(init.actions, init.first * dim * 4, init.count * dim);
  port.postMessage({ id: 0, type: 'ready', metadata: slice.metadata() } satisfies WorkerReply);
  port.on('message', (req: WorkerRequest) => {
    try {
      if (req.type === 'reset') {
        const observations = slice.reset(req.seeds);
        port.postMessage({ id: req.id, type: 'reset', observations } satisfies WorkerReply, transferables(observations));
      } else {
        // A private copy, so nothing downstream keeps a view into the shared buffer.
        const result = slice.step(Float32Array.from(actions));
        port.postMessage({ id: req.id, type: 'step', result } satisfies WorkerReply, transferables(result));
      }
    } catch (err) {
      port.postMessage({ id: req.id, type: 'error', error: serialiseError(err) } satisfies WorkerReply);
    }
  });
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.kind === 'flowsteer-vec-env') {
  void runWorker(workerData as WorkerInit);
}
