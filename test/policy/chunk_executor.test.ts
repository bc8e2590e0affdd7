import { describe, it, expect } from 'vitest';
import { ChunkExecutor, ChunkExecutorConfigSchema, temporalEnsembleWeights } from '../../src/policy/chunk_executor.ts';
import { episodeNoiseSeed, onnxEpisodePolicy, assertPolicyFitsEnv } from '../../src/policy/policy_adapter.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import type { Observation } from '../../src/core/observation.ts';
import { Rng } from '../../src/core/rng.ts';
import { writeSyntheticBundle } from './synthetic_bundle.ts';

/** A chunk whose action h, dim d is `base + 10 * h + d` (so every value says where it came from). */
const chunk = (H: number, A: number, base: number) => Float32Array.from({ length: H * A }, (_, i) => base + 10 * Math.floor(i / A) + (i % A));

describe('ChunkExecutor config', () => {
  it('defaults: receding horizon executing H/2; temporal ensembling executes 1', () => {
    expect(ChunkExecutorConfigSchema.parse({ chunkSize: 16, actionDim: 7 }).nActionSteps).toBe(8);
    expect(ChunkExecutorConfigSchema.parse({ chunkSize: 1, actionDim: 7 }).nActionSteps).toBe(1);
    expect(ChunkExecutorConfigSchema.parse({ chunkSize: 16, actionDim: 7, temporalEnsembleCoeff: 0.01 }).nActionSteps).toBe(1);
  });

  it.each([
    [{ nActionSteps: 17 }, /nActionSteps: must be <= chunkSize \(16\), got 17/],
    [{ temporalEnsembleCoeff: 0.01, nActionSteps: 4 }, /nActionSteps: temporal ensembling queries every step: nActionSteps must be 1, got 4/],
    [{ temporalEnsembleCoeff: 0.01, smoothingSteps: 2 }, /smoothingSteps: boundary smoothing applies to receding horizon only/],
    [{ nActionSteps: 2, smoothingSteps: 3 }, /smoothingSteps: must be <= nActionSteps \(2\), got 3/],
    [{ positionLimits: { lower: [0, 0], upper: [1, 1, 1] } }, /positionLimits: lower has 2 values, expected actionDim = 3/],
    [{ positionLimits: { lower: [0, 2, null], upper: [1, 1, 1] } }, /positionLimits: dim 1: upper 1 < lower 2/],
    [{ maxDelta: [0.1, 0, null] }, /maxDelta: dim 1: must be > 0 or null, got 0/],
    [{ typo: 1 }, /typo/],
  ])('rejects %o', (extra, pattern) => {
    expect(() => new ChunkExecutor({ chunkSize: 16, actionDim: 3, ...extra } as never)).toThrow(pattern);
  });
});

describe('receding horizon', () => {
  it('executes n of each chunk, then asks for a new one', () => {
    const ex = new ChunkExecutor({ chunkSize: 4, actionDim: 2, nActionSteps: 3 });
    ex.reset();
    const out: number[][] = [];
    const queriedAt: number[] = [];
    for (let t = 0; t < 7; t++) {
      if (ex.needsChunk) {
        queriedAt.push(t);
        ex.push(chunk(4, 2, 100 * t));
      }
      out.push(Array.from(ex.next()));
    }
    expect(queriedAt).toEqual([0, 3, 6]);
    // step t executes row (t - query step) of the chunk queried at that step
    expect(out).toEqual([[0, 1], [10, 11], [20, 21], [300, 301], [310, 311], [320, 321], [600, 601]]);
  });

  it('n = H executes whole chunks; act() queries only when due; reset starts over', () => {
    const ex = new ChunkExecutor({ chunkSize: 2, actionDim: 1, nActionSteps: 2 });
    ex.reset();
    let calls = 0;
    const got = Array.from({ length: 5 }, () => ex.act(() => chunk(2, 1, 100 * calls++))[0]);
    expect(got).toEqual([0, 10, 100, 110, 200]);
    expect(calls).toBe(3);
    ex.reset();
    expect(ex.needsChunk).toBe(true);
    expect(ex.step).toBe(0);
    expect(() => ex.next()).toThrow(/no planned action left/);
  });

  it('smoothing blends the first k actions of a new chunk from the previous chunk', () => {
    const ex = new ChunkExecutor({ chunkSize: 4, actionDim: 1, nActionSteps: 2, smoothingSteps: 2 });
    ex.reset();
    ex.push(Float32Array.from([0, 1, 2, 3]));
    const out = [ex.next()[0], ex.next()[0]];
    ex.push(Float32Array.from([10, 20, 30, 40]));
    out.push(ex.next()[0], ex.next()[0]);
    // previous chunk's unexecuted actions at these steps: 2, 3; alpha = 1/3, 2/3
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(1);
    expect(out[2]).toBeCloseTo((2 / 3) * 2 + (1 / 3) * 10, 5);
    expect(out[3]).toBeCloseTo((1 / 3) * 3 + (2 / 3) * 20, 5);
    // past the blend the new chunk runs unchanged
    ex.push(Float32Array.from([100, 200, 300, 400]));
    // previous chunk (10, 20, 30, 40) had 30, 40 left
    expect(ex.next()[0]).toBeCloseTo((2 / 3) * 30 + (1 / 3) * 100, 4);
  });

  it('smoothing holds the previous chunk\'s last action when it has fewer left than k', () => {
    const ex = new ChunkExecutor({ chunkSize: 2, actionDim: 1, nActionSteps: 2, smoothingSteps: 2 });
    ex.reset();
    ex.push(Float32Array.from([0, 6]));
    ex.next();
    ex.next();
    ex.push(Float32Array.from([12, 12]));
    expect(ex.next()[0]).toBeCloseTo((2 / 3) * 6 + (1 / 3) * 12, 5); // 8
    expect(ex.next()[0]).toBeCloseTo((1 / 3) * 6 + (2 / 3) * 12, 5); // 10
  });
});

describe('ACT temporal ensembling', () => {
  it('weights are exp(-m i), oldest first', () => {
    expect(temporalEnsembleWeights(3, 0.01)).toEqual([1, Math.exp(-0.01), Math.exp(-0.02)]);
  });

  it('averages the overlapping predictions for the current step (hand-computed)', () => {
    const m = 0.01;
    const ex = new ChunkExecutor({ chunkSize: 3, actionDim: 1, temporalEnsembleCoeff: m });
    ex.reset();
    const chunks = [[1, 2, 3], [10, 20, 30], [100, 200, 300], [1000, 2000, 3000]];
    const out = chunks.map((c) => {
      expect(ex.needsChunk).toBe(true);
      ex.push(Float32Array.from(c));
      expect(ex.needsChunk).toBe(false);
      return ex.next()[0]!;
    });
    const w1 = Math.exp(-m);
    const w2 = Math.exp(-2 * m);
    expect(out[0]).toBe(1);
    // step 1: chunk0[1] = 2 (oldest, weight 1), chunk1[0] = 10 (weight e^-m)
    expect(out[1]).toBeCloseTo((2 + 10 * w1) / (1 + w1), 5);
    // step 2: 3, 20, 100 with weights 1, e^-m, e^-2m
    expect(out[2]).toBeCloseTo((3 + 20 * w1 + 100 * w2) / (1 + w1 + w2), 4);
    // step 3: chunk0 has expired (H = 3): 30, 200, 1000
    expect(out[3]).toBeCloseTo((30 + 200 * w1 + 1000 * w2) / (1 + w1 + w2), 3);
  });

  it('a large m trusts the oldest prediction; m = 0 is the plain mean', () => {
    const run = (m: number) => {
      const ex = new ChunkExecutor({ chunkSize: 2, actionDim: 1, temporalEnsembleCoeff: m });
      ex.reset();
      ex.push(Float32Array.from([0, 4]));
      ex.next();
      ex.push(Float32Array.from([8, 8]));
      return ex.next()[0];
    };
    expect(run(0)).toBe(6);
    expect(run(50)).toBeCloseTo(4, 6);
  });
});

describe('limits', () => {
  it('clamps positions, then limits the per-step change', () => {
    const ex = new ChunkExecutor({
      chunkSize: 4,
      actionDim: 2,
      nActionSteps: 4,
      positionLimits: { lower: [-1, null], upper: [1, null] },
      maxDelta: [0.5, null],
    });
    ex.reset([0, 0]);
    ex.push(Float32Array.from([5, 5, -5, -5, 0.2, 100, 0.3, 0]));
    const out = Array.from({ length: 4 }, () => Array.from(ex.next()));
    // dim 0: clamp 5 -> 1, step from 0 limited to 0.5; then target -1: 0.5 -> 0 (-0.5 max); then 0.2; then 0.3
    expect(out.map((a) => a[0])).toEqual([0.5, 0, 0.2, 0.3].map(Math.fround));
    // dim 1 has no limits
    expect(out.map((a) => a[1])).toEqual([5, -5, 100, 0]);
  });

  it('without a previous action the first step is only position-clamped', () => {
    const ex = new ChunkExecutor({ chunkSize: 1, actionDim: 1, maxDelta: [0.1], positionLimits: { lower: [0], upper: [2] } });
    ex.reset();
    ex.push(Float32Array.from([3]));
    expect(ex.next()[0]).toBe(2);
    ex.push(Float32Array.from([0]));
    expect(ex.next()[0]).toBeCloseTo(1.9, 6);
  });
});

describe('onnxEpisodePolicy', () => {
  const obs: Observation = { state: Float32Array.from([0.1, 0.2]), task: 'go', images: { front: { height: 8, width: 6, rgb: new Uint8Array(8 * 6 * 3) } } };

  it('seeds the noise per episode: same seed -> same actions, different seeds differ', async () => {
    const policy = await OnnxPolicy.load(writeSyntheticBundle());
    const ep = onnxEpisodePolicy(policy, { executor: { nActionSteps: 2 } });
    expect(ep.name).toBe('onnx(synthetic, n=2/4)');
    const run = (seed: number) => {
      ep.reset(seed);
      return Array.from({ length: 5 }, () => Array.from(ep.act(obs)));
    };
    const a = run(1);
    expect(run(1)).toEqual(a);
    expect(run(2)).not.toEqual(a);
    expect(episodeNoiseSeed(1)).not.toBe(1);
    // The synthetic graph returns noise - c, so the executed actions reveal which chunk rows ran.
    const c = (h: number, d: number) => 0.25 * (h * 3 + d + 1);
    ep.reset(1);
    const first = ep.act(obs);
    ep.reset(1);
    const noise = policy.drawNoise(1, new Rng(episodeNoiseSeed(1)));
    for (let d = 0; d < 3; d++) expect(first[d]).toBe(Math.fround(noise[d]! - c(0, d)));
    policy.dispose();
  });

  it('assertPolicyFitsEnv: dimension mismatches are errors, name differences warnings', async () => {
    const policy = await OnnxPolicy.load(writeSyntheticBundle());
    const env = { taskName: 't', stateNames: ['a.pos', 'b.pos'], actionNames: ['a.target', 'b.target', 'gripper.target'], cameras: ['front', 'top'] };
    const warnings: string[] = [];
    assertPolicyFitsEnv(policy.manifest, env, (w) => warnings.push(w));
    expect(warnings).toEqual([]);
    expect(() => assertPolicyFitsEnv(policy.manifest, { ...env, stateNames: ['x'] })).toThrow(/the policy's state has 2 values .* the task's has 1/);
    expect(() => assertPolicyFitsEnv(policy.manifest, { ...env, actionNames: ['x'] })).toThrow(/the policy's action has 3 values .* the task's has 1/);
    expect(() => assertPolicyFitsEnv(policy.manifest, { ...env, cameras: ['top'] })).toThrow(/needs camera\(s\) front; the task renders top/);
    assertPolicyFitsEnv(policy.manifest, { ...env, stateNames: ['q0', 'q1'] }, (w) => warnings.push(w));
    expect(warnings[0]).toMatch(/state names differ/);
    policy.dispose();
  });
});
