import type { Tape, Value } from '../tape.ts';
import { div, mul, scale, sub } from './elementwise.ts';
import { reduceMean, reduceSum } from './reduce.ts';
import { logSoftmax } from './softmax.ts';

/**
 * Losses as compositions of taped ops (so their gradients come from already-checked
 * backward rules). Per-sample terms return (B); weighting and filtering stay outside
 * (`weightedMean`), as LeRobot's `forward(reduction="none")`.
 */

/** mse_i = mean over non-batch dims of (pred - target)^2 -> (B). */
export function msePerSample(t: Tape, pred: Value, target: Value): Value {
  if (pred.shape.join(',') !== target.shape.join(',')) throw new Error(`msePerSample: pred [${pred.shape}] vs target [${target.shape}]`);
  const d = sub(t, pred, target);
  const sq = mul(t, d, d);
  if (sq.shape.length === 1) return sq;
  return reduceMean(t, sq, sq.shape.slice(1).map((_, i) => i + 1));
}

/** ce_i = -sum_k q_ik log softmax(z_i)_k for logits z (B, K) and target probabilities q (B, K) -> (B). */
export function crossEntropyPerSample(t: Tape, logits: Value, targetProbs: Value): Value {
  if (logits.shape.join(',') !== targetProbs.shape.join(',')) {
    throw new Error(`crossEntropyPerSample: logits [${logits.shape}] vs targets [${targetProbs.shape}]`);
  }
  const logp = logSoftmax(t, logits, -1);
  return scale(t, reduceSum(t, mul(t, targetProbs, logp), [-1]), -1);
}

/** loss = sum_i w_i l_i / sum_i w_i for per-sample l (B) and weights w (B) -> scalar []. */
export function weightedMean(t: Tape, perSample: Value, weights: Value): Value {
  if (perSample.shape.length !== 1 || weights.shape.join(',') !== perSample.shape.join(',')) {
    throw new Error(`weightedMean: per-sample [${perSample.shape}] and weights [${weights.shape}] must both be (B)`);
  }
  return div(t, reduceSum(t, mul(t, weights, perSample), [0]), reduceSum(t, weights, [0]));
}
