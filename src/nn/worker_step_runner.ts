import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../core/ts_worker.ts';
import type { ExecutionProviderName } from './execution_provider.ts';
import type { BatchData } from './inputs.ts';
import type { StepResult, StepRunner, StepRunnerInit } from './step_runner.ts';
import type { TrainState } from './train_state.ts';
import type { WorkerReply, WorkerRequest, WorkerResult } from './worker_protocol.ts';

type Pending = { resolve: (r: WorkerResult) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Runs the step graph in a worker thread: `session.run` blocks the thread it runs on, so
 * this keeps the caller's event loop free (ROS bridge, viewer, data loading) while ORT
 * computes. Batches and state are copied across (structured clone); the caller's arrays are
 * never detached.
 */
export class WorkerStepRunner implements StepRunner {
  readonly provider: ExecutionProviderName;
  readonly #worker: Worker;
  readonly #pending: Map<number, Pending>;
  #nextId: number;

  private constructor(worker: Worker, pending: Map<number, Pending>, nextId: number, provider: ExecutionProviderName) {
    this.#worker = worker;
    this.#pending = pending;
    this.#nextId = nextId;
    this.provider = provider;
  }

  static async create(init: StepRunnerInit, log: (message: string) => void = console.warn): Promise<WorkerStepRunner> {
    const worker = startTsWorker(new URL('./train_worker.ts', import.meta.url));
    const pending = new Map<number, Pending>();
    worker.on('message', (reply: WorkerReply) => {
      if ('log' in reply) return log(reply.log);
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.ok) p?.resolve(reply.result);
      else p?.reject(new Error(reply.error));
    });
    const failAll = (err: Error): void => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('error', (err) => failAll(err));
    worker.on('exit', (code) => failAll(new Error(`training worker exited (code ${code})`)));
    const call = (req: WorkerRequest): Promise<WorkerResult> =>
      new Promise((resolve, reject) => {
        pending.set(req.id, { resolve, reject });
        worker.postMessage(req);
      });
    try {
      const { provider } = (await call({ id: 0, op: 'init', init })) as { provider: ExecutionProviderName };
      return new WorkerStepRunner(worker, pending, 1, provider);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  #call(req: DistributiveOmit<WorkerRequest, 'id'>): Promise<WorkerResult> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...req, id });
    });
  }

  async step(batch: BatchData, lr: number): Promise<StepResult> {
    return (await this.#call({ op: 'step', batch, lr })) as StepResult;
  }

  async getState(): Promise<TrainState> {
    return (await this.#call({ op: 'getState' })) as TrainState;
  }

  async setState(state: TrainState): Promise<void> {
    await this.#call({ op: 'setState', state });
  }

  async dispose(): Promise<void> {
    try {
      await this.#call({ op: 'dispose' });
    } finally {
      await this.#worker.terminate();
    }
  }
}
