import type { Value } from './tape.ts';

/** A per-sample input: dtype and shape without the batch dim (`[]` for a scalar per sample). */
export interface InputSpec {
  readonly dtype: 'float32' | 'int64';
  readonly shape: readonly number[];
}

export type InputSpecs = Readonly<Record<string, InputSpec>>;

/** Symbolic values for a set of inputs (batch dim first). */
export type ValuesOf<S extends InputSpecs> = { readonly [K in keyof S]: Value };

/** Host data for a batch: one flat typed array per input, length B * prod(shape). */
export type BatchData = Readonly<Record<string, Float32Array | BigInt64Array>>;

/** `f32(3, 64, 64)` / `i64(16)`: input specs for images, vectors, token ids. */
export const f32 = (...shape: number[]): InputSpec => ({ dtype: 'float32', shape });
export const i64 = (...shape: number[]): InputSpec => ({ dtype: 'int64', shape });

/** Throws unless each named input has the dtype and length a batch of `batchSize` needs; `where` names the caller. */
export function checkBatch(specs: InputSpecs, batch: BatchData, batchSize: number, where: string): void {
  for (const [name, spec] of Object.entries(specs)) {
    const data = batch[name];
    if (!data) throw new Error(`${where}: batch is missing input '${name}'`);
    const want = batchSize * spec.shape.reduce((a, b) => a * b, 1);
    const isF32 = data instanceof Float32Array;
    if (isF32 !== (spec.dtype === 'float32')) throw new Error(`${where}: input '${name}' must be ${spec.dtype === 'float32' ? 'Float32Array' : 'BigInt64Array'}`);
    if (data.length !== want) throw new Error(`${where}: input '${name}' has ${data.length} values, batch ${batchSize} x [${spec.shape}] needs ${want}`);
  }
}
