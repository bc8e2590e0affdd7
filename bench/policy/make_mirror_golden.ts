/**
 * Regenerates test/bench/fixtures/torch_mirror_golden.json: tiny flow-matching policies (one per
 * pooling mode, with and without FiLM and the language projection, non-square cameras, every normalisation mode) whose sampled actions come from the
 * PyTorch mirror (bench/policy/torch_mirror.py), an implementation of src/train/model.ts written
 * independently in torch. The fixture stores the weights, the raw observations, the noise and
 * torch's actions; test/bench/torch_mirror_golden.test.ts rebuilds our bundle from the same
 * weights (src/train/export.ts) and checks OnnxPolicy's actions against torch's, without Python.
 *
 *   bash bench/setup_venv.sh && node --import tsx bench/policy/make_mirror_golden.ts
 *
 * Regenerate when the architecture changes on purpose (and update torch_mirror.py to match first).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { PolicyConfigSchema } from '../../src/train/config.ts';
import { writePolicyBundle } from '../../src/train/export.ts';
import { SUBGOAL_SCOPE, flowPolicyModel, type PolicyDims } from '../../src/train/model.ts';
import type { Observation } from '../../src/core/observation.ts';
import type { NormalizationSpec } from '../../src/policy/manifest.ts';
import type { BundleInfo } from '../../src/train/export.ts';

const MIRROR_GOLDEN_FILE = 'test/bench/fixtures/torch_mirror_golden.json';

/** One tiny policy: what the fixture stores besides weights, observations, noise and torch's actions. */
interface MirrorGoldenDef {
  readonly name: string;
  readonly seed: number;
  /** PolicyConfig input (defaults fill the rest). */
  readonly config: Record<string, unknown>;
  readonly dims: Omit<PolicyDims, 'vocabSize'>;
  readonly vocab: readonly string[];
  readonly normalization: { readonly state: NormalizationSpec; readonly action: NormalizationSpec };
  readonly tasks: readonly string[];
}

/** The manifest fields of a golden case's bundle. */
function goldenBundleInfo(def: Pick<MirrorGoldenDef, 'name' | 'dims' | 'vocab' | 'normalization'>): BundleInfo {
  return {
    name: def.name,
    fps: 20,
    stateNames: Array.from({ length: def.dims.stateDim }, (_, i) => `s${i}`),
    actionNames: Array.from({ length: def.dims.actionDim }, (_, i) => `a${i}`),
    normalization: def.normalization,
    vocab: def.vocab,
    created: new Date('2026-01-01T00:00:00Z'),
  };
}

const VOCAB = ['<pad>', '<unk>', 'put', 'the', 'red', 'blue', 'cube', 'in', 'left', 'right', 'bin'];
const TASKS = [
  'put the red cube in the left bin',
  'Put the BLUE cube, in the right bin!', // case, punctuation
  'put the green cube in the left bin and the blue cube in the right bin', // unknown word, truncated
  '!!!', // no tokens: the masked mean divides by max(1, 0)
];
const meanStd = (n: number, k: number): NormalizationSpec => ({ mode: 'mean_std', mean: Array.from({ length: n }, (_, i) => 0.1 * (i - 1) * k), std: Array.from({ length: n }, (_, i) => 0.4 + 0.2 * i) });
const minMax = (n: number): NormalizationSpec => ({ mode: 'min_max', min: Array.from({ length: n }, (_, i) => -1 - 0.2 * i), max: Array.from({ length: n }, (_, i) => 0.5 + 0.3 * i) });

const CASES: MirrorGoldenDef[] = [
  {
    name: 'spatial_softmax_2cam',
    seed: 1,
    config: { chunkSize: 4, samplerSteps: 3, vision: { channels: [4, 8], strides: [2, 1], pool: 'spatial_softmax', keypoints: 4, features: 8 }, language: { dim: 8, maxLength: 6 }, stateFeatures: 8, head: { hidden: 32, depth: 2, timeDim: 8 }, subgoal: { weight: 0.5, hidden: 4 } },
    dims: { stateDim: 5, actionDim: 3, cameras: [{ name: 'left', height: 12, width: 20 }, { name: 'wrist', height: 16, width: 8 }] },
    vocab: VOCAB,
    normalization: { state: meanStd(5, 1), action: minMax(3) },
    tasks: TASKS,
  },
  {
    name: 'avg_pool',
    seed: 2,
    config: { chunkSize: 3, samplerSteps: 5, vision: { channels: [4, 8, 8], strides: [2, 2, 1], pool: 'avg', features: 8 }, language: { dim: 6, maxLength: 8 }, stateFeatures: 4, head: { hidden: 16, depth: 1, timeDim: 4 }, subgoal: { weight: 0 } },
    dims: { stateDim: 3, actionDim: 2, cameras: [{ name: 'front', height: 16, width: 16 }] },
    vocab: VOCAB,
    normalization: { state: { mode: 'identity' }, action: meanStd(2, 2) },
    tasks: TASKS,
  },
  {
    name: 'flatten_no_film',
    seed: 3,
    config: { chunkSize: 2, samplerSteps: 2, vision: { channels: [3], strides: [2], pool: 'flatten', film: false, features: 6 }, language: { dim: 4, maxLength: 4, project: false }, subgoal: { weight: 0 }, stateFeatures: 4, head: { hidden: 16, depth: 3, timeDim: 6 } },
    dims: { stateDim: 4, actionDim: 4, cameras: [{ name: 'top', height: 8, width: 6 }] },
    vocab: VOCAB,
    normalization: { state: minMax(4), action: { mode: 'identity' } },
    tasks: TASKS,
  },
];

function goldenObservations(def: MirrorGoldenDef, rng: Rng): Observation[] {
  return def.tasks.map((task) => ({
    state: Float32Array.from({ length: def.dims.stateDim }, () => rng.normal()),
    images: Object.fromEntries(def.dims.cameras.map((c) => [c.name, { width: c.width, height: c.height, rgb: Uint8Array.from({ length: c.width * c.height * 3 }, () => rng.int(256)) }])),
    task,
  }));
}

const VENV_PYTHON = '.venv-ref/bin/python';
const work = mkdtempSync(join(tmpdir(), 'flowsteer-mirror-golden-'));
const cases: unknown[] = [];
for (const def of CASES) {
  const cfg = PolicyConfigSchema.parse(def.config);
  const dims: PolicyDims = { ...def.dims, vocabSize: def.vocab.length };
  const model = flowPolicyModel(cfg, dims);
  // Initialisation plus 0.05 N(0, 1), so zero- and one-initialised parts (FiLM, LayerNorm affine) are exercised.
  const noiseRng = new Rng(def.seed + 100);
  const params = new Map([...model.initParams(new Rng(def.seed))].map(([name, v]) => [name, v.map((x) => x + 0.05 * noiseRng.normal())]));
  const dir = join(work, def.name);
  writePolicyBundle(dir, cfg, dims, params, goldenBundleInfo(def));
  const rng = new Rng(def.seed + 1);
  const observations = goldenObservations(def, rng);
  const noise = Float32Array.from({ length: observations.length * cfg.chunkSize * def.dims.actionDim }, () => rng.normal());
  const check = {
    observations: observations.map((o) => ({ state: [...o.state], task: o.task, images: Object.fromEntries(Object.entries(o.images).map(([k, f]) => [k, Buffer.from(f.rgb).toString('base64')])) })),
    noise: [...noise],
  };
  const spec = join(work, `${def.name}.json`);
  writeFileSync(spec, JSON.stringify({ bundle: dir, config: cfg, check }));
  const r = spawnSync(VENV_PYTHON, ['bench/policy/torch_mirror.py', '--spec', spec, '--phase', 'sample'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`torch_mirror.py failed for ${def.name} (exit ${r.status})`);
  const torch = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { param_count: number; action: number[]; action_normalized: number[]; torch: string };
  const exported = model.paramSpecs.filter((p) => !p.name.startsWith(`${SUBGOAL_SCOPE}.`)).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  if (torch.param_count !== exported) throw new Error(`${def.name}: torch has ${torch.param_count} parameters, our bundle ${exported}`);
  // How far we are today, printed for the record (the test asserts it).
  const policy = await OnnxPolicy.load(dir);
  const ours = policy.sample(observations, noise);
  policy.dispose();
  const diff = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - (torch.action[i] as number))), 0);
  console.log(`${def.name}: ${model.paramCount} params, torch ${torch.torch}, max |torch - ours| = ${diff.toExponential(2)}`);
  cases.push({
    ...def,
    params: Object.fromEntries(model.paramSpecs.map((s) => [s.name, { shape: [...s.shape], float32_base64: Buffer.from((params.get(s.name) as Float32Array).buffer).toString('base64') }])),
    observations: check.observations,
    noise: check.noise,
    torch_action: torch.action,
    torch_action_normalized: torch.action_normalized,
  });
}
writeFileSync(
  MIRROR_GOLDEN_FILE,
  JSON.stringify({ producer: 'bench/policy/make_mirror_golden.ts + bench/policy/torch_mirror.py (torch 2.13.0+cpu)', cases }, null, 1) + '\n',
);
rmSync(work, { recursive: true, force: true });
console.log(`wrote ${MIRROR_GOLDEN_FILE}`);
