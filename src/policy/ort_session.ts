import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { binding, initOrt } from 'onnxruntime-node/dist/binding.js';
import { UserError } from '../core/errors.ts';

/**
 * A synchronous ONNX Runtime session.
 *
 * `ort.InferenceSession.run` only wraps the native binding's synchronous `run` in a
 * `setImmediate` promise; the computation blocks the event loop either way (NOTES.md). Policies
 * are called from synchronous control loops (`EpisodePolicy.act`, the rollout), so we call the
 * binding directly: same native session, same options, no promise per step. Callers that need a
 * free event loop use `PolicyWorker`. The binding is internal to onnxruntime-node (pinned at
 * 1.30.0 in package.json); this file is the only place that touches it.
 */

export const PROVIDERS = ['cpu', 'cuda'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface OrtSessionOptions {
  /** Requested execution provider. @default 'cpu' */
  provider?: string;
  /** Threads inside one op. 1 keeps results independent of the machine's core count. @default 1 */
  intraOpNumThreads?: number;
  /** Where the CUDA fallback warning goes. @default console.warn */
  log?: (message: string) => void;
}

/** Name, element type and shape of a graph input/output (symbolic dims as strings). */
export interface ValueInfo {
  name: string;
  dtype: string;
  shape: Array<number | string>;
}

const DTYPES: ReadonlyMap<number, string> = new Map([
  [1, 'float32'],
  [2, 'uint8'],
  [3, 'int8'],
  [5, 'int16'],
  [6, 'int32'],
  [7, 'int64'],
  [9, 'bool'],
  [10, 'float16'],
  [11, 'float64'],
]);

/** Checks a provider name; unknown ones are a UserError listing the known ones. */
export function parseProvider(name: string): ProviderName {
  if ((PROVIDERS as readonly string[]).includes(name)) return name as ProviderName;
  throw new UserError(`unknown execution provider '${name}'; expected one of: ${PROVIDERS.join(', ')}`);
}

/** Why the CUDA provider cannot be used here, or undefined when its library is installed. */
function cudaUnavailableReason(): string | undefined {
  const require = createRequire(import.meta.url);
  const binDir = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!binDir || !existsSync(join(binDir, lib))) return `${lib} is not installed in ${binDir}`;
  return undefined;
}

export class OrtSession {
  readonly file: string;
  /** The provider actually running the graph. */
  readonly provider: ProviderName;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  #session: InstanceType<typeof binding.InferenceSession>;

  private constructor(file: string, provider: ProviderName, session: InstanceType<typeof binding.InferenceSession>) {
    this.file = file;
    this.provider = provider;
    this.#session = session;
    const info = (m: (typeof session.inputMetadata)[number]): ValueInfo => ({
      name: m.name,
      dtype: m.isTensor ? (DTYPES.get(m.type) ?? `type#${m.type}`) : 'non-tensor',
      shape: (m.shape ?? []).map((d, i) => (d >= 0 ? d : m.symbolicDimensions[i] || '?')),
    });
    this.inputs = session.inputMetadata.map(info);
    this.outputs = session.outputMetadata.map(info);
  }

  /**
   * Opens `file` on the requested provider. 'cuda' falls back to 'cpu' with a warning when the
   * CUDA provider libraries are missing or fail to load (open the bundle's other graphs with the
   * `provider` this session got, so a bundle warns once).
   */
  static open(file: string, options: OrtSessionOptions = {}): OrtSession {
    const requested = parseProvider(options.provider ?? 'cpu');
    const threads = options.intraOpNumThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new UserError(`intraOpNumThreads must be a positive integer, got ${threads}`);
    initOrt();
    const load = (provider: ProviderName) => {
      const session = new binding.InferenceSession();
      session.loadModel(file, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
      return new OrtSession(file, provider, session);
    };
    const fail = (err: unknown): never => {
      throw new UserError(`${file}: ONNX Runtime cannot load the model: ${firstLine(err)}`);
    };
    if (requested === 'cuda') {
      let reason = cudaUnavailableReason();
      if (reason === undefined) {
        try {
          return load('cuda');
        } catch (err) {
          reason = firstLine(err);
          // A broken model fails on CPU too: report that error, not a CUDA one.
        }
      }
      (options.log ?? console.warn)(
        `[flowsteer policy] CUDA execution provider unavailable (${reason}); running on CPU. ` +
          'Install onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip on a machine with CUDA to enable it.',
      );
    }
    try {
      return load('cpu');
    } catch (err) {
      return fail(err);
    }
  }

  /** Runs the graph; returns the requested outputs by name. */
  run(feeds: Record<string, ort.Tensor>, outputs: readonly string[]): Record<string, ort.Tensor> {
    const fetches: Record<string, null> = {};
    for (const name of outputs) fetches[name] = null;
    return this.#session.run(feeds, fetches, {}) as Record<string, ort.Tensor>;
  }

  dispose(): void {
    this.#session.dispose();
  }
}

function firstLine(err: unknown): string {
  // ORT's messages carry ANSI colour codes and multi-line native traces.
  const text = (err instanceof Error ? err.message : String(err)).replace(/\u001b\[[0-9;]*m/g, '');
  const line = text.split('\n')[0] ?? text;
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
