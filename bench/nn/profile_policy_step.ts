/**
 * Where the default policy's training step spends its time: ORT's profiler over the step
 * graph `flowsteer train` runs (policies/configs/pick-place.json, cameras front + wrist 64x64,
 * S = A = 7, B = 64, one thread), summed by op type and by node (with output shapes), plus the
 * unprofiled step time of a second session in the same process.
 *
 *   node --import tsx bench/nn/profile_policy_step.ts [--config FILE] [--runs N] [--nodes N] [--part PREFIX]
 *
 * --part lists only the nodes of the parts whose label starts with PREFIX (e.g. 'other', 'AdamW').
 *
 * Kernel times move with the machine's load; compare parts within one run.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/core/rng.ts';
import { randomStepFeeds } from './step_feeds.ts';
import { policyTrainStep } from '../../src/train/policy_train_step.ts';
import { loadTrainConfigFile } from '../../src/train/config.ts';
import { flowPolicyModel } from '../../src/train/model.ts';

const { values: flags } = parseArgs({
  options: {
    config: { type: 'string', default: 'policies/configs/pick-place.json' },
    runs: { type: 'string', default: '4' },
    nodes: { type: 'string', default: '25' },
    part: { type: 'string' },
  },
});
const RUNS = Number(flags.runs);
const config = loadTrainConfigFile(flags.config);
const cfg = config.policy;
const B = config.batchSize;
const dims = { stateDim: 7, actionDim: 7, cameras: [{ name: 'front', height: 64, width: 64 }, { name: 'wrist', height: 64, width: 64 }], vocabSize: 24 };
const A = dims.actionDim;
const model = flowPolicyModel(cfg, dims);
const graph = model.buildTrainStep(policyTrainStep(config, A));

const rng = new Rng(0);
const params = model.initParams(rng);
const feeds = randomStepFeeds(graph, model.paramSpecs, params, rng, { vocabSize: dims.vocabSize, step: 3, lr: config.lr, moments: 'from-weights' });

const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`load average at start: ${load()}`);

// Unprofiled step time.
const plain = await ort.InferenceSession.create(graph.bytes, options);
for (let i = 0; i < 2; i++) await plain.run(feeds);
const times: number[] = [];
const cpuTimes: number[] = [];
for (let i = 0; i < RUNS * 2; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await plain.run(feeds);
  const c = process.cpuUsage(c0);
  times.push(performance.now() - t0);
  cpuTimes.push((c.user + c.system) / 1000);
}
cpuTimes.sort((a, b) => a - b);
await plain.release();
times.sort((a, b) => a - b);

const prefix = `flowsteer-policy-profile-${process.pid}`;
const session = await ort.InferenceSession.create(graph.bytes, { ...options, enableProfiling: true, profileFilePrefix: join(tmpdir(), prefix) });
// One more run than counted: each node's first event (the warm-up run, which allocates) is skipped.
for (let i = 0; i <= RUNS; i++) await session.run(feeds);
session.endProfiling();
await session.release();
// endProfiling's return value is empty in onnxruntime-node 1.30: find the file by prefix.
const file = readdirSync(tmpdir()).filter((f) => f.startsWith(prefix)).map((f) => join(tmpdir(), f))[0];
if (!file) throw new Error('profile file not found');
type Event = { cat: string; name: string; dur: number; args: { op_name?: string; output_type_shape?: Record<string, number[]>[]; input_type_shape?: Record<string, number[]>[] } };
const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
rmSync(file);

const byOp = new Map<string, number>();
const byNode = new Map<string, { ms: number; op: string; shapes: string }>();
const byOpShape = new Map<string, { ms: number; nodes: Set<string> }>();
const byPart = new Map<string, number>();
const MAP_SIZE = B * 16 * 8 * 8; // the smallest encoder feature map
const numel = (shape: number[] | undefined) => (shape ?? []).reduce((a, b) => a * b, 1);
/**
 * The rows of BENCHMARKS.md's profile table, from the node's phase (the step graph names
 * nodes fwd/, bwd/, opt/; ORT's NCHWc rewrites drop the name), op type and shapes.
 */
function part(node: string, op: string, inputs: number[][], output: number[] | undefined): string {
  const phase = node.split('/')[0];
  if (phase === 'opt') return 'AdamW, clipping, norms on the parameters';
  if (op === 'ReorderInput' || op === 'ReorderOutput') return 'NCHWc layout reorders (around ORT\'s blocked-layout convs)';
  if (op === 'ConvTranspose') return 'conv input gradients (ConvTranspose)';
  if (op === 'Conv') return phase === 'fwd' ? 'conv forward' : 'conv weight gradients: Conv nodes (one-hot windows; the transposed-conv form)';
  if (phase === 'bwd' && (op === 'FusedMatMul' || op === 'MatMul') && output?.length === 3 && output[0] === B) return 'conv weight gradients: per-sample products';
  if (phase === 'bwd' && op === 'ReduceSum' && inputs[0]?.length === 3 && inputs[0][0] === B) return 'conv weight gradients: sum over the batch';
  // The older forms (kept selectable): im2col by slices, one Gemm over K = B*Ho*Wo.
  if (phase === 'bwd' && ['Slice', 'Pad', 'Concat', 'Transpose'].includes(op) && numel(output) >= MAP_SIZE) return 'conv weight gradients: im2col copies and transposes';
  if (phase === 'bwd' && op === 'Gemm' && (inputs[0]?.[1] ?? 0) >= MAP_SIZE / 16) return 'conv weight gradients: patch Gemms';
  if (['Mul', 'Add', 'Sub', 'Sigmoid', 'Div', 'ReduceSum'].includes(op) && (inputs[0]?.length ?? 0) === 4 && numel(inputs[0]) >= MAP_SIZE) return 'elementwise on feature maps (SiLU, FiLM, bias grads)';
  if (['Gemm', 'MatMul', 'FusedMatMul'].includes(op)) return 'Linear layers, forward + backward';
  return 'other (shape ops, small tensors, losses, attention pooling)';
}
const seen = new Set<string>();
/** Each node's fastest run: on a shared machine the sum of these is a load-robust figure. */
const fastest = new Map<string, number>();
const partOf = new Map<string, string>();
const shapeText = (s: Record<string, number[]>[] | undefined) => (s ?? []).map((o) => `[${Object.values(o)[0]}]`).join(' ');
const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.dur / 1000).sort((a, b) => a - b);
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const node = e.name.replace(/_kernel_time$/, '');
  if (!seen.has(node)) {
    seen.add(node);
    continue;
  }
  const ms = e.dur / 1000 / RUNS;
  const first = !fastest.has(node);
  fastest.set(node, Math.min(fastest.get(node) ?? Infinity, e.dur / 1000));
  const op = e.args.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + ms);
  const prev = byNode.get(node);
  byNode.set(node, { ms: (prev?.ms ?? 0) + ms, op, shapes: `${shapeText(e.args.input_type_shape)} -> ${shapeText(e.args.output_type_shape)}` });
  const shapes = (l: Record<string, number[]>[] | undefined) => (l ?? []).map((o) => Object.values(o)[0] as number[]);
  if (first) {
    const label = part(node, op, shapes(e.args.input_type_shape), shapes(e.args.output_type_shape)[0]);
    partOf.set(node, label);
  }
  const key = `${op} -> ${shapeText(e.args.output_type_shape)}`;
  const entry = byOpShape.get(key) ?? { ms: 0, nodes: new Set<string>() };
  entry.ms += ms;
  entry.nodes.add(node);
  byOpShape.set(key, entry);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
const pct = (v: number) => `${((100 * v) / total).toFixed(0).padStart(3)}%`;
console.log(
  `default policy step (${flags.config}), B=${B}, ${graph.nodeCount} nodes, ${model.paramCount} params: ` +
    `${total.toFixed(1)} ms of kernel time per step (profiled; sum of each node's fastest of ${RUNS} runs: ${[...fastest.values()].reduce((a, b) => a + b, 0).toFixed(1)} ms), unprofiled step p50 ${times[times.length >> 1]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}; CPU p50 ${cpuTimes[cpuTimes.length >> 1]!.toFixed(1)}, min ${cpuTimes[0]!.toFixed(1)}); ` +
    `profiled model_run fastest ${modelRuns[0]?.toFixed(1)} ms (so ${((modelRuns[0] ?? 0) - [...fastest.values()].reduce((a, b) => a + b, 0)).toFixed(1)} ms outside kernels at best)`,
);
for (const [node, ms] of fastest) byPart.set(partOf.get(node) as string, (byPart.get(partOf.get(node) as string) ?? 0) + ms);
const fastestTotal = [...fastest.values()].reduce((a, b) => a + b, 0);
console.log(`by part (each node's fastest run; ${fastestTotal.toFixed(1)} ms in all):`);
for (const [k, v] of [...byPart].sort((a, b) => b[1] - a[1])) console.log(`  ${v.toFixed(2).padStart(7)} ms ${((100 * v) / fastestTotal).toFixed(0).padStart(3)}%  ${k}`);
console.log('by op type:');
for (const [k, v] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(22)} ${v.toFixed(2).padStart(7)} ms ${pct(v)}`);
console.log('by op type and output shape:');
for (const [k, v] of [...byOpShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(flags.nodes))) {
  console.log(`  ${v.ms.toFixed(2).padStart(6)} ms  ${String(v.nodes.size).padStart(3)} nodes  ${k}`);
}
console.log('by node:');
for (const [k, v] of [...byNode].filter(([k]) => flags.part === undefined || (partOf.get(k) ?? '').startsWith(flags.part)).sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(flags.nodes))) {
  console.log(`  ${v.ms.toFixed(2).padStart(6)} ms  ${v.op.padEnd(16)} ${k.padEnd(22)} ${v.shapes}`);
}
console.log(`load average at end: ${load()}`);
