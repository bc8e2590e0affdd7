import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { TIME_MIN, eulerTimes, interpolate, sampleBeta, sampleFlowTime, sampleGamma } from '../../src/train/flow_matching.ts';

function moments(draw: () => number, n: number): { mean: number; variance: number; min: number; max: number } {
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = draw();
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / n;
  return { mean, variance: s2 / n - mean * mean, min, max };
}

describe('flow-matching time sampling', () => {
  it('Gamma(k) has mean k and variance k (shapes below and above 1)', () => {
    const rng = new Rng(1);
    for (const k of [0.5, 1, 1.5, 4]) {
      const m = moments(() => sampleGamma(rng, k), 100_000);
      expect(m.mean).toBeCloseTo(k, 1);
      expect(Math.abs(m.variance - k) / k).toBeLessThan(0.05);
    }
  });

  it('Beta(1.5, 1) matches its analytic moments (pi0 time distribution)', () => {
    const rng = new Rng(2);
    const [a, b] = [1.5, 1];
    const m = moments(() => sampleBeta(rng, a, b), 200_000);
    const mean = a / (a + b); // 0.6
    const variance = (a * b) / ((a + b) ** 2 * (a + b + 1)); // 0.0686
    // Standard error of the mean: sqrt(0.0686 / 2e5) = 5.9e-4; 4 sigma.
    expect(Math.abs(m.mean - mean)).toBeLessThan(2.4e-3);
    expect(Math.abs(m.variance - variance) / variance).toBeLessThan(0.02);
    expect(m.min).toBeGreaterThanOrEqual(0);
    expect(m.max).toBeLessThanOrEqual(1);
    // The CDF of Beta(1.5, 1) is x^1.5: P(x < 0.5) = 0.354.
    let below = 0;
    for (let i = 0; i < 100_000; i++) if (sampleBeta(rng, a, b) < 0.5) below++;
    expect(below / 100_000).toBeCloseTo(0.5 ** 1.5, 2);
  });

  it('training times lie in [0.001, 1] (pi0: 0.001 + 0.999 Beta)', () => {
    const rng = new Rng(3);
    const m = moments(() => sampleFlowTime(rng, 1.5, 1), 50_000);
    expect(m.min).toBeGreaterThanOrEqual(TIME_MIN);
    expect(m.max).toBeLessThanOrEqual(1);
    expect(m.mean).toBeCloseTo(TIME_MIN + (1 - TIME_MIN) * 0.6, 2);
  });
});

describe('pi0 interpolation and Euler times', () => {
  it('x_t = t noise + (1 - t) action and u = noise - action', () => {
    const action = [1, -2, 0.5];
    const noise = [0, 1, -1];
    const xT = new Float32Array(3);
    const u = new Float32Array(3);
    interpolate(action, noise, 0.25, xT, u);
    expect([...xT]).toEqual([0.75, -1.25, 0.125].map(Math.fround));
    expect([...u]).toEqual([-1, 3, -1.5]);
    // The endpoints: t = 1 gives the noise, t = 0 the action.
    interpolate(action, noise, 1, xT, u);
    expect([...xT]).toEqual(noise);
    interpolate(action, noise, 0, xT, u);
    expect([...xT]).toEqual(action.map(Math.fround));
  });

  it('a constant velocity field integrates exactly: x_0 = x_1 - c', () => {
    // With v = c everywhere, K Euler steps of dt = -1/K move x by -c in total.
    const { times, dt } = eulerTimes(10);
    let x = 3;
    for (const _ of times) x = Math.fround(x + Math.fround(dt * 2));
    expect(x).toBeCloseTo(1, 5);
  });

  it('times run 1, 0.9, ... 0.1 in fp32 accumulation', () => {
    const { times, dt } = eulerTimes(10);
    expect(dt).toBe(Math.fround(-0.1));
    expect(times[0]).toBe(1);
    expect(times).toHaveLength(10);
    for (const [k, t] of times.entries()) {
      expect(t).toBe(Math.fround(t));
      expect(Math.abs(t - (1 - k / 10))).toBeLessThan(1e-6);
    }
    expect(() => eulerTimes(0)).toThrow(/positive integer/);
  });
});
