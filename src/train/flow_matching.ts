import type { Rng } from '../core/rng.ts';

/**
 * Flow matching, pi0 convention (Black et al. 2024; LeRobot `pi0/modeling_pi0.py`):
 *
 *   t = 1 is noise, t = 0 is data
 *   x_t = t * noise + (1 - t) * action          interpolation
 *   u_t = noise - action                        the velocity target
 *   loss = || v_theta(x_t, t | o) - u_t ||^2    per sample, mean over (H, A)
 *   sampling: x_1 = noise; x <- x + dt * v_theta(x, t), dt = -1/K, t = 1, 1 + dt, ... (fp32)
 *
 * Training times: t = 0.001 + 0.999 * Beta(alpha, beta), pi0's Beta(1.5, 1) by default (more
 * weight on the noisy end, where the velocity decides the action's mode). The noise is always
 * an explicit argument, never drawn inside a graph.
 */

/** Offset and scale of pi0's time sampling: t = T_MIN + (1 - T_MIN) * Beta(a, b), so t > 0 strictly. */
export const TIME_MIN = 0.001;

/**
 * Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 by the boost
 * Gamma(a) = Gamma(a + 1) * U^(1/a).
 */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`sampleGamma: shape must be > 0, got ${shape}`);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.uniform();
    return sampleGamma(rng, shape + 1) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.uniform();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(alpha, beta) = X / (X + Y) with X ~ Gamma(alpha), Y ~ Gamma(beta). */
export function sampleBeta(rng: Rng, alpha: number, beta: number): number {
  const x = sampleGamma(rng, alpha);
  const y = sampleGamma(rng, beta);
  return x / (x + y);
}

/** A training time t in (0, 1]: pi0's `0.001 + 0.999 * Beta(alpha, beta)`. */
export function sampleFlowTime(rng: Rng, alpha: number, beta: number): number {
  return TIME_MIN + (1 - TIME_MIN) * sampleBeta(rng, alpha, beta);
}

/**
 * The K Euler times t_0 = 1, t_k = t_{k-1} + dt with dt = -1/K, accumulated in fp32 as pi0's
 * sampler does (`time += dt` on a float32 tensor). Returns fp32-representable numbers.
 */
export function eulerTimes(steps: number): { times: number[]; dt: number } {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`eulerTimes: steps must be a positive integer, got ${steps}`);
  const dt = Math.fround(-1 / steps);
  const times: number[] = [];
  let t = Math.fround(1);
  for (let k = 0; k < steps; k++) {
    times.push(t);
    t = Math.fround(t + dt);
  }
  return { times, dt };
}

/**
 * Fills x_t and the target u_t for one sample (flat (H*A) arrays):
 * x_t = t * noise + (1 - t) * action, u_t = noise - action.
 */
export function interpolate(action: ArrayLike<number>, noise: ArrayLike<number>, t: number, xT: Float32Array, target: Float32Array, offset = 0): void {
  for (let i = 0; i < action.length; i++) {
    const a = action[i] as number;
    const n = noise[i] as number;
    xT[offset + i] = t * n + (1 - t) * a;
    target[offset + i] = n - a;
  }
}
