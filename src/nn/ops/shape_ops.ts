import type { Tape, Value } from '../tape.ts';
import { normalizeAxis } from './axes.ts';

/**
 * Data movement ops. Backward:
 *   reshape:   dx = reshape(g, x.shape)
 *   transpose: dx = transpose(g, inverse(perm))
 *   concat:    dx_i = split(g, sizes, axis)[i]
 *   slice:     dx = pad(g, zeros before `start` and after `end` on the axis)
 */

/**
 * Reshape with ONNX semantics: 0 copies the input dim at that position, one -1 is inferred.
 * Keep dim 0 as 0 or -1 in forward code so the graph stays batch-agnostic.
 */
export function reshape(t: Tape, x: Value, shape: readonly number[]): Value {
  const size = x.shape.reduce((a, b) => a * b, 1);
  const resolved = shape.map((d, i) => (d === 0 ? (x.shape[i] as number) : d));
  const known = resolved.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = resolved.map((d) => (d === -1 ? size / known : d));
  if (out.reduce((a, b) => a * b, 1) !== size || !out.every(Number.isInteger)) {
    throw new Error(`reshape: cannot reshape [${x.shape}] to [${shape}]`);
  }
  const y = t.emit('Reshape', [x, t.constInt64([...shape])], { shape: out });
  return t.record(y, [x], (g) => t.addGrad(x, t.emit('Reshape', [g, t.constInt64([...x.shape])], { shape: x.shape })));
}

export function transpose(t: Tape, x: Value, perm: readonly number[]): Value {
  if (perm.length !== x.shape.length) throw new Error(`transpose: perm [${perm}] does not match rank of [${x.shape}]`);
  const shape = perm.map((p) => x.shape[p] as number);
  const y = t.emit('Transpose', [x], { shape, attrs: { perm: { kind: 'ints', value: perm } } });
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return t.record(y, [x], (g) => t.addGrad(x, t.emit('Transpose', [g], { shape: x.shape, attrs: { perm: { kind: 'ints', value: inverse } } })));
}

export function concat(t: Tape, xs: readonly Value[], axis: number): Value {
  const first = xs[0];
  if (!first) throw new Error('concat: no inputs');
  const a = normalizeAxis(axis, first.shape.length, 'concat');
  for (const x of xs) {
    if (x.shape.length !== first.shape.length || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: input '${x.name}' [${x.shape}] does not match [${first.shape}] outside axis ${a}`);
    }
  }
  const sizes = xs.map((x) => x.shape[a] as number);
  const shape = first.shape.map((d, i) => (i === a ? sizes.reduce((p, q) => p + q, 0) : d));
  const y = t.emit('Concat', xs, { shape, attrs: { axis: { kind: 'int', value: a } } });
  return t.record(y, xs, (g) => {
    const parts = t.emitMulti('Split', [g, t.constInt64(sizes)], xs.map((x) => ({ shape: x.shape })), { axis: { kind: 'int', value: a } });
    xs.forEach((x, i) => t.addGrad(x, parts[i] as Value));
  });
}

/** x[..., start:end, ...] on one axis (step 1). */
export function slice(t: Tape, x: Value, axis: number, start: number, end: number): Value {
  const a = normalizeAxis(axis, x.shape.length, 'slice');
  const dim = x.shape[a] as number;
  if (!(start >= 0 && start < end && end <= dim)) throw new Error(`slice: [${start}, ${end}) is not inside axis ${a} of size ${dim}`);
  const shape = x.shape.map((d, i) => (i === a ? end - start : d));
  const y = t.emit('Slice', [x, t.constInt64([start]), t.constInt64([end]), t.constInt64([a])], { shape });
  return t.record(y, [x], (g) => {
    const rank = x.shape.length;
    const pads = new Array<number>(2 * rank).fill(0);
    pads[a] = start;
    pads[rank + a] = dim - end;
    t.addGrad(x, t.emit('Pad', [g, t.constInt64(pads)], { shape: x.shape }));
  });
}
