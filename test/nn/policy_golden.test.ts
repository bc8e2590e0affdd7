import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { policyShapedModel, type PolicyShapeConfig } from '../../src/nn/examples/policy_shaped.ts';
import { f32 } from '../../src/nn/inputs.ts';
import { msePerSample, weightedMean } from '../../src/nn/ops/losses.ts';
import { Trainer } from '../../src/nn/trainer.ts';
import type { TrainStepOptions } from '../../src/nn/train_step.ts';
import { trainStepIO } from '../../src/nn/train_step_io.ts';
import { loadGolden, relError, toTyped } from './golden.ts';

/**
 * The composed policy-shaped model (conv encoder, token embedding, state, x_t, sin/cos time,
 * GELU head, weighted MSE) against PyTorch float64: full gradient, then three AdamW steps
 * (two param groups, active clipping, a different lr each step) against torch.optim.AdamW.
 */
const golden = loadGolden().policy;
const cfg = golden.config as unknown as PolicyShapeConfig & { batch: number };
const model = policyShapedModel(cfg);
const B = cfg.batch;
const goldenParams = new Map(Object.entries(golden.params).map(([k, t]) => [k, toTyped(t) as Float32Array]));
const batch = Object.fromEntries(Object.entries(golden.batch).map(([k, t]) => [k, toTyped(t)]));
const targets = { target: f32(cfg.chunk, cfg.actionDim), weight: f32() };
const trainStep: TrainStepOptions<typeof model.inputs, 'v', typeof targets> = {
  batchSize: B,
  targets,
  loss: (t, out, b) => weightedMean(t, msePerSample(t, out.v, b.target), b.weight),
  optimizer: golden.adamw.config,
  gradClip: { maxNorm: golden.adamw.maxNorm },
};

describe('policy-shaped model vs PyTorch float64', () => {
  it('declares the same parameters as the torch module, in the same order', () => {
    expect(model.paramSpecs.map((s) => s.name)).toEqual(Object.keys(golden.params));
    for (const s of model.paramSpecs) expect(s.shape, s.name).toEqual(golden.params[s.name]!.shape);
  });

  it('matches the loss, output and every parameter gradient', async () => {
    const graph = model.buildTrainStep({ ...trainStep, exposeGradients: true, exposeOutputs: true });
    const session = await ort.InferenceSession.create(graph.bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, spec] of Object.entries(graph.signature.batchInputs)) {
      const d = batch[name]!;
      feeds[name] = d instanceof BigInt64Array ? new ort.Tensor('int64', d, [B, ...spec.shape]) : new ort.Tensor('float32', d, [B, ...spec.shape]);
    }
    for (const s of model.paramSpecs) {
      const size = goldenParams.get(s.name)!.length;
      feeds[trainStepIO.param(s.name)] = new ort.Tensor('float32', goldenParams.get(s.name)!, [...s.shape]);
      feeds[trainStepIO.adamM(s.name)] = new ort.Tensor('float32', new Float32Array(size), [...s.shape]);
      feeds[trainStepIO.adamV(s.name)] = new ort.Tensor('float32', new Float32Array(size), [...s.shape]);
    }
    feeds[trainStepIO.step] = new ort.Tensor('float32', new Float32Array([1]), []);
    feeds[trainStepIO.lr] = new ort.Tensor('float32', new Float32Array([1e-3]), []);
    const out = await session.run(feeds);

    expect(relError(out[graph.signature.lossOutput]!.data as Float32Array, [golden.loss])).toBeLessThan(1e-6);
    expect(relError(out[trainStepIO.gradNorm]!.data as Float32Array, [golden.gradNorm])).toBeLessThan(1e-5);
    expect(relError(out[graph.signature.modelOutputs.v!]!.data as Float32Array, golden.output.data)).toBeLessThan(1e-5);
    const errors: Record<string, number> = {};
    for (const s of model.paramSpecs) {
      errors[s.name] = relError(out[graph.signature.gradOutputs[s.name]!]!.data as Float32Array, golden.grads[s.name]!.data);
    }
    const worst = Object.entries(errors).sort((a, b) => b[1] - a[1]);
    console.log(`policy-shaped gradients (${graph.nodeCount} nodes): worst normwise relative error ${worst[0]![1].toExponential(2)} (${worst[0]![0]})`);
    for (const [name, e] of worst) expect(e, name).toBeLessThan(1e-5);
    await session.release();
  });

  it('three AdamW steps match torch.optim.AdamW (lr schedule, clipping, param groups)', async () => {
    const { lrs } = golden.adamw;
    const trainer = await Trainer.create(model, { trainStep, params: goldenParams, lrSchedule: (n) => lrs[n - 1]! });
    const losses: number[] = [];
    const norms: number[] = [];
    for (let i = 0; i < lrs.length; i++) {
      losses.push(await trainer.step(batch));
      norms.push(trainer.lastGradNorm);
    }
    expect(relError(losses, golden.adamw.losses)).toBeLessThan(1e-5);
    expect(relError(norms, golden.adamw.gradNorms)).toBeLessThan(1e-5);
    const params = await trainer.getParams();
    let worst = 0;
    for (const [name, t] of Object.entries(golden.adamw.params)) {
      // Absolute error: an update moves a parameter by ~lr = 1e-3, so 1e-5 is 1% of one step.
      const a = params.get(name)!;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (t.data[i] as number)));
    }
    console.log(`policy-shaped AdamW x3: max |param - torch| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    await trainer.dispose();
  });
});
