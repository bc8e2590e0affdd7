import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { SimEnv } from '../../sim/env.ts';
import { ScriptedExpert } from '../../sim/experts/scripted_expert.ts';
import { reachScript } from '../../sim/experts/reach.ts';
import type { ScriptTools, TaskScript } from '../../sim/experts/script.ts';
import type { ReachState } from '../../sim/tasks/reach.ts';
import { norm3, sub3 } from '../../sim/math3d.ts';

/** Commanded TCP of each step: forward kinematics of the expert's joint targets. */
function commandedTcp(env: SimEnv, action: Float32Array): [number, number, number] {
  return env.ctx.ik.forward(env.ctx.arms[0]!, action.subarray(0, 6)).pos;
}

describe('ScriptedExpert flaw injection', () => {
  let env: SimEnv;
  beforeAll(async () => {
    env = await SimEnv.create({ task: 'reach', render: false, config: { maxSteps: 200 } });
  });
  afterAll(() => env.dispose());

  it('clean quality injects no flaws', () => {
    for (let seed = 0; seed < 5; seed++) {
      env.reset(seed);
      const ex = new ScriptedExpert(env, reachScript, { quality: 1, seed });
      ex.reset();
      for (let t = 0; t < 40; t++) env.step(ex.act());
      expect(ex.flaws).toEqual([]);
    }
  });

  it('labels match what was injected: hesitations hold still, wrong-way motions move away from the goal', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 40 && seen.size < 3; seed++) {
      env.reset(seed);
      const target = (env.taskState as ReachState).target;
      const ex = new ScriptedExpert(env, reachScript, { quality: 0, seed });
      ex.reset();
      const tcps: Array<[number, number, number]> = [];
      for (let t = 0; t < 80; t++) {
        const a = ex.act();
        tcps.push(commandedTcp(env, a));
        env.step(a);
      }
      for (const f of ex.flaws) {
        seen.add(f.kind);
        expect(f.end).toBeGreaterThan(f.start);
        if (f.kind === 'hesitation') {
          // every commanded pose inside a hesitation equals the one before it
          for (let t = f.start; t < f.end; t++) expect(norm3(sub3(tcps[t]!, f.start > 0 ? tcps[f.start - 1]! : tcps[0]!))).toBeLessThan(1e-3);
        }
        if (f.kind === 'wrong_way') {
          const before = f.start > 0 ? tcps[f.start - 1]! : tcps[0]!;
          const after = tcps[f.end - 1]!;
          expect(norm3(sub3(after, target))).toBeGreaterThan(norm3(sub3(before, target)) + 0.02);
        }
        if (f.kind === 'jitter') {
          // jitter bends the straight min-jerk line: some commanded point leaves it by > 1 mm
          const a = tcps[f.start]!, b = tcps[f.end - 1]!;
          const ab = sub3(b, a);
          const len = Math.max(norm3(ab), 1e-9);
          let maxDev = 0;
          for (let t = f.start; t < f.end; t++) {
            const ap = sub3(tcps[t]!, a);
            const along = (ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / len;
            maxDev = Math.max(maxDev, Math.sqrt(Math.max(0, norm3(ap) ** 2 - along ** 2)));
          }
          expect(maxDev).toBeGreaterThan(1e-3);
        }
      }
    }
    expect([...seen].sort()).toEqual(['hesitation', 'jitter', 'wrong_way']);
  });

  it('task-declared failures and retries are labelled over their segments', () => {
    function* script(_env: SimEnv, tools: ScriptTools): TaskScript {
      const { pos, yaw } = tools.tcp(0);
      yield { name: 'miss', targets: [{ pos: [pos[0], pos[1], pos[2] - 0.05], yaw, grip: 1 }], steps: 10, precise: true, flaw: 'failed_grasp' };
      yield { name: 'back', targets: [{ pos, yaw, grip: 0 }], steps: 8, precise: true, retry: true };
      yield { name: 'again', targets: [{ pos: [pos[0], pos[1], pos[2] - 0.05], yaw, grip: 1 }], steps: 10, precise: true, retry: true };
    }
    env.reset(3);
    const ex = new ScriptedExpert(env, script, { quality: 0.5, seed: 1 });
    ex.reset();
    for (let t = 0; t < 30; t++) env.step(ex.act());
    expect(ex.flaws).toEqual([
      { kind: 'failed_grasp', start: 0, end: 10 },
      { kind: 'retry', start: 10, end: 28 },
    ]);
  });

  it('rejects a quality outside [0, 1]', () => {
    expect(() => new ScriptedExpert(env, reachScript, { quality: 1.5 })).toThrow(/quality must be in \[0, 1\]/);
  });
});
