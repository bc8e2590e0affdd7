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
 * Emits one AdamW update per slot, the same arithmetic as torch.optim.AdamW (single-tensor
 * path), with `step` the 1-based count of this update and `lr` graph scalars:
 *   p  <- p * (1 - lr * wd)                        (decoupled decay, only where weightDecay)
 *   m  <- b1 m + (1 - b1) g
 *   v  <- b2 v + (1 - b2) g^2
 *   p  <- p - (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)
 */
export function emitAdamW(t: Tape, slots: readonly AdamWSlot[], step: Value, lr: Value, config: AdamWConfig): void {
  const [b1, b2] = config.betas;
  const scalar = (op: string, inputs: Value[]): Value => t.emit(op, inputs, { shape: [] });
  // Scalars shared by all parameters.
  const bias1 = scalar('Sub', [t.scalar(1), scalar('Pow', [t.scalar(b1), step])]);
  const bias2 = scalar('Sub', [t.scalar(1), scalar('Pow', [t.scalar(b2), step])]);
  const stepSize = scalar('Div', [lr, bias1]);
  const invSqrtBias2 = scalar('Reciprocal', [scalar('Sqrt', [bias2])]);
  const decayFactor = scalar('Sub', [t.scalar(1), scalar('Mul', [lr, t.scalar(config.weightDecay)])]);

  for (const s of slots) {
    const shape = s.param.shape;
    const op = (type: string, inputs: Value[], name?: string): Value => t.emit(type, inputs, { shape, ...(name ? { name } : {}) });
    const p = s.weightDecay && config.weightDecay > 0 ? op('Mul', [s.param, decayFactor]) : s.param;
    const m = op('Add', [op('Mul', [s.m, t.scalar(b1)]), op('Mul', [s.grad, t.scalar(1 - b1)])], s.outM);
    const g2 = op('Mul', [s.grad, s.grad]);
    const v = op('Add', [op('Mul', [s.v, t.scalar(b2)]), op('Mul', [g2, t.scalar(1 - b2)])], s.outV);
    const denom = op('Add', [op('Mul', [op('Sqrt', [v]), invSqrtBias2]), t.scalar(config.eps)]);
    const update = op('Mul', [op('Div', [m, denom]), stepSize]);
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
 * Global-norm clipping as torch.nn.utils.clip_grad_norm_: g_p <- g_p * min(1, maxNorm / (n + 1e-6)).
 * Returns the clipped gradients in the same order.
 */
export function emitClipByGlobalNorm(t: Tape, grads: readonly Value[], norm: Value, maxNorm: number): Value[] {
  const coef = t.emit('Div', [t.scalar(maxNorm), t.emit('Add', [norm, t.scalar(1e-6)], { shape: [] })], { shape: [] });
  const clamped = t.emit('Min', [coef, t.scalar(1)], { shape: [] });
  return grads.map((g) => t.emit('Mul', [g, clamped], { shape: g.shape }));
}
