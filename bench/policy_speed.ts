/**
 * The policy benchmark of issue #3: the default architecture (policies/configs/pick-place.json)
 * in flowsteer versus the same architecture and weights in PyTorch 2.13 CPU
 * (bench/policy/torch_mirror.py, run in the .venv-ref venv), side by side in one run:
 *
 *   1. same architecture and weights: torch loads the bundle's sample.onnx initializers and
 *      samples from the same raw observations and noise; the largest |torch - ours| of the
 *      actions must be < 1e-4 (the script fails otherwise).
 *   2. sampling latency, B = 1 and B = 64, one thread each: p50/p99 per call. Ours is
 *      `OnnxPolicy.sample` (the full call: tokenise, normalise, HWC uint8 -> NCHW float, run,
 *      unnormalise) and the graph alone (prebuilt tensors); torch is eager under
 *      `inference_mode` with its own preprocessing, and the model alone. Noise is passed in on
 *      both sides (drawing it is the caller's choice).
 *   3. training steps/s at the config's batch (64): flow-matching MSE with t ~ Beta and noise
 *      drawn every step, global-norm clip, AdamW, 1 and 2 threads; median of 5 timed runs after
 *      warm-up. Ours runs the step graph in this thread (`useWorker: false`); images are fixed
 *      random data on both sides (no augmentation, no data loading).
 *
 * Weights: `policies/default` when it exists (or `--bundle DIR`), else a bundle written from the
 * config's initialisation (seed 0, plus 0.05 N(0, 1) so zero-initialised FiLM layers count in the check) with the pick-place dataset's shapes (cameras front + wrist
 * 64x64, 7 joint states, 7 joint targets, the task's instruction vocabulary).
 *
 *   node --import tsx bench/policy_speed.ts [--bundle DIR] [--config FILE] [--threads 1,2] [--quick] [--no-torch] [--torch-compile] [--only latency|train]
 *
 * --only runs one of sections 2 and 3 (the weights check, section 1, always runs).
 * --torch-compile adds torch.compile'd sampler rows (about a minute of compilation per batch
 * size); KEEP_BENCH_DIR=1 keeps the temporary directory (bundle + spec.json) for running
 * bench/policy/torch_mirror.py by hand.
 *
 * The machine is shared: each line also gives CPU time per call (or steps per CPU-second) of
 * the measuring process, and the load average is printed around each section.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import type { Observation } from '../src/core/observation.ts';
import { KEYS, imageKey } from '../src/core/keys.ts';
import { Rng } from '../src/core/rng.ts';
import { Trainer } from '../src/nn/index.ts';
import { GRAPH_NAMES, readPolicyManifest, type PolicyManifest } from '../src/policy/manifest.ts';
import { Normalizer } from '../src/policy/normalize.ts';
import { OnnxPolicy } from '../src/policy/onnx_policy.ts';
import { OrtSession } from '../src/policy/ort_session.ts';
import { WordTokenizer } from '../src/policy/tokenizer.ts';
import { loadTrainConfigFile, type TrainConfig } from '../src/train/config.ts';
import { writePolicyBundle } from '../src/train/export.ts';
import { interpolate, sampleFlowTime } from '../src/train/flow_matching.ts';
import { POLICY_INPUTS, flowPolicyModel, type PolicyDims } from '../src/train/model.ts';
import { policyTrainStep } from '../src/train/policy_train_step.ts';

const { values: flags } = parseArgs({
  options: {
    bundle: { type: 'string' },
    config: { type: 'string', default: 'policies/configs/pick-place.json' },
    threads: { type: 'string', default: '1,2' },
    quick: { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    'torch-compile': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
if (flags.only !== undefined && flags.only !== 'latency' && flags.only !== 'train') throw new Error(`--only: expected 'latency' or 'train', got '${flags.only}'`);
const runLatency = flags.only !== 'train';
const runTrain = flags.only !== 'latency';
const VENV_PYTHON = '.venv-ref/bin/python';
const MIRROR = 'bench/policy/torch_mirror.py';
const CHECK_TOLERANCE = 1e-4;
const LATENCY = flags.quick ? [{ batch: 1, calls: 40 }, { batch: 64, calls: 6 }] : [{ batch: 1, calls: 200 }, { batch: 64, calls: 30 }];
const TRAIN = { stepsPerRun: flags.quick ? 2 : 6, runs: flags.quick ? 3 : 5 };
const threadList = flags.threads.split(',').map(Number);

// pick-place (sim/tasks/pick_place.ts): instruction templates, colours and sides.
const COLOURS = ['red', 'green', 'blue'];
const SIDES = ['left', 'right'];
const TEMPLATES = [
  (c: string, s: string) => `put the ${c} cube in the ${s} bin`,
  (c: string, s: string) => `place the ${c} block into the ${s} bin`,
  (c: string, s: string) => `move the ${c} cube to the ${s} bin`,
  (c: string, s: string) => `pick up the ${c} cube and drop it in the ${s} bin`,
  (c: string, s: string) => `put the ${c} block in the bin on the ${s}`,
];
const INSTRUCTIONS = TEMPLATES.flatMap((t) => COLOURS.flatMap((c) => SIDES.map((s) => t(c, s))));

const config = loadTrainConfigFile(flags.config);
const cfg = config.policy;
const work = mkdtempSync(join(tmpdir(), 'flowsteer-policy-bench-'));
if (!process.env.KEEP_BENCH_DIR) process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Nearest-rank percentile of sorted values (as torch_mirror.py). */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
}

/** The bundle to measure: --bundle, policies/default, or one written from the config's initialisation. */
function resolveBundle(): { dir: string; origin: string } {
  const dir = flags.bundle ?? (existsSync('policies/default/policy.json') ? 'policies/default' : undefined);
  if (dir) return { dir, origin: `trained weights of ${dir}` };
  const words = [...new Set(INSTRUCTIONS.flatMap((s) => s.split(' ')))].sort();
  const dims: PolicyDims = {
    stateDim: 7,
    actionDim: 7,
    cameras: [
      { name: 'front', height: 64, width: 64 },
      { name: 'wrist', height: 64, width: 64 },
    ],
    vocabSize: words.length + 2,
  };
  const model = flowPolicyModel(cfg, dims);
  const out = join(work, 'bundle');
  const names = ['pan', 'shoulder', 'elbow', 'wrist_pitch', 'wrist_yaw', 'wrist_roll', 'gripper'];
  const stats = (k: number) => ({ mode: 'mean_std' as const, mean: names.map((_, i) => 0.1 * (i - 3) * k), std: names.map((_, i) => 0.3 + 0.05 * i) });
  // Initialisation plus 0.05 N(0, 1): zero-initialised parts (FiLM) must not hide from the check.
  const rng = new Rng(config.seed + 1);
  const params = new Map([...model.initParams(new Rng(config.seed))].map(([name, v]) => [name, v.map((x) => x + 0.05 * rng.normal())]));
  writePolicyBundle(out, cfg, dims, params, {
    name: 'bench-init',
    task: 'pick-place',
    fps: 20,
    stateNames: names.map((n) => `${n}.pos`),
    actionNames: names.map((n) => `${n}.target`),
    normalization: { state: stats(1), action: stats(2) },
    vocab: ['<pad>', '<unk>', ...words],
  });
  return { dir: out, origin: `initial weights + 0.05 N(0, 1) (seed ${config.seed}; no policies/default yet)` };
}

function observations(manifest: PolicyManifest, B: number, rng: Rng, instructions: readonly string[]): Observation[] {
  return Array.from({ length: B }, (_, b) => ({
    state: Float32Array.from({ length: manifest.state_dim }, () => 0.5 * rng.normal()),
    images: Object.fromEntries(
      manifest.cameras.map((c) => [c.name, { width: c.width, height: c.height, rgb: Uint8Array.from({ length: c.width * c.height * 3 }, () => rng.int(256)) }]),
    ),
    task: instructions[b % instructions.length] as string,
  }));
}

/** The sampling graph's feeds, built the way OnnxPolicy builds them (for the graph-only time). */
function graphFeeds(manifest: PolicyManifest, obs: readonly Observation[], noise: Float32Array): Record<string, ort.Tensor> {
  const B = obs.length;
  const S = manifest.state_dim;
  const state = new Float32Array(B * S);
  obs.forEach((o, b) => state.set(o.state, b * S));
  const norm = new Normalizer(manifest.normalization[KEYS.state], S, KEYS.state);
  const feeds: Record<string, ort.Tensor> = { [KEYS.state]: new ort.Tensor('float32', norm.normalize(state), [B, S]) };
  for (const c of manifest.cameras) {
    const plane = c.height * c.width;
    const img = new Float32Array(B * 3 * plane);
    obs.forEach((o, b) => {
      const rgb = o.images[c.name]!.rgb;
      for (let p = 0; p < plane; p++) for (let ch = 0; ch < 3; ch++) img[(b * 3 + ch) * plane + p] = rgb[3 * p + ch]! / 255;
    });
    feeds[imageKey(c.name)] = new ort.Tensor('float32', img, [B, 3, c.height, c.width]);
  }
  const { tokens, mask } = new WordTokenizer(manifest.tokenizer).encode(obs.map((o) => o.task));
  const L = manifest.tokenizer.max_length;
  feeds[GRAPH_NAMES.tokens] = new ort.Tensor('int64', tokens, [B, L]);
  feeds[GRAPH_NAMES.mask] = new ort.Tensor('float32', mask, [B, L]);
  feeds[GRAPH_NAMES.noise] = new ort.Tensor('float32', noise, [B, manifest.chunk_size, manifest.action_dim]);
  return feeds;
}

function torchPhase(spec: string, args: string[]): Record<string, unknown> | undefined {
  if (flags['no-torch']) return undefined;
  if (!existsSync(VENV_PYTHON)) spawnSync('bash', ['bench/setup_venv.sh'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const r = spawnSync(VENV_PYTHON, [MIRROR, '--spec', spec, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${MIRROR} ${args.join(' ')} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
}

interface Latency {
  p50: number;
  p99: number;
  cpu_ms_per_call: number;
}

/** Times each function `calls` times after warm-up, interleaved call by call so both see the same machine load. */
function timeInterleaved(calls: number, fns: readonly (() => void)[]): Latency[] {
  for (let i = 0; i < Math.max(5, calls / 10); i++) for (const fn of fns) fn();
  const ms = fns.map(() => [] as number[]);
  const cpu = fns.map(() => 0);
  for (let i = 0; i < calls; i++) {
    fns.forEach((fn, k) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn();
      ms[k]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k]! += c.user + c.system;
    });
  }
  return ms.map((m, k) => {
    m.sort((a, b) => a - b);
    return { p50: percentile(m, 0.5), p99: percentile(m, 0.99), cpu_ms_per_call: cpu[k]! / 1000 / calls };
  });
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);
const ratio = (ours: number, ref: number | undefined) => (ref ? fmt(ours / ref) : 'n/a');

// ---------------------------------------------------------------------------------------------
const bundle = resolveBundle();
const manifest = readPolicyManifest(bundle.dir);
if (manifest.chunk_size !== cfg.chunkSize || manifest.sampler.steps !== cfg.samplerSteps)
  throw new Error(`${bundle.dir}: chunk ${manifest.chunk_size} / ${manifest.sampler.steps} steps, but ${flags.config} says ${cfg.chunkSize} / ${cfg.samplerSteps}`);
const dims: PolicyDims = {
  stateDim: manifest.state_dim,
  actionDim: manifest.action_dim,
  cameras: manifest.cameras,
  vocabSize: manifest.tokenizer.vocab.length,
};
const model = flowPolicyModel(cfg, dims);
const H = manifest.chunk_size;
const A = manifest.action_dim;
console.log('Policy: sampling latency and training throughput (bench/policy_speed.ts)');
console.log(
  `\narchitecture ${flags.config} (${model.paramCount} params; cameras ${manifest.cameras.map((c) => `${c.name} ${c.width}x${c.height}`).join(', ')}; ` +
    `S=${dims.stateDim} A=${A} H=${H} K=${manifest.sampler.steps}; vision ${cfg.vision.channels.join('-')} ${cfg.vision.pool}; head ${cfg.head.depth}x${cfg.head.hidden}), ${bundle.origin}`,
);
console.log(`load average at start: ${load()} (2-core machine)`);

const policy = await OnnxPolicy.load(bundle.dir, { intraOpNumThreads: 1 });

// 1. Same architecture and weights ------------------------------------------------------------
const checkRng = new Rng(7);
const checkObs = observations(manifest, 3, checkRng, [INSTRUCTIONS[3] as string, 'Put the RED cube, please, in the left bin', 'place the green block into the right bin and then pick up the blue cube and drop it in the left bin twice']);
const checkNoise = policy.drawNoise(3, checkRng);
const checkAction = policy.sample(checkObs, checkNoise);
const graphSession = OrtSession.open(join(bundle.dir, manifest.graphs.sample.file), { intraOpNumThreads: 1 });
const checkFeeds = graphFeeds(manifest, checkObs, checkNoise);
const checkNormalized = graphSession.run(checkFeeds, [GRAPH_NAMES.action])[GRAPH_NAMES.action]!.data as Float32Array;
const unnormalized = new Normalizer(manifest.normalization[KEYS.action], A, KEYS.action).unnormalize(checkNormalized);
if (unnormalized.some((v, i) => v !== checkAction[i])) throw new Error('graphFeeds differs from OnnxPolicy: the graph-only figures would not time the same computation');
const spec = join(work, 'spec.json');
writeFileSync(
  spec,
  JSON.stringify({
    bundle: bundle.dir,
    config: cfg,
    train: { batchSize: config.batchSize, lr: config.lr, betas: config.betas, eps: 1e-8, weightDecay: config.weightDecay, gradClip: config.gradClip, timeBeta: cfg.timeBeta },
    instructions: INSTRUCTIONS,
    check: {
      observations: checkObs.map((o) => ({ state: [...o.state], task: o.task, images: Object.fromEntries(Object.entries(o.images).map(([k, f]) => [k, Buffer.from(f.rgb).toString('base64')])) })),
      noise: [...checkNoise],
      action: [...checkAction],
      action_normalized: [...checkNormalized],
      tokens: [...(checkFeeds[GRAPH_NAMES.tokens]!.data as BigInt64Array)].map(Number),
    },
  }),
);
const check = torchPhase(spec, ['--phase', 'check']) as { max_abs_diff_action: number; max_abs_diff_action_normalized: number; max_abs_action: number; tokens_equal: boolean; param_count: number; torch: string } | undefined;
if (check) {
  console.log(
    `\nsame weights: torch ${check.torch} loads the ${check.param_count} parameters of ${manifest.graphs.sample.file}; sampled actions (3 observations, fixed noise, ` +
      `|a| <= ${fmt(check.max_abs_action)}): max |torch - ours| = ${check.max_abs_diff_action.toExponential(2)} (normalised: ${check.max_abs_diff_action_normalized.toExponential(2)}); token ids equal: ${check.tokens_equal}`,
  );
  if (!(check.max_abs_diff_action < CHECK_TOLERANCE) || !check.tokens_equal) {
    console.log(`FAILED: torch and ours differ by more than ${CHECK_TOLERANCE}`);
    process.exitCode = 1;
  }
}

// 2. Sampling latency -------------------------------------------------------------------------
const latencyRatios: { batch: number; full: number; model: number }[] = [];
if (runLatency) {
  console.log(`\n### Sampling latency (one thread each; ms per call; ${LATENCY.map((l) => `B=${l.batch}: ${l.calls} calls`).join(', ')} after warm-up)\n`);
  console.log('| B | ours OnnxPolicy.sample (full call) p50 / p99 | ours graph only p50 / p99 | torch eager + preprocessing p50 / p99 | torch model only p50 / p99 | ratio full / torch full (p50) | ratio graph / torch model (p50) | CPU ms per call ours / torch (full) |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { batch, calls } of LATENCY) {
    const rng = new Rng(100 + batch);
    const obs = observations(manifest, batch, rng, INSTRUCTIONS);
    const noise = policy.drawNoise(batch, rng);
    const feeds = graphFeeds(manifest, obs, noise);
    const [full, graph] = timeInterleaved(calls, [() => policy.sample(obs, noise), () => graphSession.run(feeds, [GRAPH_NAMES.action])]) as [Latency, Latency];
    const torch = torchPhase(spec, ['--phase', 'latency', '--batch', String(batch), '--calls', String(calls), '--threads', '1']) as { full: Latency; model: Latency } | undefined;
    if (torch) latencyRatios.push({ batch, full: full.p50 / torch.full.p50, model: full.p50 / torch.model.p50 });
    const pair = (l: Latency | undefined) => (l ? `${fmt(l.p50)} / ${fmt(l.p99)}` : 'n/a');
    console.log(
      `| ${batch} | ${pair(full)} | ${pair(graph)} | ${pair(torch?.full)} | ${pair(torch?.model)} | ${ratio(full.p50, torch?.full.p50)} | ${ratio(graph.p50, torch?.model.p50)} | ${fmt(full.cpu_ms_per_call)} / ${torch ? fmt(torch.full.cpu_ms_per_call) : 'n/a'} |`,
    );
    if (flags['torch-compile']) {
      const compiled = torchPhase(spec, ['--phase', 'latency', '--batch', String(batch), '--calls', String(calls), '--threads', '1', '--compile']) as { full: Latency; model: Latency } | undefined;
      if (compiled) console.log(`| ${batch} (torch.compile) | | | ${pair(compiled.full)} | ${pair(compiled.model)} | ${ratio(full.p50, compiled.full.p50)} | ${ratio(graph.p50, compiled.model.p50)} | |`);
    }
  }
  console.log(`\nload average after latency: ${load()}`);
}

// 3. Training throughput ----------------------------------------------------------------------
const B = config.batchSize;
if (runTrain) {
  console.log(`\n### Training steps/s (batch ${B}; median of ${TRAIN.runs} runs of ${TRAIN.stepsPerRun} steps after warm-up; also steps per CPU-second of the process)\n`);
  console.log('| threads | ours (ONNX Runtime step graph) | PyTorch eager | ratio ours / torch (median) | steps per CPU-second ours / torch |');
  console.log('|---:|---:|---:|---:|---:|');
}
const trainRatios: number[] = [];
for (const threads of runTrain ? threadList : []) {
  const trainer = await Trainer.create(model, {
    trainStep: policyTrainStep(config, A), // exactly the step src/train/train.ts runs
    params: model.initParams(new Rng(config.seed)),
    intraOpNumThreads: threads,
    useWorker: false,
  });
  // Fixed observations; x_t, t and the target drawn every step as TrainingData.batch does.
  const rng = new Rng(1);
  const batch: Record<string, Float32Array | BigInt64Array> = {};
  for (const [name, s] of Object.entries(trainer.signature.batchInputs)) {
    const n = B * s.shape.reduce((a, b) => a * b, 1);
    batch[name] = s.dtype === 'int64' ? BigInt64Array.from({ length: n }, () => BigInt(rng.int(dims.vocabSize))) : Float32Array.from({ length: n }, () => rng.uniform());
  }
  (batch.weight as Float32Array).fill(1);
  const actions = Float32Array.from({ length: B * H * A }, () => rng.normal());
  const noise = new Float32Array(H * A);
  const step = async () => {
    const xT = batch[POLICY_INPUTS.xT] as Float32Array;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < H * A; i++) noise[i] = rng.normal();
      const t = sampleFlowTime(rng, cfg.timeBeta.alpha, cfg.timeBeta.beta);
      (batch[POLICY_INPUTS.time] as Float32Array)[b] = t;
      interpolate(actions.subarray(b * H * A, (b + 1) * H * A), noise, Math.fround(t), xT, batch.target as Float32Array, b * H * A);
    }
    return trainer.step(batch);
  };
  for (let i = 0; i < Math.max(3, TRAIN.stepsPerRun / 2); i++) await step();
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let r = 0; r < TRAIN.runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < TRAIN.stepsPerRun; i++) await step();
    const cpu = process.cpuUsage(c0);
    rates.push((TRAIN.stepsPerRun * 1000) / (performance.now() - t0));
    cpuRates.push((TRAIN.stepsPerRun * 1e6) / (cpu.user + cpu.system));
  }
  await trainer.dispose();
  rates.sort((a, b) => a - b);
  cpuRates.sort((a, b) => a - b);
  const mid = Math.floor(rates.length / 2);
  const ours = { median: rates[mid] as number, min: rates[0] as number, max: rates.at(-1) as number, cpu: cpuRates[mid] as number };
  const torch = torchPhase(spec, ['--phase', 'train', '--threads', String(threads), '--steps', String(TRAIN.stepsPerRun), '--runs', String(TRAIN.runs)]) as
    | { median: number; min: number; max: number; per_cpu_second: number }
    | undefined;
  if (torch) trainRatios.push(ours.median / torch.median);
  const cell = (r: { median: number; min: number; max: number } | undefined) => (r ? `${fmt(r.median)} steps/s (${fmt(r.min)}-${fmt(r.max)})` : 'n/a');
  console.log(`| ${threads} | ${cell(ours)} | ${cell(torch)} | ${ratio(ours.median, torch?.median)} | ${fmt(ours.cpu)} / ${torch ? fmt(torch.per_cpu_second) : 'n/a'} |`);
}
console.log(`\nload average at end: ${load()}`);

// Goals ---------------------------------------------------------------------------------------
console.log('');
for (const r of latencyRatios) {
  const worst = Math.max(r.full, r.model);
  console.log(
    `inference goal B=${r.batch} (<= 0.5x torch latency, p50 of our full call): ${fmt(r.full)}x torch with its preprocessing, ${fmt(r.model)}x torch model alone -> ${worst <= 0.5 ? 'met' : 'MISSED'}`,
  );
}
if (trainRatios.length) {
  const worst = Math.min(...trainRatios);
  console.log(`training goal (>= 1.0x torch steps/s): worst ratio ${fmt(worst)} (${threadList.map((t, i) => `${t} thread${t > 1 ? 's' : ''}: ${fmt(trainRatios[i] ?? NaN)}`).join(', ')}) -> ${worst >= 1 ? 'met' : 'MISSED'}`);
}

graphSession.dispose();
policy.dispose();
