import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread whose module is TypeScript. On Node 20 the documented way,
 * `new Worker(url, { execArgv: ['--import', 'tsx'] })`, fails with ERR_UNKNOWN_FILE_EXTENSION
 * (loader flags do not reach worker threads: nodejs/node#47747, privatenumber/tsx#354), so a
 * one-line bootstrap registers tsx's hooks inside the worker and then imports the entry.
 * Works under `node --import tsx`, the `flowsteer` bin and vitest. A `.js` entry starts plainly.
 */
export function startTsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.href.endsWith('.ts')) return new Worker(entry, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
