import { elemTypeCode } from '../onnx_builder.ts';
import type { Tape, Value } from '../tape.ts';

export interface SinusoidalOptions {
  /** Shortest period of the sin/cos features. @default 4e-3 (pi0's `create_sinusoidal_pos_embedding`) */
  readonly minPeriod?: number;
  /** Longest period. @default 4.0 (pi0) */
  readonly maxPeriod?: number;
}

/**
 * Sin/cos time features, pi0 convention: for k = 0..D/2-1,
 *   period_k = minPeriod * (maxPeriod / minPeriod)^(k / (D/2 - 1)),  w_k = 2 pi / period_k,
 *   emb(t) = [sin(w t), cos(w t)]  ->  (B, D), time (B) in [0, 1].
 * Computed in float64 and cast to float32 at the end, as LeRobot's pi0 does: w reaches
 * 2 pi / 4e-3 = 1571 rad, and rounding w and w t to float32 alone moves the argument by
 * ~1e-4 rad (measured 3.7e-5 relative error on the features against an fp64 reference).
 * No gradient flows to `time` (it is data, never a parameter); asking for one is an error
 * rather than a silently missing gradient.
 */
export function sinusoidalEmbedding(t: Tape, time: Value, dim: number, options: SinusoidalOptions = {}): Value {
  if (time.requiresGrad) throw new Error(`sinusoidalEmbedding: '${time.name}' requires grad, which this op does not provide`);
  if (time.shape.length !== 1) throw new Error(`sinusoidalEmbedding: time must be (B), got [${time.shape}]`);
  if (dim % 2 !== 0 || dim < 4) throw new Error(`sinusoidalEmbedding: dim must be even and >= 4, got ${dim}`);
  const half = dim / 2;
  const minPeriod = options.minPeriod ?? 4e-3;
  const maxPeriod = options.maxPeriod ?? 4.0;
  const freqs = Float64Array.from({ length: half }, (_, k) => (2 * Math.PI) / (minPeriod * (maxPeriod / minPeriod) ** (k / (half - 1))));
  const b = time.shape[0] as number;
  const DOUBLE = elemTypeCode('float64');
  const FLOAT = elemTypeCode('float32');
  const col = t.emit('Unsqueeze', [time, t.constInt64([1])], { shape: [b, 1] });
  const col64 = t.emit('Cast', [col], { shape: [b, 1], dtype: 'float64', attrs: { to: { kind: 'int', value: DOUBLE } } });
  const arg = t.emit('Mul', [col64, t.graph.constDouble(freqs, [1, half])], { shape: [b, half], dtype: 'float64' });
  const sin = t.emit('Sin', [arg], { shape: [b, half], dtype: 'float64' });
  const cos = t.emit('Cos', [arg], { shape: [b, half], dtype: 'float64' });
  const emb64 = t.emit('Concat', [sin, cos], { shape: [b, dim], dtype: 'float64', attrs: { axis: { kind: 'int', value: 1 } } });
  return t.emit('Cast', [emb64], { shape: [b, dim], attrs: { to: { kind: 'int', value: FLOAT } } });
}
