import { parentPort } from 'node:worker_threads';
import { UserError } from '../core/errors.ts';
import { OnnxPolicy } from './onnx_policy.ts';
import type { WorkerReply, WorkerRequest } from './policy_worker.ts';

/** The worker side of `PolicyWorker`: one OnnxPolicy, requests answered in order. */
const port = parentPort;
if (!port) throw new Error('policy_worker_entry.ts must run in a worker thread');
let policy: OnnxPolicy | undefined;

port.on('message', async (req: WorkerRequest) => {
  const reply = (r: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);
  try {
    if (req.op === 'load') {
      policy = await OnnxPolicy.load(req.dir, { ...req.options, log: (message) => reply({ log: message }) });
      return reply({ id: req.id, ok: true, result: { manifest: policy.manifest, provider: policy.provider } });
    }
    if (!policy) throw new Error('policy worker: not loaded');
    if (req.op === 'sample') {
      const out = policy.sample(req.observations, req.noise);
      return reply({ id: req.id, ok: true, result: out }, [out.buffer as ArrayBuffer]);
    }
    if (req.op === 'features') {
      const out = policy.features(req.observations);
      return reply({ id: req.id, ok: true, result: out }, [out.buffer as ArrayBuffer]);
    }
    if (req.op === 'reseed') {
      policy.reseed(req.seed);
      return reply({ id: req.id, ok: true, result: null });
    }
    policy.dispose();
    policy = undefined;
    reply({ id: req.id, ok: true, result: null });
    port.close();
  } catch (err) {
    reply({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err), userError: err instanceof UserError });
  }
});
