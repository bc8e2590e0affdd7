import type { Tape, Value } from '../tape.ts';
import { normalizeAxis } from './axes.ts';

/**
 * Softmax and log-softmax along one axis (default last). Backward with g:
 *   softmax:     dx = y * (g - sum_axis(g * y))
 *   logSoftmax:  dx = g - exp(y) * sum_axis(g)
 */

function sumKeep(t: Tape, v: Value, axis: number): Value {
  const shape = v.shape.map((d, i) => (i === axis ? 1 : d));
  return t.emit('ReduceSum', [v, t.constInt64([axis])], { shape, attrs: { keepdims: { kind: 'int', value: 1 } } });
}

export function softmax(t: Tape, x: Value, axis = -1): Value {
  const a = normalizeAxis(axis, x.shape.length, 'softmax');
  const y = t.emit('Softmax', [x], { shape: x.shape, attrs: { axis: { kind: 'int', value: a } } });
  return t.record(y, [x], (g) => {
    const gy = t.emit('Mul', [g, y], { shape: x.shape });
    const centered = t.emit('Sub', [g, sumKeep(t, gy, a)], { shape: x.shape });
    t.addGrad(x, t.emit('Mul', [y, centered], { shape: x.shape }));
  });
}

export function logSoftmax(t: Tape, x: Value, axis = -1): Value {
  const a = normalizeAxis(axis, x.shape.length, 'logSoftmax');
  const y = t.emit('LogSoftmax', [x], { shape: x.shape, attrs: { axis: { kind: 'int', value: a } } });
  return t.record(y, [x], (g) => {
    const p = t.emit('Exp', [y], { shape: x.shape });
    const pSum = t.emit('Mul', [p, sumKeep(t, g, a)], { shape: x.shape });
    t.addGrad(x, t.emit('Sub', [g, pSum], { shape: x.shape }));
  });
}
