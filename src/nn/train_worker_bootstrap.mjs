// Worker threads do not inherit the parent's `--import tsx` loader on Node 20, so the
// training worker starts here: register tsx for this thread, then load the TypeScript entry.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
