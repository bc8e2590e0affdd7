import type { Tape, Value } from '../tape.ts';
import { normalizeAxis } from './axes.ts';

/**
 * Reductions. Backward broadcasts g back over the reduced axes:
 *   sum:  dx = expand(g)
 *   mean: dx = expand(g) / n          (n = number of reduced elements)
 *   globalAvgPool (B, C, H, W) -> (B, C): dx = expand(g) / (H W)
 */

function reducedShape(shape: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Reshape g to the keepdims shape, then Expand it to the input's shape (static: backward only). */
function expandBack(t: Tape, g: Value, x: Value, axes: readonly number[]): Value {
  const kept = reducedShape(x.shape, axes, true);
  const gk = g.shape.join(',') === kept.join(',') ? g : t.emit('Reshape', [g, t.constInt64(kept)], { shape: kept });
  return t.emit('Expand', [gk, t.constInt64([...x.shape])], { shape: x.shape });
}

export interface ReduceOptions {
  /** Keep reduced axes as size 1. @default false */
  readonly keepdims?: boolean;
}

export function reduceSum(t: Tape, x: Value, axes: readonly number[], options: ReduceOptions = {}): Value {
  const ax = axes.map((a) => normalizeAxis(a, x.shape.length, 'reduceSum'));
  const keepdims = options.keepdims ?? false;
  const y = t.emit('ReduceSum', [x, t.constInt64(ax)], { shape: reducedShape(x.shape, ax, keepdims), attrs: { keepdims: { kind: 'int', value: keepdims ? 1 : 0 } } });
  return t.record(y, [x], (g) => t.addGrad(x, expandBack(t, g, x, ax)));
}

export function reduceMean(t: Tape, x: Value, axes: readonly number[], options: ReduceOptions = {}): Value {
  const ax = axes.map((a) => normalizeAxis(a, x.shape.length, 'reduceMean'));
  const keepdims = options.keepdims ?? false;
  const n = ax.reduce((acc, a) => acc * (x.shape[a] as number), 1);
  const y = t.emit('ReduceMean', [x], {
    shape: reducedShape(x.shape, ax, keepdims),
    attrs: { axes: { kind: 'ints', value: ax }, keepdims: { kind: 'int', value: keepdims ? 1 : 0 } },
  });
  return t.record(y, [x], (g) => t.addGrad(x, t.emit('Mul', [expandBack(t, g, x, ax), t.scalar(1 / n)], { shape: x.shape })));
}

/** Global average pool (B, C, H, W) -> (B, C) (GlobalAveragePool + Flatten, batch-agnostic). */
export function globalAvgPool(t: Tape, x: Value): Value {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  if (x.shape.length !== 4) throw new Error(`globalAvgPool: expected (B, C, H, W), got [${x.shape}]`);
  const pooled = t.emit('GlobalAveragePool', [x], { shape: [b, c, 1, 1] });
  const y = t.emit('Flatten', [pooled], { shape: [b, c], attrs: { axis: { kind: 'int', value: 1 } } });
  return t.record(y, [x], (g) => t.addGrad(x, t.emit('Mul', [expandBack(t, g, x, [2, 3]), t.scalar(1 / (h * w))], { shape: x.shape })));
}
