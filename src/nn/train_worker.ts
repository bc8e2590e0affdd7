import { parentPort } from 'node:worker_threads';
import { LocalStepRunner } from './local_step_runner.ts';
import type { WorkerReply, WorkerRequest, WorkerResult } from './worker_protocol.ts';

/**
 * Entry of the training worker thread (started by WorkerStepRunner through
 * src/core/ts_worker.ts): hosts a LocalStepRunner and serves requests one at a time,
 * in arrival order, so steps never overlap.
 */
const port = parentPort;
if (!port) throw new Error('train_worker.ts must run in a worker thread');

let runner: LocalStepRunner | undefined;
let queue: Promise<void> = Promise.resolve();

const send = (reply: WorkerReply): void => port.postMessage(reply);

async function handle(req: WorkerRequest): Promise<WorkerResult> {
  if (req.op === 'init') {
    runner = await LocalStepRunner.create(req.init, (log) => send({ log }));
    return { provider: runner.provider };
  }
  if (!runner) throw new Error('training worker: not initialised');
  switch (req.op) {
    case 'step':
      return runner.step(req.batch, req.lr);
    case 'getState':
      return runner.getState();
    case 'setState':
      await runner.setState(req.state);
      return null;
    case 'dispose':
      await runner.dispose();
      runner = undefined;
      return null;
  }
}

port.on('message', (req: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      send({ id: req.id, ok: true, result: await handle(req) });
    } catch (err) {
      send({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
});
