import type { SimEnv } from '../env.ts';
import { FreeObject } from '../scene_objects.ts';
import { add3, type Vec3 } from '../math3d.ts';
import { barTilt, handlePosition, handlesHeld } from '../tasks/bimanual_lift.ts';
import type { ArmTarget, ScriptTools, TaskScript } from './script.ts';

/** Pre-grasp height above the handle centre, lift height, grasp-miss offset (metres). */
const ABOVE_M = 0.09;
const LIFT_M = 0.13;
const MISS_OFFSET_M = 0.045;
/** Probability of a deliberate missed grasp at flawRate 1 (scaled by flawRate). */
const FAILED_GRASP_PROBABILITY = 0.6;
/** Grasp-and-lift attempts before the script gives up (holds still until the episode ends). */
const MAX_ATTEMPTS = 3;
/** After the lift the bar must be this level, or it is put down and grasped again (radians). */
const LEVEL_CHECK_RAD = (7 * Math.PI) / 180;

/**
 * bimanual_lift expert: both arms move together. Above the handles (fingers across the bar:
 * left yaw = bar yaw + 90 deg, right = bar yaw - 90 deg, mirror images of each other), down,
 * close, then lift synchronously and hold. At low quality one arm first misses its handle
 * (grasps air beyond the bar's end); seeing a hand without its handle, both hands let go and
 * grasp again (retry). A hand that slips during the lift (the bar tilts) puts the bar down and
 * the grasp is retried the same way.
 */
export function* bimanualLiftScript(env: SimEnv, tools: ScriptTools): TaskScript {
  const { sim } = env.ctx;
  const bar = new FreeObject(sim, 'bar');
  const yaws = (): [number, number] => {
    const yaw = bar.yaw(sim);
    return [yaw + Math.PI / 2, yaw - Math.PI / 2];
  };
  /** Outward direction along the bar for handle i (towards its own end). */
  const outward = (i: number): Vec3 => {
    const yaw = bar.yaw(sim);
    const s = i === 0 ? 1 : -1;
    return [-Math.sin(yaw) * s, Math.cos(yaw) * s, 0];
  };
  const grasp = (i: number, dz: number, grip: number, offset = 0): ArmTarget => {
    const o = outward(i);
    return { pos: add3(handlePosition(sim, i), [o[0] * offset, o[1] * offset, dz]), yaw: yaws()[i]!, grip };
  };
  const both = (f: (i: number) => ArmTarget): ArmTarget[] => [f(0), f(1)];

  // Which arm (if any) deliberately misses its handle first.
  const missArm = tools.random() < FAILED_GRASP_PROBABILITY * tools.flawRate ? (tools.random() < 0.5 ? 0 : 1) : -1;
  const offset = (i: number) => (i === missArm ? MISS_OFFSET_M : 0);

  yield { name: 'above_handles', targets: both((i) => grasp(i, ABOVE_M, 0, offset(i))), steps: 32 };
  if (missArm >= 0) {
    // The missing arm goes down beyond the bar's end and closes on air; the other arm grasps.
    yield { name: 'descend', targets: both((i) => grasp(i, 0, 0, offset(i))), steps: 18, precise: true, flaw: 'failed_grasp' };
    yield { name: 'close', targets: both((i) => grasp(i, 0, 1, offset(i))), steps: 10, precise: true, flaw: 'failed_grasp' };
  } else {
    yield { name: 'descend', targets: both((i) => grasp(i, 0, 0)), steps: 18, precise: true };
    yield { name: 'close', targets: both((i) => grasp(i, 0, 1)), steps: 10, precise: true };
  }

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const held = handlesHeld(env.ctx);
    if (held[0] && held[1]) {
      const lifted = both((i) => ({ ...grasp(i, 0, 1), pos: add3(tools.tcp(i).pos, [0, 0, LIFT_M]) }));
      yield { name: 'lift', targets: lifted, steps: 30, retry: attempt > 0 };
      const after = handlesHeld(env.ctx);
      if (after[0] && after[1] && barTilt(sim) < LEVEL_CHECK_RAD) {
        yield { name: 'hold', targets: [null, null], steps: 15, precise: true, retry: attempt > 0 };
        return;
      }
      // A hand slipped during the lift: put the bar back down before grasping again.
      yield { name: 'put_down', targets: both((i) => ({ ...grasp(i, 0, 1), pos: add3(tools.tcp(i).pos, [0, 0, 0.01 - LIFT_M]) })), steps: 24, precise: true, retry: true };
    }
    // Retry (the deliberate miss, or a grasp lost since): both hands let go and grasp again
    // where the handles are now, so a handle dragged by the other hand's motion is no problem.
    yield { name: 'release', targets: both((i) => ({ ...grasp(i, 0, 0), pos: add3(tools.tcp(i).pos, [0, 0, 0.03]) })), steps: 10, retry: true };
    yield { name: 'above_handles', targets: both((i) => grasp(i, ABOVE_M * 0.6, 0)), steps: 18, retry: true };
    yield { name: 'descend', targets: both((i) => grasp(i, 0, 0)), steps: 16, precise: true, retry: true };
    yield { name: 'close', targets: both((i) => grasp(i, 0, 1)), steps: 10, precise: true, retry: true };
  }
}
