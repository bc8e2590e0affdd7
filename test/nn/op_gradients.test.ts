import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/nn/onnx_builder.ts';
import { gelu, relu, sigmoid, silu, tanh } from '../../src/nn/ops/activations.ts';
import { conv2d, conv2dWeightGradForms, type ConvWeightGrad } from '../../src/nn/ops/conv2d.ts';
import { add, div, mul, scale, sub } from '../../src/nn/ops/elementwise.ts';
import { embedding } from '../../src/nn/ops/embedding.ts';
import { siluFilm } from '../../src/nn/ops/film.ts';
import { layerNorm } from '../../src/nn/ops/layer_norm.ts';
import { linear } from '../../src/nn/ops/linear.ts';
import { crossEntropyPerSample, msePerSample, weightedMean } from '../../src/nn/ops/losses.ts';
import { globalAvgPool, reduceMean, reduceSum } from '../../src/nn/ops/reduce.ts';
import { concat, reshape, slice, transpose } from '../../src/nn/ops/shape_ops.ts';
import { logSoftmax, softmax } from '../../src/nn/ops/softmax.ts';
import { sinusoidalEmbedding } from '../../src/nn/ops/time_embedding.ts';
import { Tape, type Value } from '../../src/nn/tape.ts';
import { loadGolden, relError, toTyped, type GoldenOpCase } from './golden.ts';

/**
 * Every op's forward and backward against PyTorch float64 (test/nn/golden/grads.json), plus
 * central finite differences through our own fp32 graphs for two ops.
 */
type OpUnderTest = (t: Tape, v: Record<string, Value>, attrs: Record<string, unknown>) => Value;

const OPS: Record<string, OpUnderTest> = {
  linear_2d: (t, v) => linear(t, v.x!, v.w!, v.b!),
  linear_3d: (t, v) => linear(t, v.x!, v.w!, v.b!),
  add_broadcast: (t, v) => add(t, v.a!, v.b!),
  sub_broadcast: (t, v) => sub(t, v.a!, v.b!),
  mul_broadcast: (t, v) => mul(t, v.a!, v.b!),
  div: (t, v) => div(t, v.a!, v.b!),
  scale: (t, v, a) => scale(t, v.x!, a.c as number),
  relu: (t, v) => relu(t, v.x!),
  sigmoid: (t, v) => sigmoid(t, v.x!),
  silu: (t, v) => silu(t, v.x!),
  gelu: (t, v) => gelu(t, v.x!),
  tanh: (t, v) => tanh(t, v.x!),
  layer_norm_2d: (t, v) => layerNorm(t, v.x!, v.gamma!, v.beta!),
  layer_norm_3d: (t, v) => layerNorm(t, v.x!, v.gamma!, v.beta!),
  softmax: (t, v) => softmax(t, v.x!),
  log_softmax: (t, v) => logSoftmax(t, v.x!),
  reshape: (t, v, a) => reshape(t, v.x!, a.shape as number[]),
  transpose: (t, v, a) => transpose(t, v.x!, a.perm as number[]),
  concat: (t, v, a) => concat(t, [v.a!, v.b!], a.axis as number),
  slice: (t, v, a) => slice(t, v.x!, a.axis as number, a.start as number, a.end as number),
  embedding: (t, v) => embedding(t, v.table!, v.indices!),
  reduce_mean: (t, v, a) => reduceMean(t, v.x!, a.axes as number[]),
  reduce_sum: (t, v, a) => reduceSum(t, v.x!, a.axes as number[]),
  global_avg_pool: (t, v) => globalAvgPool(t, v.x!),
  time_embedding: (t, v, a) => sinusoidalEmbedding(t, v.time!, a.dim as number),
  mse_weighted: (t, v) => weightedMean(t, msePerSample(t, v.pred!, v.target!), v.w!),
  cross_entropy_soft: (t, v) => weightedMean(t, crossEntropyPerSample(t, v.logits!, v.q!), v.w!),
  silu_film: (t, v) => siluFilm(t, v.x!, v.gb!),
};
for (const name of Object.keys(loadGolden().ops).filter((n) => n.startsWith('conv2d'))) {
  OPS[name] = (t, v, a) => conv2d(t, v.x!, v.w!, v.b!, { stride: a.stride as number, padding: a.padding as number, weightGrad: a.weightGrad as ConvWeightGrad });
}

/** One graph computing the op's output and the gradients of sum(y * upstream) w.r.t. inputs marked `grad`. */
async function opSession(name: string, c: GoldenOpCase, op: OpUnderTest = OPS[name] as OpUnderTest): Promise<ort.InferenceSession> {
  const graph = new GraphBuilder();
  const t = new Tape(graph, { params: new Map(), training: true, declareShapes: true });
  const values: Record<string, Value> = {};
  for (const [k, inp] of Object.entries(c.inputs)) {
    values[k] = t.wrap(graph.input(k, inp.dtype, inp.shape), inp.shape, inp.dtype, inp.grad);
  }
  const y = op(t, values, c.attrs);
  graph.node('Identity', [y.name], { outputs: ['y'] });
  graph.output('y', 'float32', y.shape);
  if (c.upstream) {
    const up = t.wrap(graph.input('upstream', 'float32', c.upstream.shape), c.upstream.shape);
    t.backward([[y, up]]);
    for (const k of Object.keys(c.grads ?? {})) {
      const g = t.grad(values[k] as Value);
      if (!g) throw new Error(`${name}: no gradient reached '${k}'`);
      graph.node('Identity', [g.name], { outputs: [`grad/${k}`] });
      graph.output(`grad/${k}`, 'float32', g.shape);
    }
  }
  return ort.InferenceSession.create(graph.toBytes(), { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
}

function feedsOf(c: GoldenOpCase, override?: { name: string; data: Float32Array }): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, inp] of Object.entries(c.inputs)) {
    const data = override?.name === k ? override.data : toTyped(inp);
    feeds[k] = data instanceof BigInt64Array ? new ort.Tensor('int64', data, inp.shape) : new ort.Tensor('float32', data, inp.shape);
  }
  if (c.upstream) feeds.upstream = new ort.Tensor('float32', toTyped(c.upstream) as Float32Array, c.upstream.shape);
  return feeds;
}

const golden = loadGolden();
const report: { op: string; output: number; grads: number }[] = [];
/** fp32 engine vs fp64 reference; normwise relative. */
const TOLERANCE = 1e-5;
/** Cases computed in float64 inside the graph (time embedding) must match much closer. */
const TOLERANCE_BY_CASE: Record<string, number> = { time_embedding: 1e-7 };

describe('op gradients vs PyTorch float64 golden', () => {
  it('covers every golden case with an op and vice versa', () => {
    expect(Object.keys(OPS).sort()).toEqual(Object.keys(golden.ops).sort());
  });

  it.each(Object.keys(golden.ops))('%s', async (name) => {
    const c = golden.ops[name] as GoldenOpCase;
    const session = await opSession(name, c);
    const out = await session.run(feedsOf(c));
    const outErr = relError(out.y!.data as Float32Array, c.output.data);
    expect(out.y!.dims).toEqual(c.output.shape);
    expect(outErr).toBeLessThan(TOLERANCE_BY_CASE[name] ?? TOLERANCE);
    let gradErr = 0;
    for (const [k, g] of Object.entries(c.grads ?? {})) {
      const e = relError(out[`grad/${k}`]!.data as Float32Array, g.data);
      expect(e, `gradient of ${k}`).toBeLessThan(TOLERANCE);
      gradErr = Math.max(gradErr, e);
    }
    report.push({ op: name, output: outErr, grads: gradErr });
    await session.release();
  });
});

describe('every conv2d weight-gradient form vs PyTorch float64', () => {
  const convCases = Object.keys(golden.ops).filter((n) => n.startsWith('conv2d'));
  const forms = Object.keys(conv2dWeightGradForms) as Exclude<ConvWeightGrad, 'auto'>[];
  it('covers 16-channel inputs (where ORT runs the taps as NCHWc depthwise convs)', () => {
    expect(convCases.some((n) => (golden.ops[n]!.inputs.x!.shape[1] as number) >= 16)).toBe(true);
  });
  it.each(convCases.flatMap((n) => forms.map((f) => [n, f] as const)))('%s with %s', async (name, form) => {
    const c = golden.ops[name] as GoldenOpCase;
    const session = await opSession(name, c, (t, v, a) => conv2d(t, v.x!, v.w!, v.b!, { stride: a.stride as number, padding: a.padding as number, weightGrad: form }));
    const out = await session.run(feedsOf(c));
    for (const [k, g] of Object.entries(c.grads ?? {})) expect(relError(out[`grad/${k}`]!.data as Float32Array, g.data), `gradient of ${k}`).toBeLessThan(TOLERANCE);
    await session.release();
  });
});

describe('finite differences through the fp32 graph', () => {
  // Central differences in fp32 have error ~ eps32 * |f| / h + h^2 |f'''|; h = 1e-2 keeps
  // both near 1e-4 relative for these O(1) objectives.
  const H = 1e-2;
  const FD_TOLERANCE = 2e-3;

  it.each(['layer_norm_2d', 'conv2d_s2_odd_patches', 'conv2d_c16_s2_taps', 'gelu', 'cross_entropy_soft', 'silu_film'])('%s', async (name) => {
    const c = golden.ops[name] as GoldenOpCase;
    const session = await opSession(name, c);
    const up = c.upstream!.data;
    const objective = async (override: { name: string; data: Float32Array }): Promise<number> => {
      const y = (await session.run(feedsOf(c, override))).y!.data as Float32Array;
      return y.reduce((s, v, i) => s + v * (up[i] as number), 0);
    };
    const base = await session.run(feedsOf(c));
    for (const [k, inp] of Object.entries(c.inputs)) {
      if (!inp.grad) continue;
      const analytic = base[`grad/${k}`]!.data as Float32Array;
      const scaleRef = analytic.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      // A spread of coordinates, deterministic.
      for (let j = 0; j < 5; j++) {
        const idx = Math.floor(((j * 7919) % 1000) / 1000 * inp.data.length);
        const plus = Float32Array.from(inp.data);
        const minus = Float32Array.from(inp.data);
        plus[idx] = (plus[idx] as number) + H;
        minus[idx] = (minus[idx] as number) - H;
        const fd = ((await objective({ name: k, data: plus })) - (await objective({ name: k, data: minus }))) / (2 * H);
        expect(Math.abs(fd - (analytic[idx] as number)) / scaleRef, `${k}[${idx}]`).toBeLessThan(FD_TOLERANCE);
      }
    }
    await session.release();
  });
});

afterAll(() => {
  if (report.length === 0) return;
  const lines = report.map((r) => `${r.op.padEnd(28)} output ${r.output.toExponential(1)}  grads ${r.grads.toExponential(1)}`);
  console.log(`max normwise relative error vs torch ${golden.torch} float64:\n${lines.join('\n')}`);
});
