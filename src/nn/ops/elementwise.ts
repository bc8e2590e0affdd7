import type { Tape, Value } from '../tape.ts';
import { broadcastShape, sumToShape } from './broadcast.ts';

/**
 * Elementwise binary ops with NumPy broadcasting. Backward (z = op(a, b), gradient g):
 *   add: da = g,         db = g
 *   sub: da = g,         db = -g
 *   mul: da = g * b,     db = g * a
 *   div: da = g / b,     db = -g * a / b^2 = -(g * z) / b
 * each summed back to its input's shape where broadcasting stretched it.
 */
function binary(
  t: Tape,
  opType: 'Add' | 'Sub' | 'Mul' | 'Div',
  a: Value,
  b: Value,
  grads: (g: Value, z: Value) => { da?: () => Value; db?: () => Value },
): Value {
  const shape = broadcastShape(a.shape, b.shape);
  const z = t.emit(opType, [a, b], { shape });
  return t.record(z, [a, b], (g) => {
    const { da, db } = grads(g, z);
    if (a.requiresGrad && da) t.addGrad(a, sumToShape(t, da(), a.shape));
    if (b.requiresGrad && db) t.addGrad(b, sumToShape(t, db(), b.shape));
  });
}

export function add(t: Tape, a: Value, b: Value): Value {
  return binary(t, 'Add', a, b, (g) => ({ da: () => g, db: () => g }));
}

export function sub(t: Tape, a: Value, b: Value): Value {
  return binary(t, 'Sub', a, b, (g) => ({ da: () => g, db: () => t.emit('Neg', [g], { shape: g.shape }) }));
}

export function mul(t: Tape, a: Value, b: Value): Value {
  return binary(t, 'Mul', a, b, (g) => ({
    da: () => t.emit('Mul', [g, b], { shape: g.shape }),
    db: () => t.emit('Mul', [g, a], { shape: g.shape }),
  }));
}

export function div(t: Tape, a: Value, b: Value): Value {
  return binary(t, 'Div', a, b, (g, z) => ({
    da: () => t.emit('Div', [g, b], { shape: g.shape }),
    db: () => {
      const gz = t.emit('Mul', [g, z], { shape: g.shape });
      return t.emit('Neg', [t.emit('Div', [gz, b], { shape: g.shape })], { shape: g.shape });
    },
  }));
}

/** x * c for a constant c; backward dx = g * c. */
export function scale(t: Tape, x: Value, c: number): Value {
  const k = t.scalar(c);
  const y = t.emit('Mul', [x, k], { shape: x.shape });
  return t.record(y, [x], (g) => t.addGrad(x, t.emit('Mul', [g, k], { shape: x.shape })));
}
