import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { Rng } from '../../src/core/rng.ts';
import { f32, msePerSample, trainStepIO, weightedMean, type ParamSet } from '../../src/nn/index.ts';
import { readPolicyManifest } from '../../src/policy/manifest.ts';
import { Normalizer } from '../../src/policy/normalize.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { WordTokenizer } from '../../src/policy/tokenizer.ts';
import { buildFeaturesGraph, buildSampleGraph, writePolicyBundle } from '../../src/train/export.ts';
import { eulerTimes } from '../../src/train/flow_matching.ts';
import { readBundleWeights } from '../../src/train/init_from_bundle.ts';
import { POLICY_INPUTS, flowPolicyModel, type PolicyDims } from '../../src/train/model.ts';
import { reexportBundle } from '../../scripts/reexport_bundle.ts';
import { defaultBundleBatch } from './default_bundle_batch.ts';
import { tempDir, tinyConfig } from './helpers.ts';

const cfg = tinyConfig({ policy: { chunkSize: 4, samplerSteps: 10 } }).policy;
const dims: PolicyDims = {
  stateDim: 3,
  actionDim: 2,
  cameras: [
    { name: 'front', height: 16, width: 16 },
    { name: 'wrist', height: 16, width: 16 },
  ],
  vocabSize: 9,
};
const VOCAB = ['<pad>', '<unk>', 'put', 'the', 'red', 'cube', 'in', 'left', 'bin'];
const H = cfg.chunkSize;
const A = dims.actionDim;
const L = cfg.language.maxLength;
const model = flowPolicyModel(cfg, dims);
const rng = new Rng(42);
if (!model.paramSpecs.some((p) => p.name.includes('.film'))) throw new Error('expected FiLM parameters in the default config');
// Larger-than-default weights so every layer moves the output (the test must see errors); the
// zero-initialised FiLM layers get random weights so the language -> vision path is exercised.
const params: ParamSet = new Map(
  [...model.initParams(new Rng(7))].map(([k, v]) => [k, k.includes('.film') ? v.map(() => 0.3 * rng.normal()) : v.map((x) => x * 1.5)]),
);

/** Random normalised observation inputs for a batch of B. */
function observationFeeds(B: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    [POLICY_INPUTS.state]: new ort.Tensor('float32', Float32Array.from({ length: B * dims.stateDim }, () => rng.normal()), [B, dims.stateDim]),
  };
  for (const c of dims.cameras) feeds[POLICY_INPUTS.image(c.name)] = new ort.Tensor('float32', Float32Array.from({ length: B * 3 * c.height * c.width }, () => rng.uniform()), [B, 3, c.height, c.width]);
  const tokens = new BigInt64Array(B * L);
  const mask = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    const n = 2 + b; // different lengths, the rest padded
    for (let i = 0; i < n; i++) {
      tokens[b * L + i] = BigInt(1 + rng.int(VOCAB.length - 1));
      mask[b * L + i] = 1;
    }
  }
  feeds[POLICY_INPUTS.tokens] = new ort.Tensor('int64', tokens, [B, L]);
  feeds[POLICY_INPUTS.mask] = new ort.Tensor('float32', mask, [B, L]);
  return feeds;
}

const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

let velocity: ort.InferenceSession;
let sampler: ort.InferenceSession;
const tmp = tempDir();

/** v_theta(x, t | o) through the training model's inference graph (encoder + one head pass). */
async function velocityOf(obs: Record<string, ort.Tensor>, x: Float32Array, t: Float32Array): Promise<Float32Array> {
  const B = t.length;
  const out = await velocity.run({ ...obs, [POLICY_INPUTS.xT]: new ort.Tensor('float32', x, [B, H, A]), [POLICY_INPUTS.time]: new ort.Tensor('float32', t, [B]) });
  return out.v!.data as Float32Array;
}

beforeAll(async () => {
  velocity = await ort.InferenceSession.create(model.buildInference({ params }));
  sampler = await ort.InferenceSession.create(buildSampleGraph(cfg, dims, { params }));
});
afterAll(() => tmp.cleanup());

describe('exported sampling graph vs the training graph', () => {
  it('one Euler step of sample.onnx gives the training step graph\'s velocity at t = 1 (1e-5)', async () => {
    const B = 4;
    const step = model.buildTrainStep({
      batchSize: B,
      targets: { target: f32(H, A), weight: f32() },
      loss: (t, o, b) => weightedMean(t, msePerSample(t, o.v, b.target), b.weight),
      optimizer: { lr: 1e-3 },
      exposeOutputs: true,
    });
    const session = await ort.InferenceSession.create(step.bytes);
    const obs = observationFeeds(B);
    const noise = normal(B * H * A);
    const feeds: Record<string, ort.Tensor> = { ...obs };
    for (const s of model.paramSpecs) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      feeds[trainStepIO.param(s.name)] = new ort.Tensor('float32', params.get(s.name)!, [...s.shape]);
      feeds[trainStepIO.adamM(s.name)] = new ort.Tensor('float32', new Float32Array(size), [...s.shape]);
      feeds[trainStepIO.adamV(s.name)] = new ort.Tensor('float32', new Float32Array(size), [...s.shape]);
    }
    feeds[trainStepIO.step] = new ort.Tensor('float32', Float32Array.of(1), []);
    feeds[trainStepIO.lr] = new ort.Tensor('float32', Float32Array.of(0), []);
    feeds[POLICY_INPUTS.xT] = new ort.Tensor('float32', noise, [B, H, A]);
    feeds[POLICY_INPUTS.time] = new ort.Tensor('float32', new Float32Array(B).fill(1), [B]);
    feeds.target = new ort.Tensor('float32', new Float32Array(B * H * A), [B, H, A]);
    feeds.weight = new ort.Tensor('float32', new Float32Array(B).fill(1), [B]);
    const vTrain = (await session.run(feeds))[step.signature.modelOutputs.v!]!.data as Float32Array;

    const oneStep = await ort.InferenceSession.create(buildSampleGraph(cfg, dims, { params, steps: 1 }));
    const action = (await oneStep.run({ ...obs, [POLICY_INPUTS.noise]: new ort.Tensor('float32', noise, [B, H, A]) })).action!.data as Float32Array;
    // One step from t = 1 with dt = -1: action = noise - v.
    const vSample = noise.map((n, i) => n - (action[i] as number));
    expect(Math.max(...vTrain.map(Math.abs))).toBeGreaterThan(0.1);
    expect(maxAbsDiff(vSample, vTrain)).toBeLessThan(1e-5);
    // And at interior times the inference velocity graph agrees with the training graph too.
    const times = Float32Array.from({ length: B }, () => rng.uniform());
    feeds[POLICY_INPUTS.time] = new ort.Tensor('float32', times, [B]);
    const vTrainT = (await session.run(feeds))[step.signature.modelOutputs.v!]!.data as Float32Array;
    expect(maxAbsDiff(await velocityOf(obs, noise, times), vTrainT)).toBeLessThan(1e-5);
  });

  it('the K unrolled Euler steps equal a TypeScript loop over the velocity graph (fp32, 1e-5)', async () => {
    const B = 3;
    const obs = observationFeeds(B);
    const noise = normal(B * H * A);
    const { times, dt } = eulerTimes(cfg.samplerSteps);
    const x = noise.slice();
    for (const tk of times) {
      const v = await velocityOf(obs, x, new Float32Array(B).fill(tk));
      for (let i = 0; i < x.length; i++) x[i] = Math.fround((x[i] as number) + Math.fround(dt * (v[i] as number)));
    }
    const action = (await sampler.run({ ...obs, [POLICY_INPUTS.noise]: new ort.Tensor('float32', noise, [B, H, A]) })).action!.data as Float32Array;
    expect(maxAbsDiff(action, noise)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(action, x)).toBeLessThan(1e-5);
  });

  it('the batch dimension is dynamic, and each row depends only on its own inputs', async () => {
    const obs = observationFeeds(3);
    const noise = normal(3 * H * A);
    const all = (await sampler.run({ ...obs, [POLICY_INPUTS.noise]: new ort.Tensor('float32', noise, [3, H, A]) })).action!.data as Float32Array;
    const row1: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(obs)) {
      const per = t.size / 3;
      const data = (t.data as Float32Array | BigInt64Array).slice(per, 2 * per);
      row1[name] = new ort.Tensor(t.type as 'float32', data as Float32Array, [1, ...t.dims.slice(1)]);
    }
    const one = (await sampler.run({ ...row1, [POLICY_INPUTS.noise]: new ort.Tensor('float32', noise.slice(H * A, 2 * H * A), [1, H, A]) })).action!.data as Float32Array;
    expect(maxAbsDiff(one, all.slice(H * A, 2 * H * A))).toBeLessThan(1e-6);
  });

  it('features.onnx gives (B, F) without the head weights', async () => {
    const bytes = buildFeaturesGraph(cfg, dims, { params });
    const session = await ort.InferenceSession.create(bytes);
    const out = (await session.run(observationFeeds(2))).features!;
    const F = 2 * cfg.vision.features + cfg.language.dim + cfg.stateFeatures;
    expect(out.dims).toEqual([2, F]);
    const headValues = model.paramSpecs.filter((s) => s.name.startsWith('head.')).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    expect(bytes.length).toBeLessThan(4 * (model.paramCount - headValues) + 20_000);
  });
});

describe('exported bundle under the runtime (src/policy OnnxPolicy)', () => {
  it('loads, and sample() equals normalise -> training-graph Euler loop -> unnormalise (1e-5)', async () => {
    const normalization = {
      state: { mode: 'mean_std' as const, mean: [0.1, -0.2, 0.3], std: [0.5, 0.25, 2] },
      action: { mode: 'min_max' as const, min: [-1, 0], max: [1, 0.5] },
    };
    const manifest = writePolicyBundle(tmp.dir, cfg, dims, params, {
      name: 'tiny',
      task: 'pick-place',
      fps: 20,
      stateNames: ['a.pos', 'b.pos', 'c.pos'],
      actionNames: ['a.target', 'b.target'],
      normalization,
      vocab: VOCAB,
      execution: { n_action_steps: 3 },
    });
    expect(manifest.sampler).toEqual({ type: 'euler', steps: cfg.samplerSteps, time_convention: 'pi0' });
    expect(manifest.execution).toEqual({ n_action_steps: 3 });
    const policy = await OnnxPolicy.load(tmp.dir);
    try {
      const B = 2;
      const observations: Observation[] = Array.from({ length: B }, (_, b) => ({
        state: normal(3),
        images: Object.fromEntries(dims.cameras.map((c) => [c.name, { width: c.width, height: c.height, rgb: Uint8Array.from({ length: c.width * c.height * 3 }, () => rng.int(256)) }])),
        task: b === 0 ? 'Put the RED cube in the left bin' : 'put the blue cube in the bin', // 'blue' is not in the vocabulary
      }));
      const noise = normal(B * H * A);
      const actual = policy.sample(observations, noise);

      // The reference: the same preprocessing, then the training model's velocity graph in a loop.
      const state = new Normalizer(normalization.state, 3, 'observation.state').normalize(Float32Array.from(observations.flatMap((o) => [...o.state])));
      const feeds: Record<string, ort.Tensor> = { [POLICY_INPUTS.state]: new ort.Tensor('float32', state, [B, 3]) };
      for (const c of dims.cameras) {
        const plane = c.width * c.height;
        const img = new Float32Array(B * 3 * plane);
        observations.forEach((o, b) => {
          const rgb = o.images[c.name]!.rgb;
          for (let p = 0; p < plane; p++) for (let ch = 0; ch < 3; ch++) img[b * 3 * plane + ch * plane + p] = rgb[3 * p + ch]! / 255;
        });
        feeds[POLICY_INPUTS.image(c.name)] = new ort.Tensor('float32', img, [B, 3, c.height, c.width]);
      }
      const { tokens, mask } = new WordTokenizer(manifest.tokenizer).encode(observations.map((o) => o.task));
      // Lowercased; 'blue' is unknown (id 1); row 1 is padded (id 0) after its 7 words.
      expect([...tokens].map(Number)).toEqual([2, 3, 4, 5, 6, 3, 7, 8, 2, 3, 1, 5, 6, 3, 8, 0]);
      feeds[POLICY_INPUTS.tokens] = new ort.Tensor('int64', tokens, [B, L]);
      feeds[POLICY_INPUTS.mask] = new ort.Tensor('float32', mask, [B, L]);
      const { times, dt } = eulerTimes(cfg.samplerSteps);
      const x = noise.slice();
      for (const tk of times) {
        const v = await velocityOf(feeds, x, new Float32Array(B).fill(tk));
        for (let i = 0; i < x.length; i++) x[i] = Math.fround((x[i] as number) + Math.fround(dt * (v[i] as number)));
      }
      const expected = new Normalizer(normalization.action, A, 'action').unnormalize(x);
      expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5);
      // Same noise, same actions, bit for bit.
      expect(policy.sample(observations, noise)).toEqual(actual);
      expect(policy.features(observations)).toHaveLength(B * manifest.graphs.features.dim);
    } finally {
      policy.dispose();
    }
  });
});

describe('scripts/reexport_bundle.ts (re-export a bundle from its own weights)', () => {
  const info = {
    name: 'tiny-reexport',
    task: 'pick-place',
    fps: 15,
    stateNames: ['a.pos', 'b.pos', 'c.pos'],
    actionNames: ['a.target', 'b.target'],
    normalization: { state: { mode: 'mean_std' as const, mean: [0.1, -0.2, 0.3], std: [0.5, 0.25, 2] }, action: { mode: 'min_max' as const, min: [-1, 0], max: [1, 0.5] } },
    vocab: VOCAB,
    description: 'round trip',
    execution: { n_action_steps: 2 },
    created: new Date('2026-01-02T03:04:05.000Z'),
  };

  it('sample.onnx keeps every exported training parameter as a params/<name> initializer (what the torch mirror loads)', () => {
    const dir = join(tmp.dir, 'names');
    writePolicyBundle(dir, cfg, dims, params, info);
    const { params: read } = readBundleWeights(dir);
    const exported = model.paramSpecs.filter((s) => !s.name.startsWith('subgoal.'));
    expect(model.paramSpecs.length).toBeGreaterThan(exported.length); // the config has the training-only subgoal head
    expect([...read.keys()].sort()).toEqual(exported.map((s) => s.name).sort());
    for (const s of exported) expect(read.get(s.name)!.data).toEqual(params.get(s.name));
  });

  it('round trip: same manifest (created kept), identical graphs, identical actions', async () => {
    const original = join(tmp.dir, 'original');
    const again = join(tmp.dir, 'again');
    writePolicyBundle(original, cfg, dims, params, info);
    const manifest = reexportBundle(original, { out: again, config: cfg });
    expect(manifest).toEqual(readPolicyManifest(original));
    expect(manifest.created).toBe('2026-01-02T03:04:05.000Z');
    for (const file of ['sample.onnx', 'features.onnx']) expect(readFileSync(join(again, file)).equals(readFileSync(join(original, file)))).toBe(true);
    // Without --config the architecture comes from train_state.json, which this bundle lacks.
    expect(() => reexportBundle(original, { out: join(tmp.dir, 'x') })).toThrow(/train_state\.json/);
  });

  it('policies/default re-exported samples what the shipped bundle samples (pinned, 1e-5)', async () => {
    const out = join(tmp.dir, 'default');
    const manifest = reexportBundle('policies/default', { out });
    expect(manifest).toEqual(readPolicyManifest('policies/default'));
    const pinned = JSON.parse(readFileSync('test/train/fixtures/default_policy_actions.json', 'utf8')) as { action: number[] };
    const policy = await OnnxPolicy.load(out);
    try {
      const { observations, noise } = defaultBundleBatch(policy.manifest);
      const action = policy.sample(observations, noise);
      expect(Math.max(...pinned.action.map(Math.abs))).toBeGreaterThan(0.5);
      const diff = maxAbsDiff(action, pinned.action);
      console.log(`policies/default re-exported: max |action - pinned| = ${diff.toExponential(2)} over ${action.length} values`);
      expect(diff).toBeLessThan(1e-5);
    } finally {
      policy.dispose();
    }
  });
});
