import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../core/ts_worker.ts';
import type { Observation } from '../core/observation.ts';
import { UserError } from '../core/errors.ts';
import type { OnnxPolicyOptions } from './onnx_policy.ts';
import type { PolicyManifest } from './manifest.ts';
import type { ProviderName } from './ort_session.ts';

/** Messages to the worker (policy_worker_entry.ts). */
export type WorkerRequest =
  | { id: number; op: 'load'; dir: string; options: Omit<OnnxPolicyOptions, 'log'> }
  | { id: number; op: 'sample'; observations: Observation[]; noise?: Float32Array }
  | { id: number; op: 'features'; observations: Observation[] }
  | { id: number; op: 'reseed'; seed: number }
  | { id: number; op: 'close' };

/** Messages from the worker. */
export type WorkerReply = { log: string } | { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; userError: boolean };

/** A request without its id. */
type RequestBody = { [K in WorkerRequest['op']]: Omit<Extract<WorkerRequest, { op: K }>, 'id'> }[WorkerRequest['op']];

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

/**
 * `OnnxPolicy` in a `worker_threads` worker: the same `sample`/`features`, as promises, so the
 * caller's event loop (ROS callbacks, a viewer server) stays free while ONNX Runtime computes.
 * With the same `noiseSeed` (or the same explicit noise) it returns exactly what an in-process
 * `OnnxPolicy` returns. Requests are answered in order.
 */
export class PolicyWorker {
  readonly manifest: PolicyManifest;
  readonly provider: ProviderName;
  readonly #worker: Worker;
  readonly #pending: Map<number, Pending>;
  #nextId: number;
  #closed = false;

  private constructor(worker: Worker, pending: Map<number, Pending>, nextId: number, manifest: PolicyManifest, provider: ProviderName) {
    this.#worker = worker;
    this.#pending = pending;
    this.#nextId = nextId;
    this.manifest = manifest;
    this.provider = provider;
  }

  static async load(dir: string, options: OnnxPolicyOptions = {}): Promise<PolicyWorker> {
    const { log = console.warn, ...rest } = options;
    const worker = startTsWorker(new URL(`./policy_worker_entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    const pending = new Map<number, Pending>();
    worker.on('message', (reply: WorkerReply) => {
      if ('log' in reply) return log(reply.log);
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.ok) p?.resolve(reply.result);
      else p?.reject(reply.userError ? new UserError(reply.error) : new Error(reply.error));
    });
    const failAll = (err: Error) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`policy worker exited (code ${code})`)));
    const loaded = new Promise<unknown>((resolve, reject) => pending.set(0, { resolve, reject }));
    worker.postMessage({ id: 0, op: 'load', dir, options: rest } satisfies WorkerRequest);
    try {
      const { manifest, provider } = (await loaded) as { manifest: PolicyManifest; provider: ProviderName };
      return new PolicyWorker(worker, pending, 1, manifest, provider);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  get chunkSize(): number {
    return this.manifest.chunk_size;
  }
  get actionDim(): number {
    return this.manifest.action_dim;
  }

  /** See `OnnxPolicy.sample`. The noise array is copied to the worker. */
  sample(observations: readonly Observation[], noise?: Float32Array): Promise<Float32Array> {
    return this.#request({ op: 'sample', observations: [...observations], ...(noise ? { noise } : {}) }) as Promise<Float32Array>;
  }

  /** See `OnnxPolicy.features`. */
  features(observations: readonly Observation[]): Promise<Float32Array> {
    return this.#request({ op: 'features', observations: [...observations] }) as Promise<Float32Array>;
  }

  /** Restarts the worker policy's default noise stream. */
  async reseed(seed: number): Promise<void> {
    await this.#request({ op: 'reseed', seed });
  }

  /** Disposes the sessions and ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const done = this.#request({ op: 'close' });
    this.#closed = true;
    await done;
    await this.#worker.terminate();
  }

  #request(body: RequestBody): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('PolicyWorker: closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...body });
    });
  }
}
