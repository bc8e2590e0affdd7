import { readFileSync } from 'node:fs';

/** Shapes of test/nn/golden/grads.json (written by bench/nn/make_grad_golden.py). */
export interface GoldenTensor {
  readonly dtype: 'float32' | 'int64';
  readonly shape: number[];
  readonly data: number[];
}

export interface GoldenOpCase {
  readonly attrs: Record<string, unknown>;
  readonly inputs: Record<string, GoldenTensor & { readonly grad: boolean }>;
  readonly output: GoldenTensor;
  readonly upstream?: GoldenTensor;
  readonly grads?: Record<string, GoldenTensor>;
}

export interface GoldenPolicy {
  readonly config: Record<string, number | number[]>;
  readonly batch: Record<string, GoldenTensor>;
  readonly params: Record<string, GoldenTensor>;
  readonly output: GoldenTensor;
  readonly loss: number;
  readonly gradNorm: number;
  readonly grads: Record<string, GoldenTensor>;
  readonly adamw: {
    readonly config: { lr: number; betas: [number, number]; eps: number; weightDecay: number };
    readonly lrs: number[];
    readonly maxNorm: number;
    readonly losses: number[];
    readonly gradNorms: number[];
    readonly params: Record<string, GoldenTensor>;
  };
}

export interface Golden {
  readonly torch: string;
  readonly ops: Record<string, GoldenOpCase>;
  readonly policy: GoldenPolicy;
}

let cached: Golden | undefined;

export function loadGolden(): Golden {
  cached ??= JSON.parse(readFileSync(new URL('./golden/grads.json', import.meta.url), 'utf8')) as Golden;
  return cached;
}

export function toTyped(t: GoldenTensor): Float32Array | BigInt64Array {
  return t.dtype === 'int64' ? BigInt64Array.from(t.data.map((v) => BigInt(v))) : Float32Array.from(t.data);
}

/**
 * Normwise relative error max|a - e| / max|e|: elementwise ratios blow up where the
 * reference is near zero, which says nothing about the op.
 */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`relError: length ${actual.length} vs ${expected.length}`);
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxErr = Math.max(maxErr, Math.abs((actual[i] as number) - (expected[i] as number)));
    maxRef = Math.max(maxRef, Math.abs(expected[i] as number));
  }
  return maxRef === 0 ? maxErr : maxErr / maxRef;
}
