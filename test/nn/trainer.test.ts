import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { CheckpointError } from '../../src/nn/checkpoint.ts';
import { policyShapedModel, type PolicyShapeConfig } from '../../src/nn/examples/policy_shaped.ts';
import { f32 } from '../../src/nn/inputs.ts';
import { Linear } from '../../src/nn/layers/linear.ts';
import { defineModel } from '../../src/nn/model.ts';
import { silu } from '../../src/nn/ops/activations.ts';
import { msePerSample, weightedMean } from '../../src/nn/ops/losses.ts';
import { Trainer } from '../../src/nn/trainer.ts';
import type { TrainStepOptions } from '../../src/nn/train_step.ts';
import { trainStepIO } from '../../src/nn/train_step_io.ts';
import { loadGolden, relError, toTyped } from './golden.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowsteer-nn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** y = sin(2 x0) * x1 on [-1, 1]^2: smooth, needs the hidden layers. */
const regression = defineModel({
  name: 'tiny_regression',
  inputs: { x: f32(2) },
  setup: (p) => {
    const l1 = new Linear(p, 'l1', { inFeatures: 2, outFeatures: 32 });
    const l2 = new Linear(p, 'l2', { inFeatures: 32, outFeatures: 32 });
    const l3 = new Linear(p, 'l3', { inFeatures: 32, outFeatures: 1 });
    return (t, { x }) => ({ y: l3.apply(t, silu(t, l2.apply(t, silu(t, l1.apply(t, x))))) });
  },
});

const BATCH = 32;
const targets = { target: f32(1), weight: f32() };
const regressionStep: TrainStepOptions<typeof regression.inputs, 'y', typeof targets> = {
  batchSize: BATCH,
  targets,
  loss: (t, o, b) => weightedMean(t, msePerSample(t, o.y, b.target), b.weight),
  optimizer: { lr: 1e-2, weightDecay: 0 },
};

function regressionBatch(rng: Rng): { x: Float32Array; target: Float32Array; weight: Float32Array } {
  const x = new Float32Array(BATCH * 2);
  const target = new Float32Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const a = rng.range(-1, 1);
    const b = rng.range(-1, 1);
    x[2 * i] = a;
    x[2 * i + 1] = b;
    target[i] = Math.sin(2 * a) * b;
  }
  return { x, target, weight: new Float32Array(BATCH).fill(1) };
}

async function trainSteps(trainer: Trainer<{ x: ReturnType<typeof f32> }, 'y'>, rng: Rng, n: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) losses.push(await trainer.step(regressionBatch(rng)));
  return losses;
}

const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;

describe('Trainer', () => {
  it('drives the loss down on a tiny regression problem', async () => {
    const trainer = await Trainer.create(regression, { trainStep: regressionStep, params: regression.initParams(new Rng(1)) });
    const losses = await trainSteps(trainer, new Rng(2), 300);
    const first = mean(losses.slice(0, 10));
    const last = mean(losses.slice(-10));
    expect(last).toBeLessThan(first / 10);
    expect(trainer.stepCount).toBe(300);
    await trainer.dispose();
  });

  it('exports an inference graph that agrees with the trained weights and any batch size', async () => {
    const trainer = await Trainer.create(regression, { trainStep: regressionStep, params: regression.initParams(new Rng(3)) });
    await trainSteps(trainer, new Rng(4), 5);
    const path = join(dir, 'regression.onnx');
    await trainer.exportInference(path);
    const session = await ort.InferenceSession.create(readFileSync(path));
    const params = await trainer.getParams();
    // Plain-JS forward of the same MLP as the reference.
    const lin = (x: number[], name: string): number[] => {
      const w = params.get(`${name}.weight`)!;
      const b = params.get(`${name}.bias`)!;
      const out = b.length;
      return Array.from({ length: out }, (_, o) => x.reduce((s, v, i) => s + v * w[o * x.length + i]!, b[o]!));
    };
    const act = (v: number[]): number[] => v.map((z) => z / (1 + Math.exp(-z)));
    for (const b of [1, 5]) {
      const x = Float32Array.from({ length: 2 * b }, (_, i) => Math.cos(i));
      const y = (await session.run({ x: new ort.Tensor('float32', x, [b, 2]) })).y!.data as Float32Array;
      for (let i = 0; i < b; i++) {
        const ref = lin(act(lin(act(lin([x[2 * i]!, x[2 * i + 1]!], 'l1')), 'l2')), 'l3')[0]!;
        expect(Math.abs(y[i]! - ref)).toBeLessThan(1e-5);
      }
    }
    await trainer.dispose();
  });

  it('resumes from a checkpoint exactly (params, moments, step, schedule position)', async () => {
    const schedule = (n: number): number => 1e-2 / Math.sqrt(n);
    const a = await Trainer.create(regression, { trainStep: regressionStep, params: regression.initParams(new Rng(5)), lrSchedule: schedule });
    await trainSteps(a, new Rng(6), 3);
    const path = join(dir, 'ckpt.safetensors');
    await a.saveCheckpoint(path);
    const continued = await trainSteps(a, new Rng(7), 3);

    const b = await Trainer.create(regression, { trainStep: regressionStep, params: regression.initParams(new Rng(99)), lrSchedule: schedule });
    await b.loadCheckpoint(path);
    expect(b.stepCount).toBe(3);
    const resumed = await trainSteps(b, new Rng(7), 3);
    expect(resumed).toEqual(continued);
    const pa = await a.getParams();
    const pb = await b.getParams();
    for (const [k, v] of pa) expect(pb.get(k), k).toEqual(v);
    await a.dispose();
    await b.dispose();
  });

  it('rejects corrupted, truncated and foreign checkpoints with an error naming the file', async () => {
    const trainer = await Trainer.create(regression, { trainStep: regressionStep, params: regression.initParams(new Rng(8)) });
    const good = join(dir, 'good.safetensors');
    await trainer.saveCheckpoint(good);
    const bytes = readFileSync(good);

    const flipped = join(dir, 'flipped.safetensors');
    const f = Buffer.from(bytes);
    f[f.length - 5] = (f[f.length - 5] as number) ^ 0x40;
    writeFileSync(flipped, f);
    await expect(trainer.loadCheckpoint(flipped)).rejects.toThrow(CheckpointError);
    await expect(trainer.loadCheckpoint(flipped)).rejects.toThrow(`${flipped}: checksum mismatch`);

    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    await expect(trainer.loadCheckpoint(truncated)).rejects.toThrow(`${truncated}: checksum mismatch`);

    const garbage = join(dir, 'garbage.safetensors');
    writeFileSync(garbage, 'not a checkpoint at all');
    await expect(trainer.loadCheckpoint(garbage)).rejects.toThrow(`${garbage}: not a flowsteer checkpoint`);

    await expect(trainer.loadCheckpoint(join(dir, 'missing.safetensors'))).rejects.toThrow('cannot read flowsteer checkpoint');

    const other = defineModel({
      name: 'other',
      inputs: { x: f32(2) },
      setup: (p) => {
        const l = new Linear(p, 'l1', { inFeatures: 2, outFeatures: 1 });
        return (t, { x }) => ({ y: l.apply(t, x) });
      },
    });
    const otherTrainer = await Trainer.create(other, { trainStep: regressionStep, params: other.initParams(new Rng(0)) });
    await expect(otherTrainer.loadCheckpoint(good)).rejects.toThrow(`checkpoint is for model 'tiny_regression', expected 'other'`);
    await trainer.dispose();
    await otherTrainer.dispose();
  });

  it("falls back to CPU with a clear message when 'cuda' is unavailable", async () => {
    const messages: string[] = [];
    const trainer = await Trainer.create(regression, {
      trainStep: regressionStep,
      params: regression.initParams(new Rng(9)),
      executionProvider: 'cuda',
      log: (m) => messages.push(m),
    });
    if (trainer.provider === 'cpu') {
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/CUDA execution provider unavailable \(.+\); falling back to CPU/);
    } else {
      expect(messages).toEqual([]); // a machine with the CUDA provider installed
    }
    expect(Number.isFinite(await trainer.step(regressionBatch(new Rng(10))))).toBe(true);
    await trainer.dispose();
  });

  it('trains identically in a worker thread', async () => {
    const params = regression.initParams(new Rng(11));
    const local = await Trainer.create(regression, { trainStep: regressionStep, params });
    const worker = await Trainer.create(regression, { trainStep: regressionStep, params, useWorker: true });
    expect(await trainSteps(worker, new Rng(12), 4)).toEqual(await trainSteps(local, new Rng(12), 4));
    expect(await worker.getParams()).toEqual(await local.getParams());
    await local.dispose();
    await worker.dispose();
  });

  it('names the offending input when a batch is malformed', async () => {
    const trainer = await Trainer.create(regression, { trainStep: regressionStep, params: regression.initParams(new Rng(13)) });
    const b = regressionBatch(new Rng(14));
    await expect(trainer.step({ ...b, x: new Float32Array(3) })).rejects.toThrow("input 'x' has 3 values, batch 32 x [2] needs 64");
    await expect(trainer.step({ x: b.x, target: b.target })).rejects.toThrow("batch is missing input 'weight'");
    expect(trainer.stepCount).toBe(0);
    await trainer.dispose();
  });
});

describe('inference graph vs training graph forward', () => {
  it('agree on the policy-shaped model, at the training batch and per sample', async () => {
    const golden = loadGolden().policy;
    const cfg = golden.config as unknown as PolicyShapeConfig & { batch: number };
    const model = policyShapedModel(cfg);
    const params = new Map(Object.entries(golden.params).map(([k, t]) => [k, toTyped(t) as Float32Array]));
    const batch = Object.fromEntries(Object.entries(golden.batch).map(([k, t]) => [k, toTyped(t)]));
    const B = cfg.batch;
    const graph = model.buildTrainStep({
      batchSize: B,
      targets: { target: f32(cfg.chunk, cfg.actionDim), weight: f32() },
      loss: (t, out, b) => weightedMean(t, msePerSample(t, out.v, b.target), b.weight),
      optimizer: { lr: 1e-3 },
      exposeOutputs: true,
    });
    const train = await ort.InferenceSession.create(graph.bytes);
    const feeds: Record<string, ort.Tensor> = {};
    const tensor = (name: string, b: number, offset = 0): ort.Tensor => {
      const spec = graph.signature.batchInputs[name]!;
      const per = spec.shape.reduce((x, y) => x * y, 1);
      const d = batch[name]!.subarray(offset * per, (offset + b) * per);
      return d instanceof BigInt64Array ? new ort.Tensor('int64', d, [b, ...spec.shape]) : new ort.Tensor('float32', d, [b, ...spec.shape]);
    };
    for (const name of Object.keys(graph.signature.batchInputs)) feeds[name] = tensor(name, B);
    for (const s of model.paramSpecs) {
      feeds[trainStepIO.param(s.name)] = new ort.Tensor('float32', params.get(s.name)!, [...s.shape]);
      feeds[trainStepIO.adamM(s.name)] = new ort.Tensor('float32', new Float32Array(params.get(s.name)!.length), [...s.shape]);
      feeds[trainStepIO.adamV(s.name)] = new ort.Tensor('float32', new Float32Array(params.get(s.name)!.length), [...s.shape]);
    }
    feeds[trainStepIO.step] = new ort.Tensor('float32', new Float32Array([1]), []);
    feeds[trainStepIO.lr] = new ort.Tensor('float32', new Float32Array([1e-3]), []);
    const vTrain = (await train.run(feeds))[graph.signature.modelOutputs.v!]!.data as Float32Array;

    const inference = await ort.InferenceSession.create(model.buildInference({ params }));
    const inputsFor = (b: number, offset: number): Record<string, ort.Tensor> =>
      Object.fromEntries(Object.keys(model.inputs).map((name) => [name, tensor(name, b, offset)]));
    const vAll = (await inference.run(inputsFor(B, 0))).v!.data as Float32Array;
    expect(relError(vAll, vTrain)).toBeLessThan(1e-5);
    const per = vAll.length / B;
    for (let i = 0; i < B; i++) {
      const vOne = (await inference.run(inputsFor(1, i))).v!.data as Float32Array;
      expect(relError(vOne, vTrain.subarray(i * per, (i + 1) * per))).toBeLessThan(1e-5);
    }
  });
});
