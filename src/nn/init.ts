import type { Rng } from '../core/rng.ts';

/** How a parameter's initial values are drawn. */
export type Init =
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'constant'; readonly value: number };

export const init = {
  uniform: (bound: number): Init => ({ kind: 'uniform', bound }),
  normal: (std: number): Init => ({ kind: 'normal', std }),
  constant: (value: number): Init => ({ kind: 'constant', value }),
  zeros: (): Init => ({ kind: 'constant', value: 0 }),
  ones: (): Init => ({ kind: 'constant', value: 1 }),
  /**
   * PyTorch's default for nn.Linear / nn.Conv2d weights and biases: kaiming_uniform_(a=sqrt 5)
   * on the weight reduces to U(-1/sqrt(fanIn), 1/sqrt(fanIn)), and the bias uses the same bound.
   */
  torchDefault: (fanIn: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(fanIn) }),
  /** Kaiming (He) uniform for ReLU-like nets: U(-b, b), b = gain * sqrt(3 / fanIn), gain sqrt 2. */
  kaimingUniform: (fanIn: number, gain = Math.SQRT2): Init => ({ kind: 'uniform', bound: gain * Math.sqrt(3 / fanIn) }),
} as const;

/** Draws `size` values of `spec` from `rng`. */
export function sampleInit(spec: Init, size: number, rng: Rng): Float32Array {
  const out = new Float32Array(size);
  switch (spec.kind) {
    case 'uniform':
      for (let i = 0; i < size; i++) out[i] = rng.range(-spec.bound, spec.bound);
      break;
    case 'normal':
      for (let i = 0; i < size; i++) out[i] = spec.std * rng.normal();
      break;
    case 'constant':
      out.fill(spec.value);
      break;
  }
  return out;
}
