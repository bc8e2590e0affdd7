import type { Tape, Value } from '../tape.ts';

/**
 * Pointwise activations. Backward with upstream gradient g:
 *   relu:    dx = g * 1[x > 0]
 *   sigmoid: dx = g * s * (1 - s)
 *   silu:    y = x * s,  dx = g * s * (1 + x * (1 - s)) = g * s * (1 + x - y)   (s = sigmoid(x))
 *   gelu:    y = x * Phi(x) with the exact erf form (torch.nn.GELU() default, approximate='none'),
 *            dx = g * (Phi(x) + x * phi(x)),  Phi = 0.5 * (1 + erf(x / sqrt 2)), phi = exp(-x^2/2) / sqrt(2 pi)
 *   tanh:    dx = g * (1 - y^2)
 */

export function relu(t: Tape, x: Value): Value {
  const y = t.emit('Relu', [x], { shape: x.shape });
  return t.record(y, [x], (g) => {
    const positive = t.emit('Greater', [x, t.scalar(0)], { shape: x.shape, dtype: 'bool' });
    t.addGrad(x, t.emit('Where', [positive, g, t.scalar(0)], { shape: x.shape }));
  });
}

export function sigmoid(t: Tape, x: Value): Value {
  const s = t.emit('Sigmoid', [x], { shape: x.shape });
  return t.record(s, [x], (g) => {
    const oneMinusS = t.emit('Sub', [t.scalar(1), s], { shape: x.shape });
    const ds = t.emit('Mul', [s, oneMinusS], { shape: x.shape });
    t.addGrad(x, t.emit('Mul', [g, ds], { shape: x.shape }));
  });
}

export function silu(t: Tape, x: Value): Value {
  const s = t.emit('Sigmoid', [x], { shape: x.shape });
  const y = t.emit('Mul', [x, s], { shape: x.shape });
  return t.record(y, [x], (g) => {
    // x (1 - s) as x - y: one pass over the map fewer than Sub(1, s) then Mul(x, .).
    const onePlus = t.emit('Add', [t.emit('Sub', [x, y], { shape: x.shape }), t.scalar(1)], { shape: x.shape });
    const dydx = t.emit('Mul', [s, onePlus], { shape: x.shape });
    t.addGrad(x, t.emit('Mul', [g, dydx], { shape: x.shape }));
  });
}

export function gelu(t: Tape, x: Value): Value {
  const erf = t.emit('Erf', [t.emit('Mul', [x, t.scalar(Math.SQRT1_2)], { shape: x.shape })], { shape: x.shape });
  const cdf = t.emit('Mul', [t.emit('Add', [erf, t.scalar(1)], { shape: x.shape }), t.scalar(0.5)], { shape: x.shape });
  const y = t.emit('Mul', [x, cdf], { shape: x.shape });
  return t.record(y, [x], (g) => {
    const x2 = t.emit('Mul', [x, x], { shape: x.shape });
    const gauss = t.emit('Exp', [t.emit('Mul', [x2, t.scalar(-0.5)], { shape: x.shape })], { shape: x.shape });
    const pdf = t.emit('Mul', [gauss, t.scalar(1 / Math.sqrt(2 * Math.PI))], { shape: x.shape });
    const dydx = t.emit('Add', [cdf, t.emit('Mul', [x, pdf], { shape: x.shape })], { shape: x.shape });
    t.addGrad(x, t.emit('Mul', [g, dydx], { shape: x.shape }));
  });
}

export function tanh(t: Tape, x: Value): Value {
  const y = t.emit('Tanh', [x], { shape: x.shape });
  return t.record(y, [x], (g) => {
    const y2 = t.emit('Mul', [y, y], { shape: x.shape });
    const dydx = t.emit('Sub', [t.scalar(1), y2], { shape: x.shape });
    t.addGrad(x, t.emit('Mul', [g, dydx], { shape: x.shape }));
  });
}
