import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Observation } from '../../src/core/observation.ts';
import { Rng } from '../../src/core/rng.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { PolicyWorker } from '../../src/policy/policy_worker.ts';
import { WordTokenizer } from '../../src/policy/tokenizer.ts';
import { Normalizer } from '../../src/policy/normalize.ts';
import { syntheticManifest, writeSyntheticBundle } from './synthetic_bundle.ts';

/**
 * The runtime against golden outputs of an independent producer: tiny flow-matching policies
 * written in PyTorch and exported with torch.onnx.export (bench/policy/export_torch_fixture.py).
 * expected.json holds raw observations, the tensors torch fed its model, and torch's outputs.
 */

interface GoldenCase {
  observations: Array<{ state: number[]; task: string; images: Record<string, { height: number; width: number; rgb_base64: string }> }>;
  noise: number[];
  inputs: { 'observation.state': number[]; 'task.tokens': number[]; 'task.mask': number[] };
  action_normalized: number[];
  action: number[];
  features: number[];
}

const FIXTURES = ['torch_policy', 'torch_policy_2cam'] as const;
const fixtureDir = (name: string) => join('test/policy/fixtures', name);

function golden(name: string): GoldenCase[] {
  return JSON.parse(readFileSync(join(fixtureDir(name), 'expected.json'), 'utf8')).cases;
}

function toObservations(c: GoldenCase): Observation[] {
  return c.observations.map((o) => ({
    state: Float32Array.from(o.state),
    task: o.task,
    images: Object.fromEntries(Object.entries(o.images).map(([cam, im]) => [cam, { height: im.height, width: im.width, rgb: new Uint8Array(Buffer.from(im.rgb_base64, 'base64')) }])),
  }));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.each(FIXTURES)('PyTorch-exported bundle %s', (name) => {
  let policy: OnnxPolicy;
  beforeAll(async () => {
    policy = await OnnxPolicy.load(fixtureDir(name));
  });
  afterAll(() => policy.dispose());

  it('preprocesses exactly like the torch reference (tokens, mask, normalised state)', () => {
    const m = policy.manifest;
    for (const c of golden(name)) {
      const obs = toObservations(c);
      const { tokens, mask } = new WordTokenizer(m.tokenizer).encode(obs.map((o) => o.task));
      expect(Array.from(tokens, Number)).toEqual(c.inputs['task.tokens']);
      expect(Array.from(mask)).toEqual(c.inputs['task.mask']);
      const state = new Float32Array(obs.flatMap((o) => Array.from(o.state)));
      const normalized = new Normalizer(m.normalization['observation.state'], m.state_dim, 'observation.state').normalize(state);
      expect(maxAbsDiff(normalized, c.inputs['observation.state'])).toBeLessThanOrEqual(1e-7);
    }
  });

  it('matches torch: action chunk (unnormalised) and features to 1e-5', () => {
    for (const c of golden(name)) {
      const obs = toObservations(c);
      const action = policy.sample(obs, Float32Array.from(c.noise));
      expect(action.length).toBe(obs.length * policy.chunkSize * policy.actionDim);
      const dA = maxAbsDiff(action, c.action);
      const dF = maxAbsDiff(policy.features(obs), c.features);
      console.log(`${name}: B=${obs.length} max |action - torch| = ${dA.toExponential(2)}, max |features - torch| = ${dF.toExponential(2)}`);
      expect(dA).toBeLessThanOrEqual(1e-5);
      expect(dF).toBeLessThanOrEqual(1e-5);
    }
  });

  it('same noise -> identical bytes; the default noise stream is reproducible from its seed', async () => {
    const obs = toObservations(golden(name)[0]!);
    const noise = policy.drawNoise(obs.length, new Rng(42));
    const a = policy.sample(obs, noise);
    const b = policy.sample(obs, Float32Array.from(noise));
    expect(bytes(a).equals(bytes(b))).toBe(true);

    const p1 = await OnnxPolicy.load(fixtureDir(name), { noiseSeed: 7 });
    const p2 = await OnnxPolicy.load(fixtureDir(name), { noiseSeed: 7 });
    const first = [p1.sample(obs), p1.sample(obs)];
    const second = [p2.sample(obs), p2.sample(obs)];
    expect(bytes(first[0]!).equals(bytes(second[0]!))).toBe(true);
    expect(bytes(first[1]!).equals(bytes(second[1]!))).toBe(true);
    expect(bytes(first[0]!).equals(bytes(first[1]!))).toBe(false); // the stream advances
    p1.reseed(7);
    expect(bytes(p1.sample(obs)).equals(bytes(first[0]!))).toBe(true);
    // default noise is the seeded stream's normals, so passing them explicitly gives the same chunk
    expect(bytes(p2.sample(obs, p2.drawNoise(obs.length, new Rng(7)))).equals(bytes(first[0]!))).toBe(true);
    p1.dispose();
    p2.dispose();
  });

  it('a batch of 3 equals 3 single calls', () => {
    const obs = [...toObservations(golden(name)[0]!), ...toObservations(golden(name)[0]!)].slice(0, 3);
    while (obs.length < 3) obs.push(obs[0]!);
    obs[2] = { ...obs[2]!, task: 'something else entirely' };
    const HA = policy.chunkSize * policy.actionDim;
    const noise = policy.drawNoise(3, new Rng(5));
    const batched = policy.sample(obs, noise);
    const F = policy.featureDim;
    const featBatched = policy.features(obs);
    let worst = 0;
    for (let b = 0; b < 3; b++) {
      const single = policy.sample([obs[b]!], noise.slice(b * HA, (b + 1) * HA));
      worst = Math.max(worst, maxAbsDiff(single, batched.subarray(b * HA, (b + 1) * HA)));
      worst = Math.max(worst, maxAbsDiff(policy.features([obs[b]!]), featBatched.subarray(b * F, (b + 1) * F)));
    }
    console.log(`${name}: batch of 3 vs 3 singles max |diff| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('rejects observations that do not fit: state length, missing camera, image size, noise length', () => {
    const [o] = toObservations(golden(name)[0]!);
    const cam = policy.manifest.cameras[0]!;
    expect(() => policy.sample([{ ...o!, state: new Float32Array(1) }])).toThrow(/observation 0: state has 1 values; policy '.+' expects \d/);
    expect(() => policy.sample([{ ...o!, images: {} }])).toThrow(new RegExp(`no image from camera '${cam.name}'`));
    const small = { width: 2, height: 2, rgb: new Uint8Array(12) };
    expect(() => policy.sample([{ ...o!, images: { ...o!.images, [cam.name]: small } }])).toThrow(new RegExp(`camera '${cam.name}' image is 2x2 .* expects ${cam.width}x${cam.height}`));
    expect(() => policy.sample([o!], new Float32Array(3))).toThrow(/noise has 3 values, expected/);
  });
});

describe('analytic bundle: constant velocity field', () => {
  it('one Euler pass of v = c gives x_0 = x_1 - c exactly, then unnormalises', async () => {
    const manifest = syntheticManifest({ normalization: { 'observation.state': { mode: 'identity' }, action: { mode: 'mean_std', mean: [1, 2, 3], std: [0.5, 1, 2] } } });
    const dir = writeSyntheticBundle({ manifest });
    const policy = await OnnxPolicy.load(dir);
    const obs: Observation = { state: Float32Array.from([0.5, 2]), task: 'go left', images: { front: { height: 8, width: 6, rgb: new Uint8Array(8 * 6 * 3) } } };
    const noise = policy.drawNoise(2, new Rng(1));
    const out = policy.sample([obs, obs], noise);
    const HA = 12;
    const mean = [1, 2, 3];
    const std = [0.5, 1, 2];
    for (let i = 0; i < out.length; i++) {
      const d = i % 3;
      const x0 = Math.fround(noise[i]! - Math.fround(0.25 * ((i % HA) + 1)));
      expect(out[i]).toBe(Math.fround(Math.fround(x0 * Math.fround(std[d]! + Math.fround(1e-8))) + mean[d]!));
    }
    // features = state @ W, W = [[-1, 0, 1], [-1, 0, 1]] (synthetic_bundle.ts)
    expect(Array.from(policy.features([obs]))).toEqual([-2.5, 0, 2.5]);
    policy.dispose();
  });
});

describe('image conversion (HWC uint8 -> NCHW float / 255)', () => {
  /** The runtime's image feed, seen through a features graph that returns it flattened (synthetic_bundle.ts). */
  async function imagePolicy(height: number, width: number): Promise<OnnxPolicy> {
    const manifest = syntheticManifest({
      cameras: [{ name: 'front', height, width }],
      graphs: { sample: { file: 'sample.onnx', inputs: [], outputs: [] }, features: { file: 'features.onnx', inputs: [], outputs: [], dim: 3 * height * width } },
    });
    return OnnxPolicy.load(writeSyntheticBundle({ manifest, features: 'image' }));
  }
  /** The definition: channel c of pixel p is rgb[3p + c] / 255, rounded to float32. */
  const expected = (frames: Uint8Array[], plane: number) =>
    Float32Array.from({ length: frames.length * 3 * plane }, (_, i) => frames[Math.floor(i / (3 * plane))]![3 * (i % plane) + (Math.floor(i / plane) % 3)]! / 255);
  const frame = (rng: Rng, n: number, offset: number) => {
    const bytes = new Uint8Array(n + offset);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
    bytes[offset] = 255; // both ends of the range
    bytes[offset + 1] = 0;
    return new Uint8Array(bytes.buffer, offset, n);
  };

  it.each([
    ['4-aligned frames (word path)', 8, 6, 0],
    ['frames at an odd byte offset (byte path)', 8, 6, 1],
    ['a pixel count not divisible by 4 (byte path)', 5, 3, 0],
  ])('%s: bit-identical to dividing, across batch sizes (reused buffers hold no stale values)', async (_name, height, width, offset) => {
    const policy = await imagePolicy(height, width);
    const rng = new Rng(11);
    const plane = height * width;
    const obs = (frames: Uint8Array<ArrayBuffer>[]): Observation[] => frames.map((rgb) => ({ state: new Float32Array(2), task: 'go', images: { front: { height, width, rgb } } }));
    for (const B of [3, 3, 1, 2]) {
      const frames = Array.from({ length: B }, () => frame(rng, 3 * plane, offset));
      expect(frames[0]!.byteOffset % 4).toBe(offset);
      const got = policy.features(obs(frames));
      expect(bytes(got).equals(bytes(expected(frames, plane)))).toBe(true);
    }
    policy.dispose();
  });
});

describe('PolicyWorker', () => {
  it('gives exactly what the in-process policy gives, off the main thread', async () => {
    const name = 'torch_policy';
    const c = golden(name)[0]!;
    const obs = toObservations(c);
    const local = await OnnxPolicy.load(fixtureDir(name), { noiseSeed: 3 });
    const worker = await PolicyWorker.load(fixtureDir(name), { noiseSeed: 3 });
    try {
      expect(worker.provider).toBe('cpu');
      expect(worker.chunkSize).toBe(16);
      const explicit = await worker.sample(obs, Float32Array.from(c.noise));
      expect(bytes(explicit).equals(bytes(local.sample(obs, Float32Array.from(c.noise))))).toBe(true);
      const seeded = await worker.sample(obs);
      expect(bytes(seeded).equals(bytes(local.sample(obs)))).toBe(true);
      expect(maxAbsDiff(await worker.features(obs), c.features)).toBeLessThanOrEqual(1e-5);
      // the event loop stays free while the worker computes
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      await Promise.all(Array.from({ length: 20 }, () => worker.sample(obs)));
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(0);
      await expect(worker.sample([{ ...obs[0]!, state: new Float32Array(2) }])).rejects.toThrow(/state has 2 values/);
    } finally {
      await worker.close();
      local.dispose();
    }
    await expect(PolicyWorker.load('test/policy/fixtures/nope')).rejects.toThrow(/not a directory/);
  });
});
