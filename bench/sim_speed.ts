/**
 * Simulator throughput, each figure beside native MuJoCo 3.14 (the `mujoco` Python package, the
 * same MuJoCo version as @mujoco/mujoco) measured in the same run on the SAME MJCF file:
 *
 *   1. physics: `mj_step` calls/s on the pick-place scene (reach.xml if it does not exist), from a
 *      task reset state (arm at home holding position, cubes resting on the table) that the native
 *      run restores exactly (mj_getState/mj_setState, mjSTATE_INTEGRATION);
 *   2. SimEnv control steps/s (25 physics substeps + task terms + observation), render off and on;
 *   3. VecEnv env-steps/s with 1 and 2 worker threads (4 envs), render off and on;
 *   4. camera images/s, 64x64 RGB + depth (sim/camera.ts RayCamera) vs native mj_multiRay alone.
 *
 * Ratios: physics and camera to the native figure; control-step figures to the native physics
 * rate divided by the substeps per control step (what a control loop that did nothing but physics
 * would reach on one core). Every figure is a median of timed windows after a warm-up (the wasm
 * runs ~5x slower for its first second, while V8 optimises it). Wall-clock rates and rates per
 * CPU-second of the measuring process (on a shared machine the latter is closer to an idle core)
 * are both given; the 2-worker row's CPU figure counts both threads. The native script runs
 * before and after our measurements and its runs are pooled, so load changes on a shared machine
 * weigh on both sides alike; wasm and native states after the timed run are compared too.
 *
 *   node --import tsx bench/sim_speed.ts [--seconds 2] [--no-reference] [--no-setup]
 *
 * Writes bench/results/sim_speed.json. The reference venv (.venv-ref) is created by
 * bench/setup_venv.sh when missing; without it the table says so and still lists our figures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SimEnv } from '../sim/env.ts';
import { VecEnv } from '../sim/vec_env.ts';
import { RayCamera } from '../sim/camera.ts';
import { ASSETS_DIR } from '../sim/mujoco_loader.ts';
import { TASKS } from '../sim/tasks/index.ts';
import { ARM_DIM } from '../sim/arm.ts';
import { Rng } from '../src/core/rng.ts';
import { writeJsonAtomic } from '../src/core/atomic_write.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(REPO, 'bench', 'results', 'sim_speed.json');
const VENV_PYTHON = join(REPO, '.venv-ref', 'bin', 'python');
/** Physics steps per timed run (10 s of simulated time at 2 ms), both sides. */
const PHYSICS_STEPS = 5000;
const PHYSICS_RUNS = 5;
const VEC_ENVS = 4;
const CAMERA = { name: 'front', size: 64 } as const;

export interface SimSpeedOptions {
  /** Seconds per timed window (3 windows per figure). @default 1 */
  seconds?: number;
  /** Skip the native reference. @default false */
  noReference?: boolean;
  /** Do not run bench/setup_venv.sh when the venv is missing. @default false */
  noSetup?: boolean;
}

interface Rate {
  /** Median over windows, per wall-clock second. */
  perSecond: number;
  /** Median over windows, per CPU-second of this process (all its threads). */
  perCpuSecond: number;
}

export interface SimSpeedRow {
  name: string;
  unit: string;
  ours: Rate;
  /** The native figure this row is compared with, null without the reference. */
  reference: Rate | null;
  referenceLabel: string;
  /** ours / reference, wall clock and CPU time. */
  ratio: { wall: number; cpu: number } | null;
}

interface NativeResult {
  mujoco: string;
  steps_per_s: { median: number; best: number; runs: number[] };
  cpu_steps_per_s: { median: number; runs: number[] };
  final_qpos: number[];
  camera?: { images_per_s: { median: number; runs: number[] }; cpu_images_per_s: { median: number; runs: number[] }; hits: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs `work` (returns units done) for a warm-up, then 3 timed windows; medians of units/s. */
async function measure(seconds: number, work: () => number | Promise<number>): Promise<Rate> {
  const warm = performance.now();
  while (performance.now() - warm < 1000) await work();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let w = 0; w < 3; w++) {
    let units = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) units += await work();
    const dt = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    wall.push(units / dt);
    cpu.push(units / ((c.user + c.system) / 1e6));
  }
  return { perSecond: median(wall), perCpuSecond: median(cpu) };
}

/** Joint targets near home with noise, plus a random gripper command, for every arm of `numEnvs` envs. */
function randomActions(home: readonly (readonly number[])[], numEnvs: number, rng: Rng): Float32Array {
  const dim = home.length * ARM_DIM;
  const a = new Float32Array(numEnvs * dim);
  for (let e = 0; e < numEnvs; e++)
    home.forEach((h, arm) => {
      const o = e * dim + arm * ARM_DIM;
      for (let j = 0; j < 6; j++) a[o + j] = h[j]! + 0.1 * rng.normal();
      a[o + 6] = rng.uniform();
    });
  return a;
}

/** One run of bench/native_mujoco_reference.py from the state `init` (one core, like ours). */
function runNative(python: string, xml: string, init: Float64Array): NativeResult {
  const dir = mkdtempSync(join(tmpdir(), 'flowsteer-sim-speed-'));
  try {
    const statePath = join(dir, 'state.json');
    writeFileSync(statePath, JSON.stringify({ state: Array.from(init) }));
    const args = [join(REPO, 'bench', 'native_mujoco_reference.py'), xml, String(PHYSICS_STEPS), '--state', statePath, '--reps', String(PHYSICS_RUNS), '--camera', CAMERA.name, '--size', String(CAMERA.size)];
    const stdout = execFileSync(python, args, {
      encoding: 'utf8',
      timeout: 600_000,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as NativeResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Several native runs as one: medians over all their timed runs. */
function poolNative(runs: NativeResult[]): NativeResult {
  const all = (f: (r: NativeResult) => number[]) => runs.flatMap(f);
  const first = runs[0]!;
  const out: NativeResult = {
    ...first,
    steps_per_s: { median: median(all((r) => r.steps_per_s.runs)), best: Math.max(...all((r) => r.steps_per_s.runs)), runs: all((r) => r.steps_per_s.runs) },
    cpu_steps_per_s: { median: median(all((r) => r.cpu_steps_per_s.runs)), runs: all((r) => r.cpu_steps_per_s.runs) },
  };
  if (runs.every((r) => r.camera)) {
    out.camera = {
      ...first.camera!,
      images_per_s: { median: median(all((r) => r.camera!.images_per_s.runs)), runs: all((r) => r.camera!.images_per_s.runs) },
      cpu_images_per_s: { median: median(all((r) => r.camera!.cpu_images_per_s.runs)), runs: all((r) => r.camera!.cpu_images_per_s.runs) },
    };
  }
  return out;
}

/** The reference venv's python, creating the venv if asked; null (with the reason) when unavailable. */
function referencePython(options: SimSpeedOptions): { python: string | null; why: string } {
  const works = () => existsSync(VENV_PYTHON) && spawnSync(VENV_PYTHON, ['-c', 'import mujoco, numpy'], { stdio: 'ignore' }).status === 0;
  if (works()) return { python: VENV_PYTHON, why: '' };
  if (options.noSetup) return { python: null, why: `${relative(REPO, VENV_PYTHON)} cannot import mujoco (run bench/setup_venv.sh)` };
  console.log('[sim_speed] the reference venv is missing: running bench/setup_venv.sh ...');
  const setup = spawnSync('bash', [join(REPO, 'bench', 'setup_venv.sh')], { stdio: 'inherit' });
  if (setup.status === 0 && works()) return { python: VENV_PYTHON, why: '' };
  return { python: null, why: `bench/setup_venv.sh failed (exit ${setup.status}); native MuJoCo reference unavailable` };
}

export async function runSimSpeed(options: SimSpeedOptions = {}): Promise<{ rows: SimSpeedRow[]; markdown: string; json: Record<string, unknown> }> {
  const seconds = options.seconds ?? 1;
  const scene = existsSync(join(ASSETS_DIR, 'tasks', 'pick_place.xml')) ? 'tasks/pick_place.xml' : 'tasks/reach.xml';
  const taskName = Object.entries(TASKS).find(([, t]) => t.scene === scene)?.[0];
  if (!taskName) throw new Error(`no registered task uses ${scene}`);
  const xml = join(ASSETS_DIR, scene);
  const home = TASKS[taskName as keyof typeof TASKS].home;
  const loadStart = loadavg()[0]!;

  // The state both engines start every physics run from: a task reset, holding the home pose.
  const env = await SimEnv.create({ task: taskName, render: false });
  env.reset(0);
  const { sim } = env;
  const init = sim.getState();
  const substeps = sim.substeps;

  // ---- native reference: run before and after our figures, runs pooled, so that a change in the
  // load of a shared machine during the bench weighs on both sides alike -------------------------
  const nativeRuns: NativeResult[] = [];
  let nativeWhy = 'skipped (--no-reference)';
  let python: string | null = null;
  const runNativeOnce = () => {
    if (!python) return;
    try {
      nativeRuns.push(runNative(python, xml, init));
    } catch (err) {
      nativeWhy = `the native run failed: ${(err as Error).message.split('\n')[0]}`;
      python = null;
    }
  };
  if (!options.noReference) {
    ({ python, why: nativeWhy } = referencePython(options));
    runNativeOnce();
  }

  // ---- 1. physics ------------------------------------------------------------------------------
  const { mj, model, data } = sim;
  const physicsRun = () => {
    sim.setState(init);
    for (let i = 0; i < PHYSICS_STEPS; i++) mj.mj_step(model, data);
    return PHYSICS_STEPS;
  };
  const physics = await measure(seconds, physicsRun);
  sim.setState(init);
  for (let i = 0; i < PHYSICS_STEPS; i++) mj.mj_step(model, data);
  const qpos = Array.from(data.qpos as Float64Array);
  const qposDiffAgainst = (n: NativeResult) => Math.max(...qpos.map((q, i) => Math.abs(q - n.final_qpos[i]!)));

  // ---- 2. SimEnv control steps -----------------------------------------------------------------
  const controlRate = async (render: boolean): Promise<Rate> => {
    const e = render ? await SimEnv.create({ task: taskName, render: true }) : env;
    const rng = new Rng(1);
    let seed = 0;
    e.reset(seed);
    const rate = await measure(seconds, () => {
      if (e.step(randomActions(home, 1, rng)).done) e.reset(++seed);
      return 1;
    });
    if (e !== env) e.dispose();
    return rate;
  };
  const controlOff = await controlRate(false);
  const controlOn = await controlRate(true);

  // ---- 3. VecEnv -------------------------------------------------------------------------------
  const vecRate = async (numWorkers: number, render: boolean): Promise<Rate> => {
    const vec = await VecEnv.create({ task: taskName, numEnvs: VEC_ENVS, numWorkers, render });
    try {
      const rng = new Rng(2);
      await vec.reset();
      return await measure(seconds, async () => {
        await vec.step(randomActions(home, VEC_ENVS, rng));
        return VEC_ENVS;
      });
    } finally {
      await vec.close();
    }
  };
  const vec1Off = await vecRate(1, false);
  const vec2Off = await vecRate(2, false);
  const vec1On = await vecRate(1, true);
  const vec2On = await vecRate(2, true);

  // ---- 4. camera -------------------------------------------------------------------------------
  sim.setState(init);
  const cam = new RayCamera(mj, model, { camera: CAMERA.name, width: CAMERA.size, height: CAMERA.size, depth: true });
  const camera = await measure(seconds, () => {
    cam.render(data);
    return 1;
  });
  cam.dispose();
  env.dispose();
  runNativeOnce();
  const native = nativeRuns.length ? poolNative(nativeRuns) : null;

  const qposDiff = native ? qposDiffAgainst(native) : null;

  // ---- report ----------------------------------------------------------------------------------
  const nativePhysics: Rate | null = native ? { perSecond: native.steps_per_s.median, perCpuSecond: native.cpu_steps_per_s.median } : null;
  const nativeControl: Rate | null = nativePhysics ? { perSecond: nativePhysics.perSecond / substeps, perCpuSecond: nativePhysics.perCpuSecond / substeps } : null;
  const nativeCamera: Rate | null = native?.camera ? { perSecond: native.camera.images_per_s.median, perCpuSecond: native.camera.cpu_images_per_s.median } : null;
  const row = (name: string, unit: string, ours: Rate, reference: Rate | null, referenceLabel: string): SimSpeedRow => ({
    name,
    unit,
    ours,
    reference,
    referenceLabel,
    ratio: reference ? { wall: ours.perSecond / reference.perSecond, cpu: ours.perCpuSecond / reference.perCpuSecond } : null,
  });
  const controlLabel = `native mj_step/s / ${substeps}`;
  const rows: SimSpeedRow[] = [
    row(`physics: mj_step (${scene})`, 'steps/s', physics, nativePhysics, 'native mj_step/s'),
    row('SimEnv control steps, render off', 'steps/s', controlOff, nativeControl, controlLabel),
    row(`SimEnv control steps, render on (${CAMERA.size}x${CAMERA.size} RGB)`, 'steps/s', controlOn, nativeControl, controlLabel),
    row(`VecEnv ${VEC_ENVS} envs, 1 worker, render off`, 'env-steps/s', vec1Off, nativeControl, controlLabel),
    row(`VecEnv ${VEC_ENVS} envs, 2 workers, render off`, 'env-steps/s', vec2Off, nativeControl, controlLabel),
    row(`VecEnv ${VEC_ENVS} envs, 1 worker, render on`, 'env-steps/s', vec1On, nativeControl, controlLabel),
    row(`VecEnv ${VEC_ENVS} envs, 2 workers, render on`, 'env-steps/s', vec2On, nativeControl, controlLabel),
    row(`camera ${CAMERA.size}x${CAMERA.size} RGB+depth (RayCamera)`, 'images/s', camera, nativeCamera, 'native mj_multiRay only'),
  ];

  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
  const lines = [
    `### Simulator speed (${taskName}: ${scene}, ${substeps} substeps per control step)`,
    '',
    `| measurement | ours /s | ours /CPU-s | native reference | ref /s | ref /CPU-s | ratio (wall) | ratio (CPU) |`,
    `|---|---:|---:|---|---:|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.name} [${r.unit}] | ${fmt(r.ours.perSecond)} | ${fmt(r.ours.perCpuSecond)} | ${r.reference ? r.referenceLabel : 'unavailable'} | ${r.reference ? fmt(r.reference.perSecond) : '-'} | ${r.reference ? fmt(r.reference.perCpuSecond) : '-'} | ${r.ratio ? r.ratio.wall.toFixed(2) : '-'} | ${r.ratio ? r.ratio.cpu.toFixed(2) : '-'} |`,
    ),
    '',
    native
      ? `Native: MuJoCo ${native.mujoco} (Python), same MJCF and start state, ${nativeRuns.length} runs (before and after ours) pooled; max |qpos difference| wasm vs native after ${PHYSICS_STEPS} steps: ${qposDiff!.toExponential(2)}.`
      : `Native MuJoCo reference unavailable: ${nativeWhy}.`,
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, Node ${process.versions.node}, load average ${loadStart.toFixed(2)} at start / ${loadavg()[0]!.toFixed(2)} at end.`,
  ];
  const markdown = lines.join('\n');
  const json = {
    date: new Date().toISOString(),
    scene,
    task: taskName,
    substepsPerControlStep: substeps,
    physicsStepsPerRun: PHYSICS_STEPS,
    windowSeconds: seconds,
    vecEnvs: VEC_ENVS,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.versions.node, loadAverage: { start: loadStart, end: loadavg()[0] } },
    mujocoWasm: JSON.parse(readFileSync(join(REPO, 'node_modules', '@mujoco', 'mujoco', 'package.json'), 'utf8')).version as string,
    native: native ? { mujoco: native.mujoco, stepsPerSecond: native.steps_per_s, camera: native.camera ?? null, maxQposDifference: qposDiff } : { unavailable: nativeWhy },
    rows,
  };
  writeJsonAtomic(RESULTS, json);
  return { rows, markdown, json };
}

async function main(argv: string[]): Promise<void> {
  const flag = (name: string) => argv.includes(name);
  const value = (name: string) => (flag(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const seconds = value('--seconds') === undefined ? undefined : Number(value('--seconds'));
  if (seconds !== undefined && !(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${value('--seconds')}`);
  const { markdown } = await runSimSpeed({ seconds, noReference: flag('--no-reference'), noSetup: flag('--no-setup') });
  console.log(markdown);
  console.log(`\nwrote ${relative(process.cwd(), RESULTS)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
