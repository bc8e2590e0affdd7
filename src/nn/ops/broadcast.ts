import type { Tape, Value } from '../tape.ts';

/** Output shape of a NumPy-style broadcast of `a` and `b` (as ONNX Add/Mul/Where do). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`broadcast: shapes [${a}] and [${b}] are incompatible`);
    out.push(Math.max(da, db));
  }
  return out;
}

/**
 * Reverses a broadcast in the backward pass: sums `g` (shaped like the broadcast result)
 * over the axes that broadcasting added or stretched, so it gets `shape` again.
 */
export function sumToShape(t: Tape, g: Value, shape: readonly number[]): Value {
  if (g.shape.join(',') === shape.join(',')) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const keptShape = g.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const summed = axes.length
    ? t.emit('ReduceSum', [g, t.constInt64(axes)], { shape: keptShape, attrs: { keepdims: { kind: 'int', value: 1 } } })
    : g;
  if (keptShape.join(',') === shape.join(',')) return summed;
  return t.emit('Reshape', [summed, t.constInt64([...shape])], { shape });
}
