import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.ts';
import type { ParamSet } from '../nn/index.ts';
import { readSafetensors, writeSafetensors } from '../nn/safetensors.ts';

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
  writeSafetensors(path, [...params].map(([name, data]) => [name, { shape: shapes.get(name) ?? [data.length], data }] as const), metadata);
}

/** Reads a file written by `saveParamFile`; every failure is a UserError naming the file. */
export function loadParamFile(path: string, expected: ReadonlyMap<string, number>): ParamSet {
  const fail = (what: string): never => {
    throw new UserError(`${path}: ${what}`);
  };
  if (!existsSync(path)) fail('file missing');
  const { tensors } = readSafetensors(path, { kind: 'weight file', fail });
  const out: ParamSet = new Map();
  for (const [name, size] of expected) {
    const t = tensors.get(name);
    if (!t) return fail(`missing tensor '${name}'`);
    if (t.data.length !== size) fail(`tensor '${name}' has ${t.data.length} values, expected ${size}`);
    out.set(name, t.data);
  }
  return out;
}
