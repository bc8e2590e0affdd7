import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SimEnv } from '../../sim/env.ts';
import { Simulator } from '../../sim/simulator.ts';
import { getMujoco, loadModel, ASSETS_DIR, type Mujoco, type MjData } from '../../sim/mujoco_loader.ts';
import { TASKS } from '../../sim/tasks/index.ts';
import { ARM_DIM } from '../../sim/arm.ts';
import { Rng } from '../../src/core/rng.ts';
import { UserError } from '../../src/core/errors.ts';
import { ObservationSchema } from '../../src/core/observation.ts';

const TASK_NAMES = Object.keys(TASKS) as Array<keyof typeof TASKS>;
// Every task scene, found by globbing, so a new assets/tasks/*.xml is covered without editing this file.
const SCENES = readdirSync(join(ASSETS_DIR, 'tasks')).filter((f) => f.endsWith('.xml')).sort();

/** Joint targets near each arm's home pose plus a random gripper command: stays in a sane region. */
function randomAction(env: SimEnv, rng: Rng, spread = 0.15): Float32Array {
  const a = new Float32Array(env.actionNames.length);
  env.task.home.forEach((home, arm) => {
    for (let j = 0; j < 6; j++) a[arm * ARM_DIM + j] = home[j]! + spread * rng.normal();
    a[arm * ARM_DIM + 6] = rng.uniform();
  });
  return a;
}

/** Counts of MuJoCo's runtime warnings (contact/constraint buffers full, bad qpos/qacc...). */
function warningCounts(mj: Mujoco, data: MjData): Record<string, number> {
  const names = Object.keys(mj.mjtWarning).filter((k) => k.startsWith('mjWARN_'));
  // `data.warning` is a view of data's own array (deleting it aborts the wasm); `get(i)` returns
  // a copy that must be deleted (measured: not deleting leaks ~31 bytes per call).
  const vec = data.warning;
  const out: Record<string, number> = {};
  for (const name of names) {
    const stat = vec.get((mj.mjtWarning as unknown as Record<string, { value: number }>)[name]!.value);
    if (stat && stat.number > 0) out[name] = stat.number;
    stat?.delete();
  }
  return out;
}

/** Bytes of wasm memory: every field view (`data.qpos`...) is a view on the one wasm ArrayBuffer. */
function wasmHeapBytes(data: MjData): number {
  return (data.qpos as Float64Array).buffer.byteLength;
}

/**
 * Where a fresh 1 MiB allocation lands. dlmalloc serves a block that large from the top of the
 * heap (no freed block is that big), so if anything leaks between two probes the address moves
 * up by about the leaked bytes, long before the heap itself has to grow (which happens in steps
 * of megabytes). Measured sensitivity: 1000 leaked 128-byte buffers move it by ~140 KB.
 */
function heapTop(mj: Mujoco): number {
  const probe = new mj.DoubleBuffer(1 << 17);
  try {
    return (probe.GetView() as Float64Array).byteOffset;
  } finally {
    probe.delete();
  }
}

describe('MJCF scenes', () => {
  let mj: Mujoco;
  beforeAll(async () => {
    mj = await getMujoco();
  });

  it('finds the task scenes', () => {
    expect(SCENES).toContain('reach.xml');
  });

  it.each(SCENES)('assets/tasks/%s loads and steps 100 control steps without NaN or MuJoCo warnings', (file) => {
    const sim = new Simulator(mj, loadModel(mj, join(ASSETS_DIR, 'tasks', file)));
    try {
      for (let i = 0; i < 100; i++) {
        sim.step();
        expect(sim.isUnstable(), `${file}: NaN/Inf after control step ${i}`).toBe(false);
      }
      // e.g. mjWARN_CONTACTFULL when <size memory> is too small for the scene's contacts
      expect(warningCounts(mj, sim.data)).toEqual({});
    } finally {
      sim.dispose();
    }
  });

  describe('bad MJCF gives a UserError naming the file', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'flowsteer-mjcf-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each([
      ['syntax_error.xml', '<mujoco><worldbody><body name="a"></worldbody></mujoco>', /syntax_error\.xml.*XML parse error.*MISMATCHED_ELEMENT/s],
      ['unknown_element.xml', '<mujoco><worldbody><blob name="a"/></worldbody></mujoco>', /unknown_element\.xml.*unrecognized element.*'blob'/s],
    ])('%s', (file, xml, message) => {
      const path = join(dir, file);
      writeFileSync(path, xml);
      let caught: unknown;
      try {
        loadModel(mj, path).delete();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(UserError);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).toContain(path);
    });

    it('a missing file', () => {
      expect(() => loadModel(mj, join(dir, 'missing.xml'))).toThrow(/MJCF file not found: .*missing\.xml/);
    });
  });
});

describe.each(TASK_NAMES)('task %s', (name) => {
  it.each([true, false])('resets and steps with render %s; observation shapes', async (render) => {
    const env = await SimEnv.create({ task: name, render });
    try {
      const arms = env.task.armPrefixes.length;
      const rng = new Rng(1);
      const first = env.reset(0);
      const obs = [first, ...Array.from({ length: 5 }, () => env.step(randomAction(env, rng)).observation)];
      for (const o of obs) {
        ObservationSchema.parse(o);
        expect(o.state).toBeInstanceOf(Float32Array);
        expect(o.state.length).toBe(7 * arms);
        expect(o.task.length).toBeGreaterThan(0);
        if (render) {
          expect(Object.keys(o.images)).toEqual(env.config.cameras);
          for (const frame of Object.values(o.images)) {
            expect([frame.width, frame.height]).toEqual([64, 64]);
            expect(frame.rgb).toBeInstanceOf(Uint8Array);
            expect(frame.rgb.length).toBe(64 * 64 * 3);
          }
        } else {
          expect(o.images).toEqual({});
        }
      }
      expect(env.stateNames).toHaveLength(7 * arms);
      expect(env.actionNames).toHaveLength(7 * arms);
    } finally {
      env.dispose();
    }
  });

  it('is deterministic: same seed and actions give bit-identical qpos trajectories', async () => {
    const [a, b] = await Promise.all([SimEnv.create({ task: name, render: false }), SimEnv.create({ task: name, render: false })]);
    try {
      const rngA = new Rng(5);
      const rngB = new Rng(5);
      a.reset(11);
      b.reset(11);
      expect(b.sim.data.qpos).toEqual(a.sim.data.qpos);
      for (let t = 0; t < 40; t++) {
        const ra = a.step(randomAction(a, rngA, 0.3));
        const rb = b.step(randomAction(b, rngB, 0.3));
        // toEqual on Float64Arrays compares every element with Object.is: bit-identical or fail
        expect(Float64Array.from(b.sim.data.qpos as Float64Array), `step ${t}`).toEqual(Float64Array.from(a.sim.data.qpos as Float64Array));
        expect(rb.reward).toBe(ra.reward);
        if (ra.done) break;
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('getState/setState: continuing from a snapshot gives the identical continuation', async () => {
    const [a, b] = await Promise.all([SimEnv.create({ task: name, render: false }), SimEnv.create({ task: name, render: false })]);
    try {
      const rng = new Rng(8);
      a.reset(3);
      for (let t = 0; t < 10; t++) a.step(randomAction(a, rng));
      const snapshot = a.getState();
      const actions = Array.from({ length: 15 }, () => randomAction(a, rng));
      const run = (env: SimEnv) =>
        actions.map((act) => {
          const r = env.step(act);
          return { qpos: Float64Array.from(env.sim.data.qpos as Float64Array), state: r.observation.state, reward: r.reward, done: r.done, step: r.info.step };
        });
      const original = run(a);
      b.reset(1234); // a different episode, then jump into a's
      b.setState(snapshot);
      expect(b.taskState).toEqual(a.getState().taskState);
      expect(run(b)).toEqual(original);
      a.setState(snapshot); // and back in time on the same env
      expect(run(a)).toEqual(original);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe('SimEnv resources and errors', () => {
  it('1000 resets of one env (rendering on) do not grow the wasm heap or leak more than 64 KiB', async () => {
    const env = await SimEnv.create({ task: 'reach', render: true });
    try {
      const mj = env.sim.mj;
      for (let i = 0; i < 50; i++) env.reset(i); // warm-up: first-use allocations
      const heap0 = wasmHeapBytes(env.sim.data);
      const top0 = heapTop(mj);
      for (let i = 0; i < 1000; i++) env.reset(i);
      const heap1 = wasmHeapBytes(env.sim.data);
      const top1 = heapTop(mj);
      console.log(`1000 resets: wasm heap ${heap0} -> ${heap1} bytes, heap top moved ${top1 - top0} bytes`);
      expect(heap1).toBe(heap0); // bound 1: the heap does not grow at all
      expect(top1 - top0).toBeLessThanOrEqual(64 * 1024); // bound 2: < 64 bytes per reset
    } finally {
      env.dispose();
    }
  });

  it('an unknown task name gives an error listing the tasks', async () => {
    const err = await SimEnv.create({ task: 'no_such_task' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain("unknown task 'no_such_task'");
    for (const name of TASK_NAMES) expect((err as Error).message).toContain(name);
  });

  it('an action of the wrong length or with NaN gives a clear error and changes nothing', async () => {
    const env = await SimEnv.create({ task: 'reach', render: false });
    try {
      env.reset(0);
      const before = env.getState();
      expect(() => env.step(new Float32Array(6))).toThrow(UserError);
      expect(() => env.step(new Float32Array(6))).toThrow(/action has 6 values; task 'reach' expects 7 \(pan\.target, .*gripper\.target\)/);
      const nan = randomAction(env, new Rng(0));
      nan[2] = NaN;
      expect(() => env.step(nan)).toThrow(/action\[2\] \(elbow\.target\) is not finite: NaN/);
      nan[2] = Infinity;
      expect(() => env.step(nan)).toThrow(/action\[2\] \(elbow\.target\) is not finite: Infinity/);
      expect(env.getState()).toEqual(before);
    } finally {
      env.dispose();
    }
  });
});
