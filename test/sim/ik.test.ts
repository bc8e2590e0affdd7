import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { SimEnv } from '../../sim/env.ts';
import { topDownRotation, norm3, sub3, rotationError, type Vec3 } from '../../sim/math3d.ts';
import { Rng } from '../../src/core/rng.ts';

/** The single-arm top-down workspace every task works in (common briefing; world frame, metres). */
const WORKSPACE = { x: [-0.15, 0.15], y: [-0.22, 0.22], z: [0.02, 0.3] } as const;
const TOLERANCE_M = 0.002;
const ROTATION_TOLERANCE_RAD = 0.01;

function randomTarget(rng: Rng): { pos: Vec3; yaw: number } {
  return {
    pos: [rng.range(WORKSPACE.x[0], WORKSPACE.x[1]), rng.range(WORKSPACE.y[0], WORKSPACE.y[1]), rng.range(WORKSPACE.z[0], WORKSPACE.z[1])],
    yaw: rng.range(-Math.PI / 2, Math.PI / 2),
  };
}

describe('IkSolver (damped least squares) on the fs6 arm', () => {
  let env: SimEnv;
  beforeAll(async () => {
    // reach: the arm alone above the table (its target ball does not collide).
    env = await SimEnv.create({ task: 'reach', render: false });
    env.reset(0);
  });
  afterAll(() => env.dispose());

  it('reaches 200 random top-down targets in the workspace within 2 mm (checked by forward kinematics)', () => {
    const { ik, arms } = env.ctx;
    const arm = arms[0]!;
    const home = env.task.home[0]!;
    const rng = new Rng(1234);
    const misses: string[] = [];
    let worst = 0;
    for (let i = 0; i < 200; i++) {
      const { pos, yaw } = randomTarget(rng);
      const rot = topDownRotation(yaw);
      const sol = ik.solve(arm, pos, rot, home);
      const fk = ik.forward(arm, sol.q); // independent of the solver's own error report
      const err = norm3(sub3(fk.pos, pos));
      const rotErr = norm3(rotationError(rot, fk.rot));
      worst = Math.max(worst, err);
      if (err > TOLERANCE_M || rotErr > ROTATION_TOLERANCE_RAD) misses.push(`target ${pos.map((v) => v.toFixed(3))} yaw ${yaw.toFixed(2)}: ${(1000 * err).toFixed(2)} mm, ${rotErr.toFixed(4)} rad`);
      sol.q.forEach((q, j) => {
        expect(q).toBeGreaterThanOrEqual(arm.jointRange[j]![0]);
        expect(q).toBeLessThanOrEqual(arm.jointRange[j]![1]);
      });
    }
    console.log(`IK: worst FK position error over 200 targets ${(1000 * worst).toFixed(3)} mm`);
    expect(misses).toEqual([]);
  });

  it('with physics: commanding the IK solution for 2 s brings the TCP within 2 mm of the target', () => {
    const { ik, arms, sim } = env.ctx;
    const arm = arms[0]!;
    const rng = new Rng(99);
    const steps = Math.round(2 / sim.controlDt); // 2 s at the control rate
    let worst = 0;
    for (let i = 0; i < 20; i++) {
      env.reset(i);
      const { pos, yaw } = randomTarget(rng);
      const sol = ik.solve(arm, pos, topDownRotation(yaw), arm.jointPositions(sim));
      const action = new Float32Array([...sol.q, 0]);
      for (let t = 0; t < steps; t++) env.step(action);
      const err = norm3(sub3(arm.tcpPosition(sim), pos));
      worst = Math.max(worst, err);
      expect(err, `target ${pos.map((v) => v.toFixed(3))} yaw ${yaw.toFixed(2)}`).toBeLessThan(TOLERANCE_M);
    }
    console.log(`IK + physics: worst TCP error after 2 s over 20 targets ${(1000 * worst).toFixed(3)} mm`);
  });
});
