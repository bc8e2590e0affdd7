import { z } from 'zod';
import type { Tape, Value } from './tape.ts';

export const AdamWConfigSchema = z
  .object({
    lr: z.number().positive().describe('Learning rate used when the trainer has no schedule (the graph takes lr as an input each step).'),
    betas: z
      .tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)])
      .default([0.9, 0.999])
      .describe('Decay rates of the first and second moment estimates (torch default).'),
    eps: z.number().positive().default(1e-8).describe('Added to sqrt(v_hat) in the denominator (torch default).'),
    weightDecay: z.number().min(0).default(0.01).describe('Decoupled weight decay factor, applied as p *= 1 - lr * wd (torch.optim.AdamW default 0.01).'),
  })
  .strict();

export type AdamWConfigInput = z.input<typeof AdamWConfigSchema>;
export type AdamWConfig = Readonly<z.output<typeof AdamWConfigSchema>>;

export function parseAdamWConfig(input: AdamWConfigInput): AdamWConfig {
  return Object.freeze(AdamWConfigSchema.parse(input));
}

/** One parameter's tensors in the step graph and the exact output names of its updates. */
export interface AdamWSlot {
  readonly param: Value;
  readonly grad: Value;
  readonly m: Value;
  readonly v: Value;
  readonly weightDecay: boolean;
  readonly outParam: string;
  readonly outM: string;
  readonly outV: string;
}

/**
 * Emits one AdamW update per slot, the arithmetic of torch.optim.AdamW (single-tensor path),
 * with `step` the 1-based count of this update, `lr` a graph scalar, and `gradScale` an
 * optional scalar the gradients are multiplied by first (global-norm clipping's coefficient):
 *   p  <- p * (1 - lr * wd)                        (decoupled decay, only where weightDecay)
 *   g  <- gradScale * g
 *   m  <- b1 m + (1 - b1) g
 *   v  <- b2 v + (1 - b2) g^2
 *   p  <- p - (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)
 * Emitted with every scalar factor folded into per-step scalars, so each tensor sees 13 passes
 * (12 without decay) instead of 16 for the formulas as written:
 *   m' = b1 m + c1 g                     c1 = (1 - b1) gradScale
 *   v' = b2 v + c2 g^2                   c2 = (1 - b2) gradScale^2
 *   p' = p * decay - k * m' / (sqrt(v') + eps sqrt(1 - b2^step))      k = lr sqrt(1 - b2^step) / (1 - b1^step)
 * The same values up to float rounding (checked against torch over three steps in test/nn/policy_golden.test.ts).
 */
export function emitAdamW(t: Tape, slots: readonly AdamWSlot[], step: Value, lr: Value, config: AdamWConfig, gradScale?: Value): void {
  const [b1, b2] = config.betas;
  const scalar = (op: string, inputs: Value[]): Value => t.emit(op, inputs, { shape: [] });
  // Scalars shared by all parameters.
  const bias1 = scalar('Sub', [t.scalar(1), scalar('Pow', [t.scalar(b1), step])]);
  const sqrtBias2 = scalar('Sqrt', [scalar('Sub', [t.scalar(1), scalar('Pow', [t.scalar(b2), step])])]);
  const k = scalar('Div', [scalar('Mul', [lr, sqrtBias2]), bias1]);
  const epsHat = scalar('Mul', [sqrtBias2, t.scalar(config.eps)]);
  const c1 = gradScale ? scalar('Mul', [gradScale, t.scalar(1 - b1)]) : t.scalar(1 - b1);
  const c2 = gradScale ? scalar('Mul', [scalar('Mul', [gradScale, gradScale]), t.scalar(1 - b2)]) : t.scalar(1 - b2);
  const decayFactor = scalar('Sub', [t.scalar(1), scalar('Mul', [lr, t.scalar(config.weightDecay)])]);

  for (const s of slots) {
    const shape = s.param.shape;
    const op = (type: string, inputs: Value[], name?: string): Value => t.emit(type, inputs, { shape, ...(name ? { name } : {}) });
    const m = op('Add', [op('Mul', [s.m, t.scalar(b1)]), op('Mul', [s.grad, c1])], s.outM);
    const v = op('Add', [op('Mul', [s.v, t.scalar(b2)]), op('Mul', [op('Mul', [s.grad, s.grad]), c2])], s.outV);
    const update = op('Mul', [op('Div', [m, op('Add', [op('Sqrt', [v]), epsHat])]), k]);
    const p = s.weightDecay && config.weightDecay > 0 ? op('Mul', [s.param, decayFactor]) : s.param;
    op('Sub', [p, update], s.outParam);
  }
}

/** Global gradient norm n = sqrt(sum_p |g_p|^2) as a scalar. */
export function emitGlobalNorm(t: Tape, grads: readonly Value[], name: string): Value {
  const squares = grads.map((g) => t.emit('ReduceSumSquare', [g], { shape: [], attrs: { keepdims: { kind: 'int', value: 0 } } }));
  const total = squares.length === 1 ? (squares[0] as Value) : t.emit('Sum', squares, { shape: [] });
  return t.emit('Sqrt', [total], { shape: [], name });
}

/**
 * Global-norm clipping's coefficient as torch.nn.utils.clip_grad_norm_: min(1, maxNorm / (n + 1e-6)),
 * a scalar for `emitAdamW`'s gradScale (torch multiplies every gradient by it).
 */
export function emitClipCoefficient(t: Tape, norm: Value, maxNorm: number): Value {
  const coef = t.emit('Div', [t.scalar(maxNorm), t.emit('Add', [norm, t.scalar(1e-6)], { shape: [] })], { shape: [] });
  return t.emit('Min', [coef, t.scalar(1)], { shape: [] });
}
