import type { Tape, Value } from '../tape.ts';

/**
 * Embedding lookup: table (V, D), indices int64 (...) -> (..., D) via Gather on axis 0.
 * Backward scatters g rows back into a zero (V, D) table with ScatterND reduction='add'
 * (opset >= 16), so repeated indices accumulate:
 *   dtable[v] = sum over positions p with indices[p] = v of g[p]
 */
export function embedding(t: Tape, table: Value, indices: Value): Value {
  if (indices.dtype !== 'int64') throw new Error(`embedding: indices '${indices.name}' must be int64, got ${indices.dtype}`);
  const [vocab, dim] = table.shape as [number, number];
  const shape = [...indices.shape, dim];
  const y = t.emit('Gather', [table, indices], { shape, attrs: { axis: { kind: 'int', value: 0 } } });
  return t.record(y, [table], (g) => {
    const n = indices.shape.reduce((a, b) => a * b, 1);
    const idx = t.emit('Reshape', [indices, t.constInt64([n, 1])], { shape: [n, 1], dtype: 'int64' });
    const rows = t.emit('Reshape', [g, t.constInt64([n, dim])], { shape: [n, dim] });
    const zeros = t.emit('ConstantOfShape', [t.constInt64([vocab, dim])], {
      shape: [vocab, dim],
      attrs: { value: { kind: 'tensor', value: { dtype: 'float32', dims: [1], data: new Float32Array([0]) } } },
    });
    t.addGrad(table, t.emit('ScatterND', [zeros, idx, rows], { shape: [vocab, dim], attrs: { reduction: { kind: 'string', value: 'add' } } }));
  });
}
