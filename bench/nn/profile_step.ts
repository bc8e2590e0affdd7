/**
 * Where a training step spends its time: ORT's profiler over the policy-shaped step graph
 * (NOTES_POLICY_SHAPE, B=64, 1 thread), summed by op type and by node.
 *
 *   node --import tsx bench/nn/profile_step.ts [--weight-grad auto|taps|unfold|patches|transposedConv]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/core/rng.ts';
import { NOTES_POLICY_SHAPE, policyShapedModel } from '../../src/nn/examples/policy_shaped.ts';
import { f32 } from '../../src/nn/inputs.ts';
import type { ConvWeightGrad } from '../../src/nn/ops/conv2d.ts';
import { msePerSample, weightedMean } from '../../src/nn/ops/losses.ts';
import { randomStepFeeds } from './step_feeds.ts';

const B = 64;
const RUNS = 4;
const flag = process.argv.indexOf('--weight-grad');
const convWeightGrad = (flag >= 0 ? process.argv[flag + 1] : 'auto') as ConvWeightGrad;
const cfg = { ...NOTES_POLICY_SHAPE, convWeightGrad };
const model = policyShapedModel(cfg);
const graph = model.buildTrainStep({
  batchSize: B,
  targets: { target: f32(cfg.chunk, cfg.actionDim), weight: f32() },
  loss: (t, o, b) => weightedMean(t, msePerSample(t, o.v, b.target), b.weight),
  optimizer: { lr: 1e-4 },
});
const prefix = join(tmpdir(), `flowsteer-nn-profile-${process.pid}`);
const session = await ort.InferenceSession.create(graph.bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, enableProfiling: true, profileFilePrefix: prefix });

const rng = new Rng(0);
const params = model.initParams(rng);
const feeds = randomStepFeeds(graph, model.paramSpecs, params, rng, { vocabSize: cfg.vocab, step: 1, lr: 1e-4, moments: 'zero' });
for (let i = 0; i < RUNS; i++) await session.run(feeds);
session.endProfiling();
// endProfiling's return value is empty in onnxruntime-node 1.30: find the file by prefix.
const file = readdirSync(tmpdir()).filter((f) => f.startsWith(`flowsteer-nn-profile-${process.pid}`)).map((f) => join(tmpdir(), f))[0];
if (!file) throw new Error('profile file not found');
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args: { op_name?: string } }[];
rmSync(file);

const byOp = new Map<string, number>();
const byNode = new Map<string, number>();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const ms = e.dur / 1000 / RUNS;
  byOp.set(e.args.op_name ?? '?', (byOp.get(e.args.op_name ?? '?') ?? 0) + ms);
  const node = e.name.replace(/_kernel_time$/, '');
  byNode.set(node, (byNode.get(node) ?? 0) + ms);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
const table = (m: Map<string, number>, n: number): string =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `  ${k.padEnd(28)} ${v.toFixed(1).padStart(7)} ms  ${((100 * v) / total).toFixed(0).padStart(3)}%`).join('\n');
console.log(`policy-shaped step, B=${B}, ${graph.nodeCount} nodes, conv weight grad '${convWeightGrad}': ${total.toFixed(1)} ms of kernel time per step`);
console.log(`by op type:\n${table(byOp, 12)}\nby node:\n${table(byNode, 10)}`);
