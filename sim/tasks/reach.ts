import { defineTask, type TaskState } from '../task.ts';
import { norm3, sub3, type Vec3 } from '../math3d.ts';

/**
 * reach: move the gripper's tool centre point to a red ball floating above the table.
 * Smoke-test task: no contact, one arm. Success: TCP within 2 cm of the ball's centre.
 */
export interface ReachState extends TaskState {
  target: Vec3;
  initialDistance: number;
}

const SUCCESS_RADIUS_M = 0.02;
const INSTRUCTIONS = ['reach the red ball', 'move the gripper to the red ball', 'touch the red target'];

export const reachTask = defineTask<ReachState>({
  name: 'reach',
  description: 'Move the end-effector to a red ball placed at random above the table.',
  scene: 'tasks/reach.xml',
  armPrefixes: [''],
  defaultConfig: { maxSteps: 80, controlHz: 20, cameras: ['front'], imageSize: 64, successHoldSteps: 3 },
  instructionExamples: INSTRUCTIONS,
  home: [[0, 0.2, 1.6, 1.34, 0, 0]],

  reset(ctx, rng) {
    const { sim, arms } = ctx;
    const target: Vec3 = [rng.range(-0.15, 0.15), rng.range(-0.2, 0.2), rng.range(0.05, 0.3)];
    const mocapId = (sim.model.body_mocapid as Int32Array)[sim.id('body', 'target')]!;
    (sim.data.mocap_pos as Float64Array).set(target, mocapId * 3);
    sim.mj.mj_forward(sim.model, sim.data);
    const initialDistance = norm3(sub3(arms[0]!.tcpPosition(sim), target));
    return { instruction: rng.pick(INSTRUCTIONS), target, initialDistance };
  },

  rewardTerms(ctx, state) {
    const d = norm3(sub3(ctx.arms[0]!.tcpPosition(ctx.sim), state.target));
    return { reach: 1 - Math.tanh(10 * d), success: d < SUCCESS_RADIUS_M ? 1 : 0 };
  },

  isSuccess(ctx, state) {
    return norm3(sub3(ctx.arms[0]!.tcpPosition(ctx.sim), state.target)) < SUCCESS_RADIUS_M;
  },

  progress(ctx, state) {
    const d = norm3(sub3(ctx.arms[0]!.tcpPosition(ctx.sim), state.target));
    return Math.max(0, Math.min(1, 1 - d / Math.max(state.initialDistance, 1e-6)));
  },
});
