import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic_write.ts';
import { UserError } from '../core/errors.ts';
import type { ParamSet } from '../nn/index.ts';

/**
 * Exponential moving average of the weights (diffusion policy / LeRobot keep one and evaluate
 * it): ema <- d * ema + (1 - d) * theta. Updated every `every` steps with d^every, so the
 * weights only cross the worker boundary every few steps; the time constant is ~1/(1 - d) steps.
 */
export class WeightEma {
  readonly decay: number;
  readonly every: number;
  #params: ParamSet;

  constructor(initial: ReadonlyMap<string, Float32Array>, decay: number, every: number) {
    this.decay = decay;
    this.every = every;
    this.#params = new Map([...initial].map(([k, v]) => [k, v.slice()]));
  }

  /** Folds in the current weights at `step` (a no-op unless step % every === 0). */
  shouldUpdate(step: number): boolean {
    return step % this.every === 0;
  }

  update(params: ReadonlyMap<string, Float32Array>, step: number): void {
    // Warm-up as torch's ExponentialMovingAverage / LeRobot: d_eff = min(d, (1 + n) / (10 + n)).
    const d = Math.min(this.decay, (1 + step) / (10 + step)) ** this.every;
    for (const [name, ema] of this.#params) {
      const p = params.get(name) as Float32Array;
      for (let i = 0; i < ema.length; i++) ema[i] = d * (ema[i] as number) + (1 - d) * (p[i] as number);
    }
  }

  get params(): ParamSet {
    return this.#params;
  }

  set params(value: ParamSet) {
    this.#params = value;
  }
}

/** Writes a parameter set as a safetensors file (F32 tensors, SHA-256 of the data in the metadata), atomically. */
export function saveParamFile(path: string, params: ReadonlyMap<string, Float32Array>, shapes: ReadonlyMap<string, readonly number[]>, metadata: Record<string, string> = {}): void {
  const entries: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of params) {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries[name] = { dtype: 'F32', shape: [...(shapes.get(name) ?? [data.length])], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const body = Buffer.concat(chunks);
  let header = JSON.stringify({ __metadata__: { ...metadata, sha256: createHash('sha256').update(body).digest('hex') }, ...entries });
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  writeFileAtomic(path, Buffer.concat([size, Buffer.from(header, 'utf8'), body]));
}

/** Reads a file written by `saveParamFile`; every failure is a UserError naming the file. */
export function loadParamFile(path: string, expected: ReadonlyMap<string, number>): ParamSet {
  const fail = (what: string): never => {
    throw new UserError(`${path}: ${what}`);
  };
  if (!existsSync(path)) fail('file missing');
  const file = readFileSync(path);
  if (file.length < 8) fail('too short for a safetensors header');
  const n = Number(file.readBigUInt64LE(0));
  if (n > file.length - 8) fail('header length does not fit the file');
  let header: Record<string, { shape: number[]; data_offsets: [number, number] }> & { __metadata__?: { sha256?: string } };
  try {
    header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  const body = file.subarray(8 + n);
  if (header.__metadata__?.sha256 !== createHash('sha256').update(body).digest('hex')) fail('checksum mismatch: the file is corrupted or truncated');
  const out: ParamSet = new Map();
  for (const [name, size] of expected) {
    const e = header[name];
    if (!e) fail(`missing tensor '${name}'`);
    const [a, b] = e!.data_offsets;
    if (b - a !== size * 4) fail(`tensor '${name}' has ${(b - a) / 4} values, expected ${size}`);
    const copy = new Uint8Array(b - a);
    copy.set(body.subarray(a, b));
    out.set(name, new Float32Array(copy.buffer));
  }
  return out;
}
