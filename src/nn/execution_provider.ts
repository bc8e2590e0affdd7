import * as ort from 'onnxruntime-node';

export type ExecutionProviderName = 'cpu' | 'cuda';

export interface SessionConfig {
  /** Requested execution provider; 'cuda' falls back to 'cpu' with a printed message. @default 'cpu' */
  readonly executionProvider?: ExecutionProviderName;
  /** Threads inside one op (ORT intra-op pool). @default 1 */
  readonly intraOpNumThreads?: number;
  /** Where fallback notices go. @default console.warn */
  readonly log?: (message: string) => void;
}

export interface CreatedSession {
  readonly session: ort.InferenceSession;
  /** The provider actually running the graph. */
  readonly provider: ExecutionProviderName;
}

/**
 * Opens an ORT session with `graphOptimizationLevel: 'all'` on the requested provider.
 * onnxruntime-node bundles only the CPU provider; CUDA needs the provider libraries its
 * postinstall downloads (skipped offline, see NOTES). When CUDA cannot be loaded we say so
 * once, with ORT's reason, and run on CPU rather than fail a training run.
 */
export async function createSession(bytes: Uint8Array, config: SessionConfig = {}): Promise<CreatedSession> {
  const requested = config.executionProvider ?? 'cpu';
  const threads = config.intraOpNumThreads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`createSession: intraOpNumThreads must be a positive integer, got ${threads}`);
  const options = (provider: ExecutionProviderName): ort.InferenceSession.SessionOptions => ({
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  if (requested === 'cuda') {
    try {
      return { session: await ort.InferenceSession.create(bytes, options('cuda')), provider: 'cuda' };
    } catch (err) {
      const reason = firstLine(err);
      (config.log ?? console.warn)(
        `[flowsteer nn] CUDA execution provider unavailable (${reason}); falling back to CPU. ` +
          'Install onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip on a CUDA machine to enable it.',
      );
    }
  }
  return { session: await ort.InferenceSession.create(bytes, options('cpu')), provider: 'cpu' };
}

function firstLine(err: unknown): string {
  // ORT's messages carry ANSI colour codes and multi-line native traces.
  const text = (err instanceof Error ? err.message : String(err)).replace(/\u001b\[[0-9;]*m/g, '');
  const line = text.split('\n')[0] ?? text;
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
