import { describe, it, expect, afterAll } from 'vitest';
import { SimEnv } from '../../sim/env.ts';
import { toolYaw } from '../../sim/math3d.ts';

describe('end-effector delta action space', () => {
  const envs: SimEnv[] = [];
  afterAll(() => envs.forEach((e) => e.dispose()));

  it('moves the TCP by the commanded world-frame translation', async () => {
    const env = await SimEnv.create({ task: 'reach', render: false, actionSpace: 'ee_delta', homeNoise: 0 });
    envs.push(env);
    env.reset(0);
    const arm = env.ctx.arms[0]!;
    const start = arm.tcpPosition(env.sim);
    const delta = [0.01, -0.005, 0.004];
    for (let t = 0; t < 8; t++) env.step(Float32Array.from([...delta, 0, 0, 0, 0]));
    for (let t = 0; t < 20; t++) env.step(new Float32Array(7)); // settle on the final target
    const end = arm.tcpPosition(env.sim);
    for (let k = 0; k < 3; k++) expect(end[k]! - start[k]!).toBeCloseTo(8 * delta[k]!, 2); // within 5 mm over 8 cm
    expect(env.actionNames.slice(0, 3)).toEqual(['dx', 'dy', 'dz']);
  });

  it('rotates the tool about world z by the commanded rotation vector', async () => {
    const env = await SimEnv.create({ task: 'reach', render: false, actionSpace: 'ee_delta', homeNoise: 0 });
    envs.push(env);
    env.reset(1);
    const arm = env.ctx.arms[0]!;
    const yaw0 = toolYaw(arm.tcpRotation(env.sim));
    for (let t = 0; t < 4; t++) env.step(Float32Array.from([0, 0, 0, 0, 0, 0.1, 0]));
    for (let t = 0; t < 20; t++) env.step(new Float32Array(7));
    expect(toolYaw(arm.tcpRotation(env.sim)) - yaw0).toBeCloseTo(0.4, 1);
  });

  it('clips oversized deltas to the per-step limit', async () => {
    const env = await SimEnv.create({ task: 'reach', render: false, actionSpace: 'ee_delta', homeNoise: 0 });
    envs.push(env);
    env.reset(2);
    const arm = env.ctx.arms[0]!;
    const start = arm.tcpPosition(env.sim);
    env.step(Float32Array.from([0, 0, 1, 0, 0, 0, 0])); // asks for +1 m in one step
    for (let t = 0; t < 20; t++) env.step(new Float32Array(7));
    expect(arm.tcpPosition(env.sim)[2] - start[2]).toBeCloseTo(0.05, 2);
  });
});
