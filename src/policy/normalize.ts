import { UserError } from '../core/errors.ts';
import type { NormalizationSpec } from './manifest.ts';

/** LeRobot's normalisation epsilon. */
export const NORM_EPS = 1e-8;

const f = Math.fround;

/**
 * Normalisation of one feature (docs/policy-format.md, "Normalisation"), on flat arrays of rows
 * of `dim` values. Every operation is rounded to fp32 in the order torch evaluates it, so the
 * normalised inputs equal a torch reference's bit for bit.
 *
 * - mean_std: `(x - mean) / (std + eps)`, inverse `y * (std + eps) + mean`
 * - min_max:  `2 * (x - min) / (max - min + eps) - 1`, inverse `(y + 1) / 2 * (max - min + eps) + min`
 * - identity: unchanged
 */
export class Normalizer {
  readonly feature: string;
  readonly dim: number;
  readonly mode: NormalizationSpec['mode'];
  /** mean_std: mean; min_max: min (fp32). */
  readonly #offset: Float32Array;
  /** mean_std: std + eps; min_max: max - min + eps (fp32). */
  readonly #scale: Float32Array;

  constructor(spec: NormalizationSpec, dim: number, feature: string) {
    this.feature = feature;
    this.dim = dim;
    this.mode = spec.mode;
    const arr = (name: 'mean' | 'std' | 'min' | 'max'): Float32Array => {
      const v = spec[name];
      if (!v || v.length !== dim) throw new UserError(`normalization.${feature}.${name}: expected ${dim} values, got ${v?.length ?? 'none'}`);
      return Float32Array.from(v);
    };
    const eps = f(NORM_EPS);
    if (spec.mode === 'mean_std') {
      this.#offset = arr('mean');
      this.#scale = arr('std').map((s) => f(s + eps));
    } else if (spec.mode === 'min_max') {
      this.#offset = arr('min');
      const max = arr('max');
      this.#scale = this.#offset.map((lo, i) => f(f(max[i]! - lo) + eps));
    } else {
      this.#offset = new Float32Array(dim);
      this.#scale = new Float32Array(dim).fill(1);
    }
  }

  /** Raw -> normalised. `x.length` must be a multiple of `dim`. */
  normalize(x: ArrayLike<number>, out: Float32Array = new Float32Array(x.length)): Float32Array {
    this.#checkLength(x.length);
    const { dim } = this;
    const offset = this.#offset;
    const scale = this.#scale;
    for (let i = 0; i < x.length; i++) {
      const d = i % dim;
      const v = f(x[i]!);
      if (this.mode === 'mean_std') out[i] = f(f(v - offset[d]!) / scale[d]!);
      else if (this.mode === 'min_max') out[i] = f(f(f(2 * f(v - offset[d]!)) / scale[d]!) - 1);
      else out[i] = v;
    }
    return out;
  }

  /** Normalised -> raw. */
  unnormalize(y: ArrayLike<number>, out: Float32Array = new Float32Array(y.length)): Float32Array {
    this.#checkLength(y.length);
    const { dim } = this;
    const offset = this.#offset;
    const scale = this.#scale;
    for (let i = 0; i < y.length; i++) {
      const d = i % dim;
      const v = f(y[i]!);
      if (this.mode === 'mean_std') out[i] = f(f(v * scale[d]!) + offset[d]!);
      else if (this.mode === 'min_max') out[i] = f(f(f(f(v + 1) / 2) * scale[d]!) + offset[d]!);
      else out[i] = v;
    }
    return out;
  }

  #checkLength(n: number): void {
    if (n % this.dim !== 0) throw new UserError(`${this.feature}: ${n} values is not a multiple of its dimension ${this.dim}`);
  }
}
