import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Observation } from '../../src/core/observation.ts';
import type { NormalizationSpec } from '../../src/policy/manifest.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { PolicyConfigSchema } from '../../src/train/config.ts';
import { writePolicyBundle } from '../../src/train/export.ts';
import { flowPolicyModel, type PolicyDims } from '../../src/train/model.ts';

/**
 * Our policy network (src/train/model.ts), exported as a bundle (src/train/export.ts) and run by
 * OnnxPolicy, against the PyTorch mirror of the same architecture and weights
 * (bench/policy/torch_mirror.py, the reference of `npm run bench`'s policy figures): tiny
 * policies covering spatial-softmax / average / flatten pooling, with and without FiLM, non-square cameras, every
 * normalisation mode, truncated, unknown and empty instructions. Regenerate the fixture with
 * `node --import tsx bench/policy/make_mirror_golden.ts` (needs .venv-ref).
 */

interface GoldenCase {
  name: string;
  config: Record<string, unknown>;
  dims: Omit<PolicyDims, 'vocabSize'>;
  vocab: string[];
  normalization: { state: NormalizationSpec; action: NormalizationSpec };
  params: Record<string, { shape: number[]; float32_base64: string }>;
  observations: Array<{ state: number[]; task: string; images: Record<string, string> }>;
  noise: number[];
  torch_action: number[];
  torch_action_normalized: number[];
}

const fixture = JSON.parse(readFileSync('test/bench/fixtures/torch_mirror_golden.json', 'utf8')) as { cases: GoldenCase[] };
const work = mkdtempSync(join(tmpdir(), 'flowsteer-mirror-golden-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function float32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

describe('flow policy vs its PyTorch mirror (golden)', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: same parameters, same sampled actions (< 1e-5)', async (_name, c) => {
    const cfg = PolicyConfigSchema.parse(c.config);
    const dims: PolicyDims = { ...c.dims, vocabSize: c.vocab.length };
    const model = flowPolicyModel(cfg, dims);
    expect(model.paramSpecs.map((s) => `${s.name} [${s.shape}]`).sort()).toEqual(Object.entries(c.params).map(([n, p]) => `${n} [${p.shape}]`).sort());
    const params = new Map(Object.entries(c.params).map(([n, p]) => [n, float32(p.float32_base64)]));
    const dir = join(work, c.name);
    writePolicyBundle(dir, cfg, dims, params, {
      name: c.name,
      fps: 20,
      stateNames: Array.from({ length: dims.stateDim }, (_, i) => `s${i}`),
      actionNames: Array.from({ length: dims.actionDim }, (_, i) => `a${i}`),
      normalization: c.normalization,
      vocab: c.vocab,
    });
    const cameras = new Map(c.dims.cameras.map((cam) => [cam.name, cam]));
    const observations: Observation[] = c.observations.map((o) => ({
      state: Float32Array.from(o.state),
      task: o.task,
      images: Object.fromEntries(Object.entries(o.images).map(([name, b64]) => [name, { width: cameras.get(name)!.width, height: cameras.get(name)!.height, rgb: new Uint8Array(Buffer.from(b64, 'base64')) }])),
    }));
    const policy = await OnnxPolicy.load(dir);
    try {
      const action = policy.sample(observations, Float32Array.from(c.noise));
      expect(action.length).toBe(c.torch_action.length);
      const diff = action.reduce((m, v, i) => Math.max(m, Math.abs(v - c.torch_action[i]!)), 0);
      console.log(`${c.name}: max |ours - torch| = ${diff.toExponential(2)} over ${action.length} action values`);
      expect(diff).toBeLessThan(1e-5);
    } finally {
      policy.dispose();
    }
  });
});
