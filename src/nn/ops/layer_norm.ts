import type { Tape, Value } from '../tape.ts';

/**
 * LayerNorm over the last axis: y = xhat * gamma + beta, xhat = (x - mean) * r,
 * r = 1 / sqrt(var + eps) (biased variance, as torch.nn.LayerNorm). x (..., D).
 * In training graphs the forward also takes LayerNormalization's optional Mean and
 * InvStdDev outputs (shape (..., 1)), so backward need not recompute the statistics:
 *   dbeta  = sum_{...} g
 *   dgamma = sum_{...} g * xhat
 *   dx     = r * (dxhat - mean_D(dxhat) - xhat * mean_D(dxhat * xhat)),  dxhat = g * gamma
 */
export function layerNorm(t: Tape, x: Value, gamma: Value, beta: Value, eps = 1e-5): Value {
  const d = x.shape[x.shape.length - 1] as number;
  const statShape = [...x.shape.slice(0, -1), 1];
  const attrs = { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: eps } } as const;
  const outputs = t.training ? [{ shape: x.shape }, { shape: statShape }, { shape: statShape }] : [{ shape: x.shape }];
  const [y, mean, invStd] = t.emitMulti('LayerNormalization', [x, gamma, beta], outputs, attrs) as [Value, Value?, Value?];

  return t.record(y, [x, gamma, beta], (g) => {
    if (!mean || !invStd) throw new Error('layerNorm: statistics missing in a training graph');
    const s = x.shape;
    const xhat = t.emit('Mul', [t.emit('Sub', [x, mean], { shape: s }), invStd], { shape: s });
    const leadingAxes = s.slice(0, -1).map((_, i) => i);
    const sumLeading = (v: Value): Value =>
      t.emit('ReduceSum', [v, t.constInt64(leadingAxes)], { shape: [d], attrs: { keepdims: { kind: 'int', value: 0 } } });
    if (beta.requiresGrad) t.addGrad(beta, sumLeading(g));
    if (gamma.requiresGrad) t.addGrad(gamma, sumLeading(t.emit('Mul', [g, xhat], { shape: s })));
    if (x.requiresGrad) {
      const meanLast = (v: Value): Value =>
        t.emit('ReduceMean', [v], { shape: statShape, attrs: { axes: { kind: 'ints', value: [s.length - 1] }, keepdims: { kind: 'int', value: 1 } } });
      const dxhat = t.emit('Mul', [g, gamma], { shape: s });
      const m1 = meanLast(dxhat);
      const m2 = meanLast(t.emit('Mul', [dxhat, xhat], { shape: s }));
      const centered = t.emit('Sub', [t.emit('Sub', [dxhat, m1], { shape: s }), t.emit('Mul', [xhat, m2], { shape: s })], { shape: s });
      t.addGrad(x, t.emit('Mul', [centered, invStd], { shape: s }));
    }
  });
}
