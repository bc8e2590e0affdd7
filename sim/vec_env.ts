/**
 * N environments of one task behind one batched API, spread over W `worker_threads` (each
 * worker owns a contiguous block of about N/W SimEnvs and its own MuJoCo wasm instance), or
 * run in-process with `numWorkers: 0`.
 *
 * - Results never depend on W: env i is seeded `seed + i` on the first reset and
 *   `previous seed + numEnvs` on every later one (see vec_env_worker.ts), and each env steps
 *   alone, so 2 workers x 2 envs give exactly the trajectories of 4 in-process SimEnvs.
 * - Finished envs are reset inside `step` (auto-reset, like gymnasium's vector envs): the
 *   returned observation is the new episode's first one and the finished episode's last
 *   observation and outcome are in `infos[i].final`.
 * - Actions travel through one SharedArrayBuffer (numEnvs x actionDim float32); observations
 *   come back in transferred (moved, not copied) typed arrays.
 *
 *   const vec = await VecEnv.create({ task: 'reach', numEnvs: 8, numWorkers: 2, render: false });
 *   let obs = await vec.reset();
 *   const { observations, rewards, dones, infos } = await vec.step(actions); // actions: (8 x 7)
 *   await vec.close();
 */
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../src/core/ts_worker.ts';
import { availableParallelism } from 'node:os';
import type { Observation } from '../src/core/observation.ts';
import { UserError } from '../src/core/errors.ts';
import { getTask } from './tasks/index.ts';
import { ARM_DIM } from './arm.ts';
import { EnvSlice, type EnvMetadata, type EnvSpec, type SliceStepResult, type VecStepInfo, type WorkerInit, type WorkerReply, type WorkerRequest } from './vec_env_worker.ts';

export type { VecStepInfo, FinalStep } from './vec_env_worker.ts';

export interface VecEnvOptions extends EnvSpec {
  /** Number of environments. */
  numEnvs: number;
  /** Worker threads; 0 runs every env in the calling thread. @default min(numEnvs, os.availableParallelism()) */
  numWorkers?: number;
  /** Env i's first episode is seeded `seed + i`. @default 0 */
  seed?: number;
}

/** One batched step; arrays are indexed by env. */
export interface VecStepResult {
  /** After an auto-reset, the new episode's first observation (the last one is in `infos[i].final`). */
  observations: Observation[];
  rewards: Float64Array;
  /** 1 where the episode ended on this step (success held, time limit or instability). */
  dones: Uint8Array;
  successes: Uint8Array;
  /** 1 where the episode ended by the time limit (bootstrap the value there). */
  truncateds: Uint8Array;
  infos: VecStepInfo[];
}

type PendingReplies = Map<number, { resolve: (reply: WorkerReply) => void; reject: (err: Error) => void }>;

/** A block of envs the VecEnv drives: in this thread or in a worker. */
interface SliceRunner {
  readonly first: number;
  readonly count: number;
  reset(seeds?: number[]): Promise<Observation[]>;
  /** Steps with this block's rows of the shared action buffer. */
  step(): Promise<SliceStepResult>;
  close(): Promise<void>;
}

export class VecEnv {
  readonly numEnvs: number;
  readonly numWorkers: number;
  readonly actionDim: number;
  readonly taskName: string;
  readonly fps: number;
  readonly maxSteps: number;
  readonly stateNames: readonly string[];
  readonly actionNames: readonly string[];
  readonly cameras: readonly string[];
  readonly #runners: SliceRunner[];
  readonly #actions: Float32Array;
  #busy = false;
  #closed = false;
  #failure: Error | undefined;

  private constructor(numEnvs: number, numWorkers: number, metadata: EnvMetadata, runners: SliceRunner[], actions: Float32Array) {
    this.numEnvs = numEnvs;
    this.numWorkers = numWorkers;
    this.taskName = metadata.taskName;
    this.fps = metadata.fps;
    this.maxSteps = metadata.maxSteps;
    this.stateNames = Object.freeze([...metadata.stateNames]);
    this.actionNames = Object.freeze([...metadata.actionNames]);
    this.cameras = Object.freeze([...metadata.cameras]);
    this.actionDim = metadata.actionNames.length;
    this.#runners = runners;
    this.#actions = actions;
  }

  static async create(options: VecEnvOptions): Promise<VecEnv> {
    const { numEnvs, seed = 0, numWorkers: requested, ...spec } = options;
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new UserError(`VecEnv: numEnvs must be a positive integer, got ${numEnvs}`);
    if (!Number.isInteger(seed)) throw new UserError(`VecEnv: seed must be an integer, got ${seed}`);
    const numWorkers = requested ?? Math.min(numEnvs, availableParallelism());
    if (!Number.isInteger(numWorkers) || numWorkers < 0) throw new UserError(`VecEnv: numWorkers must be an integer >= 0, got ${numWorkers}`);
    if (numWorkers === 0) {
      const slice = await EnvSlice.create(spec, 0, numEnvs, numEnvs, seed);
      const metadata = slice.metadata();
      const actions = new Float32Array(numEnvs * metadata.actionNames.length);
      return new VecEnv(numEnvs, 0, metadata, [new InProcessRunner(slice, actions)], actions);
    }

    // The shared action buffer is handed to the workers at start, so size it from the registry
    // (this also rejects an unknown task name before any thread starts).
    const actionDim = getTask(spec.task).armPrefixes.length * ARM_DIM;
    const shared = new SharedArrayBuffer(numEnvs * actionDim * Float32Array.BYTES_PER_ELEMENT);
    const blocks = partition(numEnvs, Math.min(numWorkers, numEnvs));
    const started = await Promise.allSettled(
      blocks.map(({ first, count }, w) => WorkerRunner.start(w, { kind: 'flowsteer-vec-env', spec, first, count, numEnvs, seed, actions: shared })),
    );
    const runners = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(runners.map((r) => r.close()));
      throw failed.reason;
    }
    const metadata = runners[0]!.metadata;
    if (metadata.actionNames.length !== actionDim) {
      await Promise.all(runners.map((r) => r.close()));
      throw new Error(`VecEnv: task '${spec.task}' has ${metadata.actionNames.length} actions, expected ${actionDim}`);
    }
    return new VecEnv(numEnvs, runners.length, metadata, runners, new Float32Array(shared));
  }

  /**
   * Resets every env. With `seeds` (one integer per env) env i uses seeds[i]; without, each env
   * takes the next seed of its stream (`seed + i` the first time).
   */
  async reset(seeds?: ArrayLike<number>): Promise<Observation[]> {
    if (seeds !== undefined) {
      if (seeds.length !== this.numEnvs) throw new UserError(`VecEnv.reset: expected ${this.numEnvs} seeds (one per env), got ${seeds.length}`);
      for (let i = 0; i < seeds.length; i++) if (!Number.isInteger(seeds[i])) throw new UserError(`VecEnv.reset: seeds[${i}] must be an integer, got ${seeds[i]}`);
    }
    const parts = await this.#run((r) => r.reset(seeds === undefined ? undefined : Array.from(seeds).slice(r.first, r.first + r.count)));
    return parts.flat();
  }

  /** Steps every env with its row of `actions` (numEnvs x actionDim, row-major); finished envs are auto-reset. */
  async step(actions: Float32Array): Promise<VecStepResult> {
    const n = this.numEnvs;
    const dim = this.actionDim;
    if (!(actions instanceof Float32Array) || actions.length !== n * dim) {
      const got = actions instanceof Float32Array ? `${actions.length} values` : `a ${(actions as object)?.constructor?.name ?? typeof actions}`;
      throw new UserError(`VecEnv.step: actions must be a Float32Array of numEnvs x actionDim = ${n} x ${dim} = ${n * dim} values (row i = env i: ${this.actionNames.join(', ')}), got ${got}`);
    }
    for (let i = 0; i < actions.length; i++) {
      if (!Number.isFinite(actions[i]!)) {
        const env = Math.floor(i / dim);
        throw new UserError(`VecEnv.step: action of env ${env}, '${this.actionNames[i % dim]}' (actions[${i}]) is not finite: ${actions[i]}`);
      }
    }
    this.#checkUsable();
    this.#actions.set(actions);
    const parts = await this.#run((r) => r.step());
    const out: VecStepResult = {
      observations: [],
      rewards: new Float64Array(n),
      dones: new Uint8Array(n),
      successes: new Uint8Array(n),
      truncateds: new Uint8Array(n),
      infos: [],
    };
    parts.forEach((p, w) => {
      const first = this.#runners[w]!.first;
      out.observations.push(...p.observations);
      out.infos.push(...p.infos);
      out.rewards.set(p.rewards, first);
      out.dones.set(p.dones, first);
      out.successes.set(p.successes, first);
      out.truncateds.set(p.truncateds, first);
    });
    return out;
  }

  /** Stops the workers (or frees the in-process envs). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#runners.map((r) => r.close()));
  }

  #checkUsable(): void {
    if (this.#closed) throw new Error('VecEnv: used after close()');
    if (this.#failure) throw new Error(`VecEnv: unusable after an earlier error (close it and create a new one): ${this.#failure.message}`, { cause: this.#failure });
    if (this.#busy) throw new Error('VecEnv: reset()/step() called while another call is still running; await it first');
  }

  async #run<T>(call: (r: SliceRunner) => Promise<T>): Promise<T[]> {
    this.#checkUsable();
    this.#busy = true;
    try {
      const settled = await Promise.allSettled(this.#runners.map(call));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        // Some envs may have stepped and others not: the batch is no longer consistent.
        this.#failure = failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
        throw failed.reason;
      }
      return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
    } finally {
      this.#busy = false;
    }
  }
}

/** Contiguous blocks of envs, as even as possible: worker w gets floor(N/W) or one more. */
function partition(numEnvs: number, workers: number): Array<{ first: number; count: number }> {
  const out: Array<{ first: number; count: number }> = [];
  let first = 0;
  for (let w = 0; w < workers; w++) {
    const count = Math.floor(numEnvs / workers) + (w < numEnvs % workers ? 1 : 0);
    out.push({ first, count });
    first += count;
  }
  return out;
}

class InProcessRunner implements SliceRunner {
  readonly first = 0;
  readonly count: number;
  readonly #slice: EnvSlice;
  readonly #actions: Float32Array;

  constructor(slice: EnvSlice, actions: Float32Array) {
    this.#slice = slice;
    this.#actions = actions;
    this.count = slice.envs.length;
  }
  async reset(seeds?: number[]): Promise<Observation[]> {
    return this.#slice.reset(seeds);
  }
  async step(): Promise<SliceStepResult> {
    return this.#slice.step(this.#actions);
  }
  async close(): Promise<void> {
    this.#slice.dispose();
  }
}

/** One worker thread owning envs [first, first + count); one request in flight at a time. */
class WorkerRunner implements SliceRunner {
  readonly first: number;
  readonly count: number;
  readonly metadata: EnvMetadata;
  readonly #worker: Worker;
  readonly #label: string;
  readonly #pending: PendingReplies;
  #nextId = 1;
  #dead: Error | undefined;

  private constructor(worker: Worker, init: WorkerInit, label: string, metadata: EnvMetadata, pending: PendingReplies) {
    this.#worker = worker;
    this.first = init.first;
    this.count = init.count;
    this.#label = label;
    this.metadata = metadata;
    this.#pending = pending;
  }

  /** Starts the worker and waits until its envs exist (rejects with the worker's error otherwise). */
  static start(index: number, init: WorkerInit): Promise<WorkerRunner> {
    const label = `VecEnv worker ${index} (envs ${init.first}..${init.first + init.count - 1})`;
    const worker = startTsWorker(new URL('./vec_env_worker.ts', import.meta.url), { workerData: init });
    const pending: PendingReplies = new Map();
    let runner: WorkerRunner | undefined;
    const failAll = (err: Error) => {
      if (runner) runner.#dead ??= err;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('message', (reply: WorkerReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      if (reply.type === 'error') p.reject(surfaceError(label, reply.error));
      else p.resolve(reply);
    });
    worker.on('error', (err) => failAll(surfaceError(label, { name: err.name, message: err.message, stack: err.stack })));
    worker.on('messageerror', (err) => failAll(new Error(`${label}: a message could not be deserialised: ${err.message}`)));
    worker.on('exit', (code) => failAll(new Error(`${label} exited (code ${code})`)));
    return new Promise<WorkerReply>((resolve, reject) => pending.set(0, { resolve, reject })).then(
      (reply) => {
        if (reply.type !== 'ready') throw new Error(`${label}: unexpected first message '${reply.type}'`);
        runner = new WorkerRunner(worker, init, label, reply.metadata, pending);
        return runner;
      },
      async (err: Error) => {
        await worker.terminate();
        throw err;
      },
    );
  }

  async reset(seeds?: number[]): Promise<Observation[]> {
    const reply = await this.#request({ id: 0, type: 'reset', seeds });
    return (reply as Extract<WorkerReply, { type: 'reset' }>).observations;
  }
  async step(): Promise<SliceStepResult> {
    const reply = await this.#request({ id: 0, type: 'step' });
    return (reply as Extract<WorkerReply, { type: 'step' }>).result;
  }
  async close(): Promise<void> {
    this.#dead ??= new Error(`${this.#label}: closed`);
    await this.#worker.terminate();
  }

  #request(req: WorkerRequest): Promise<WorkerReply> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref(); // keep the process alive while a reply is due; idle workers do not
      this.#worker.postMessage({ ...req, id } satisfies WorkerRequest);
    });
  }
}

/** A worker's error in the caller's thread: the worker's message (and class, for UserError), its stack as `cause`. */
function surfaceError(label: string, e: { name: string; message: string; stack?: string }): Error {
  const cause = Object.assign(new Error(e.message), { name: e.name, stack: e.stack });
  const err = e.name === 'UserError' ? new UserError(`${label}: ${e.message}`, { cause }) : new Error(`${label}: ${e.message}`, { cause });
  return err;
}
