import type { Tape, Value } from '../tape.ts';

/**
 * y = x W^T + b with PyTorch's weight layout W (out, in), b (out); x (..., in) -> y (..., out).
 *
 * Forward: rank-2 x is one Gemm (transB=1); higher ranks use MatMul against a transposed W
 * (batch-agnostic: no dim of x is baked into a constant).
 * Backward with g (..., out), flattened to 2-D (N, out) / x to (N, in):
 *   dx = g W            (N, in)
 *   dW = g^T x          (out, in)
 *   db = sum_N g        (out)
 */
export function linear(t: Tape, x: Value, w: Value, b?: Value): Value {
  const [outF, inF] = w.shape as [number, number];
  if (x.shape[x.shape.length - 1] !== inF) throw new Error(`linear: input [${x.shape}] does not end in ${inF} (weight '${w.name}')`);
  const shape = [...x.shape.slice(0, -1), outF];
  let y: Value;
  if (x.shape.length === 2) {
    y = t.emit('Gemm', b ? [x, w, b] : [x, w], { shape, attrs: { transB: { kind: 'int', value: 1 } } });
  } else {
    const wT = t.emit('Transpose', [w], { shape: [inF, outF], attrs: { perm: { kind: 'ints', value: [1, 0] } } });
    const xw = t.emit('MatMul', [x, wT], { shape });
    y = b ? t.emit('Add', [xw, b], { shape }) : xw;
  }
  return t.record(y, b ? [x, w, b] : [x, w], (g) => {
    const n = shape.slice(0, -1).reduce((a, c) => a * c, 1);
    const g2 = x.shape.length === 2 ? g : t.emit('Reshape', [g, t.constInt64([n, outF])], { shape: [n, outF] });
    if (x.requiresGrad) {
      const dx2 = t.emit('MatMul', [g2, w], { shape: [n, inF] });
      t.addGrad(x, x.shape.length === 2 ? dx2 : t.emit('Reshape', [dx2, t.constInt64([...x.shape])], { shape: x.shape }));
    }
    if (w.requiresGrad) {
      const x2 = x.shape.length === 2 ? x : t.emit('Reshape', [x, t.constInt64([n, inF])], { shape: [n, inF] });
      t.addGrad(w, t.emit('Gemm', [g2, x2], { shape: [outF, inF], attrs: { transA: { kind: 'int', value: 1 } } }));
    }
    if (b?.requiresGrad) {
      t.addGrad(b, t.emit('ReduceSum', [g2, t.constInt64([0])], { shape: [outF], attrs: { keepdims: { kind: 'int', value: 0 } } }));
    }
  });
}
