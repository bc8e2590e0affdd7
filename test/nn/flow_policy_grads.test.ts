import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { add, f32, msePerSample, scale, weightedMean } from '../../src/nn/index.ts';
import { trainStepIO } from '../../src/nn/train_step_io.ts';
import { PolicyConfigSchema } from '../../src/train/config.ts';
import { SUBGOAL_TARGET } from '../../src/train/dataset.ts';
import { flowPolicyModel, type PolicyDims } from '../../src/train/model.ts';
import { relError, toTyped, type GoldenTensor } from './golden.ts';

/**
 * The flow-matching policy's training step (src/train/model.ts: FiLM after every conv, a 3- and
 * a 16-channel conv, spatial softmax, language projection, subgoal head) against its PyTorch
 * mirror in float64: the loss `flowsteer train` minimises and every raw parameter gradient.
 * Regenerate with `.venv-ref/bin/python bench/nn/make_policy_grad_golden.py`.
 */
interface FlowPolicyGolden {
  readonly torch: string;
  readonly config: Record<string, unknown>;
  readonly dims: PolicyDims;
  readonly params: Record<string, GoldenTensor>;
  readonly batch: Record<string, GoldenTensor>;
  readonly loss: number;
  readonly grads: Record<string, GoldenTensor>;
}

const golden = JSON.parse(readFileSync(new URL('./golden/flow_policy_grads.json', import.meta.url), 'utf8')) as FlowPolicyGolden;
const cfg = PolicyConfigSchema.parse(golden.config);
const model = flowPolicyModel(cfg, golden.dims);
const B = golden.batch.target!.shape[0] as number;

describe('flow policy training gradients vs its PyTorch mirror (float64)', () => {
  it('declares the parameters the torch mirror has', () => {
    expect(model.paramSpecs.map((s) => `${s.name} [${s.shape}]`).sort()).toEqual(Object.entries(golden.params).map(([n, p]) => `${n} [${p.shape}]`).sort());
  });

  it('matches the loss and every parameter gradient (1e-5 normwise)', async () => {
    const H = cfg.chunkSize;
    const A = golden.dims.actionDim;
    const graph = model.buildTrainStep({
      batchSize: B,
      targets: { target: f32(H, A), weight: f32(), [SUBGOAL_TARGET]: f32(A) },
      // As src/train/train.ts.
      loss: (t, o, b) => add(t, weightedMean(t, msePerSample(t, o.v, b.target), b.weight), scale(t, weightedMean(t, msePerSample(t, o.subgoal, b[SUBGOAL_TARGET]!), b.weight), cfg.subgoal.weight)),
      optimizer: { lr: 1e-3 },
      exposeGradients: true,
    });
    const session = await ort.InferenceSession.create(graph.bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, spec] of Object.entries(graph.signature.batchInputs)) {
      const d = toTyped(golden.batch[name] as GoldenTensor);
      feeds[name] = d instanceof BigInt64Array ? new ort.Tensor('int64', d, [B, ...spec.shape]) : new ort.Tensor('float32', d, [B, ...spec.shape]);
    }
    for (const s of model.paramSpecs) {
      const p = toTyped(golden.params[s.name] as GoldenTensor) as Float32Array;
      feeds[trainStepIO.param(s.name)] = new ort.Tensor('float32', p, [...s.shape]);
      feeds[trainStepIO.adamM(s.name)] = new ort.Tensor('float32', new Float32Array(p.length), [...s.shape]);
      feeds[trainStepIO.adamV(s.name)] = new ort.Tensor('float32', new Float32Array(p.length), [...s.shape]);
    }
    feeds[trainStepIO.step] = new ort.Tensor('float32', Float32Array.of(1), []);
    feeds[trainStepIO.lr] = new ort.Tensor('float32', Float32Array.of(1e-3), []);
    const out = await session.run(feeds);
    await session.release();

    expect(relError(out[graph.signature.lossOutput]!.data as Float32Array, [golden.loss])).toBeLessThan(1e-6);
    // The keypoint conv's bias shifts every position of a map equally, which the spatial softmax
    // ignores: its gradient is 0 analytically (torch: ~1e-17), so it is checked absolutely.
    const zero = (name: string) => /\.keypoints\.bias$/.test(name);
    const scaleRef = Math.max(...Object.values(golden.grads).flatMap((g) => g.data.map(Math.abs)));
    const errors = model.paramSpecs.map((s) => {
      const ours = out[graph.signature.gradOutputs[s.name]!]!.data as Float32Array;
      const expected = golden.grads[s.name]!.data;
      if (zero(s.name)) return [s.name, Math.max(...ours.map(Math.abs), ...expected.map(Math.abs)) / scaleRef] as const;
      expect(expected.some((v) => Math.abs(v) > 1e-9 * scaleRef), `${s.name} has a non-zero gradient`).toBe(true);
      return [s.name, relError(ours, expected)] as const;
    });
    for (const [name, e] of errors) expect(e, name).toBeLessThan(1e-5);
    const worst = errors.reduce((a, b) => (b[1] > a[1] ? b : a));
    console.log(`flow policy gradients vs torch ${golden.torch} float64: worst ${worst[0]} ${worst[1].toExponential(1)}`);
  });
});
