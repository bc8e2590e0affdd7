import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { readBundleWeights, seedParamsFromBundle } from '../../src/train/init_from_bundle.ts';
import { flowPolicyModel } from '../../src/train/model.ts';
import { train } from '../../src/train/train.ts';
import { recordReachDataset, tempDir, tinyConfig } from './helpers.ts';

/** `flowsteer train --init-from DIR`: fine-tuning starts from a bundle's weights. */
const tmp = tempDir();
let data: string;
let base: string;
beforeAll(async () => {
  data = await recordReachDataset(join(tmp.dir, 'reach'), 3);
  base = join(tmp.dir, 'base');
  await train({ dataDir: data, outDir: base, config: tinyConfig({ steps: 20 }), quiet: true });
}, 40_000);
afterAll(() => tmp.cleanup());

describe('fine-tuning from a bundle (src/train/init_from_bundle.ts)', () => {
  it("reads every exported parameter with its shape; the training-only subgoal head is not among them", () => {
    const config = tinyConfig();
    const { params, manifest } = readBundleWeights(base);
    const model = flowPolicyModel(config.policy, { stateDim: 7, actionDim: 7, cameras: manifest.cameras.map((c) => ({ ...c })), vocabSize: manifest.tokenizer.vocab.length });
    const specs = new Map(model.paramSpecs.map((s) => [s.name, s.shape]));
    expect(params.size).toBeGreaterThan(5);
    for (const [name, w] of params) expect(w.shape, name).toEqual(specs.get(name));
    const missing = model.paramSpecs.filter((s) => !params.has(s.name)).map((s) => s.name);
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((n) => n.startsWith('subgoal'))).toBe(true);
  });

  it('a run seeded from the bundle starts where the bundle is: with a negligible lr it exports the same policy', async () => {
    const out = join(tmp.dir, 'tuned');
    // lr 1e-12 and no EMA: one step moves no weight measurably, so the export must sample like the base.
    await train({ dataDir: data, outDir: out, config: tinyConfig({ steps: 1, lr: 1e-12, warmupSteps: 0, emaDecay: 0, valFraction: 0 }), initFrom: base, quiet: true });
    const [a, b] = await Promise.all([OnnxPolicy.load(base), OnnxPolicy.load(out)]);
    try {
      expect(b.manifest.normalization).toEqual(a.manifest.normalization);
      expect(b.manifest.tokenizer.vocab).toEqual(a.manifest.tokenizer.vocab);
      const rng = new Rng(3);
      const obs = [{ state: Float32Array.from({ length: 7 }, () => rng.normal() * 0.3), images: { front: { width: 16, height: 16, rgb: Uint8Array.from({ length: 16 * 16 * 3 }, () => rng.int(256)) } }, task: a.manifest.tokenizer.vocab.slice(2, 6).join(' ') }];
      const noise = a.drawNoise(1, new Rng(9));
      const diff = Math.max(...a.sample(obs, noise).map((x, i) => Math.abs(x - b.sample(obs, noise)[i]!)));
      expect(diff).toBeLessThan(1e-5);
      // ... and differs from a freshly initialised run (the seeding did something).
      const fresh = join(tmp.dir, 'fresh');
      await train({ dataDir: data, outDir: fresh, config: tinyConfig({ steps: 1, lr: 1e-12, warmupSteps: 0, emaDecay: 0, valFraction: 0, seed: 5 }), quiet: true });
      const c = await OnnxPolicy.load(fresh);
      const freshDiff = Math.max(...a.sample(obs, noise).map((x, i) => Math.abs(x - c.sample(obs, noise)[i]!)));
      c.dispose();
      expect(freshDiff).toBeGreaterThan(1e-3);
    } finally {
      a.dispose();
      b.dispose();
    }
  }, 40_000);

  it('a bundle of another architecture, or --init-from with --resume, is a clear error', async () => {
    const wider = tinyConfig({ policy: { head: { hidden: 48, depth: 2, timeDim: 8 } } });
    const { manifest } = readBundleWeights(base);
    const model = flowPolicyModel(wider.policy, { stateDim: 7, actionDim: 7, cameras: manifest.cameras.map((c) => ({ ...c })), vocabSize: manifest.tokenizer.vocab.length });
    expect(() => seedParamsFromBundle(model.paramSpecs, model.initParams(new Rng(0)), readBundleWeights(base), base)).toThrow(/do not fit the configured network[\s\S]*head.*in the bundle, \[/);
    await expect(train({ dataDir: data, outDir: join(tmp.dir, 'x'), config: tinyConfig(), initFrom: base, resume: true, quiet: true })).rejects.toThrow(/--init-from starts a new run/);
    expect(() => readBundleWeights(join(tmp.dir, 'nope'))).toThrow(/not a directory/);
  });
});
