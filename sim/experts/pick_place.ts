import type { SimEnv } from '../env.ts';
import { CUBE_COLOURS, PICK_PLACE_GEOMETRY, fingerTouches, insideBin, pickPlaceScene, type PickPlaceState } from '../tasks/pick_place.ts';
import type { Vec3 } from '../math3d.ts';
import type { ScriptTools, Segment, TaskScript } from './script.ts';

/**
 * pick-place expert: above the cube with the gripper yaw aligned to a cube face, descend, close,
 * lift, carry above the bin (fingers turned to the bin's diagonal so they open clear of the
 * walls), lower, open, retreat. After each grasp and after the carry it checks that the cube is
 * really held (touching both fingers and lifted with the gripper); if not, it re-opens and
 * retries from above the cube's current pose, at most MAX_RETRIES times.
 *
 * Deliberate failure (with probability 0.6 * flawRate per episode, first attempt only): the
 * grasp closes where it cannot hold the cube, either off-centre by 3.6-4.2 cm across the fingers
 * (a finger is 2.4 cm wide, the cube 4 cm: from 3.2 cm off-centre the fingers close beside it)
 * or too high (TCP 3.5-4.5 cm above the cube's centre, fingertips 0.5-1.5 cm above its top). That attempt is labelled
 * `failed_grasp`; the next attempt's segments carry `retry: true`.
 */

const MAX_RETRIES = 3;
const FAILED_GRASP_PROBABILITY = 0.6;
/** TCP heights above the table (m): above a cube before descending, carrying, leaving. */
const PREGRASP_Z = 0.1;
const CARRY_Z = 0.13;
const RETREAT_Z = 0.15;
/** Release with the cube's bottom this far above the bin floor (m). */
const RELEASE_CLEARANCE = 0.008;
/** Off-centre miss: offset across the fingers (m), and the clearance to other cubes it needs. */
const MISS_OFFSET: [number, number] = [0.036, 0.042];
const MISS_NEIGHBOUR_CLEARANCE = 0.1;
/** Too-high miss: TCP this far above the cube centre (fingertips are 1 cm below the TCP). */
const MISS_HIGH: [number, number] = [0.035, 0.045];
/** Mean speed of free-space segments (m/s); their length is also bounded in steps. */
const CRUISE_SPEED = 0.3;

/** Yaw among `base + k * pi/2` closest to `current` (a square's faces repeat every quarter turn). */
function nearestQuarterTurn(base: number, current: number): number {
  const q = Math.PI / 2;
  return base + q * Math.round((current - base) / q);
}

/** Segment length (control steps at `hz`) for a free-space move of `distance` metres. */
function moveSteps(distance: number, hz: number, [min, max]: [number, number]): number {
  return Math.max(min, Math.min(max, Math.round((distance / CRUISE_SPEED) * hz)));
}

export function* pickPlaceScript(env: SimEnv, tools: ScriptTools): TaskScript {
  const state = env.taskState as PickPlaceState;
  const { sim } = env.ctx;
  const g = PICK_PLACE_GEOMETRY;
  const scene = pickPlaceScene(sim);
  const cube = scene.cubes[state.colour];
  const cubeGeom = scene.cubeGeoms[state.colour];
  const bin = state.bins[state.side];
  const held = () => {
    const t = fingerTouches(env.ctx, cubeGeom);
    return t.left && t.right;
  };
  let failNext = tools.random() < FAILED_GRASP_PROBABILITY * tools.flawRate;

  for (let attempt = 0; attempt <= MAX_RETRIES; attempt++) {
    const retry = attempt > 0 ? true : undefined;
    const tcp = tools.tcp(0);
    if (retry && tcp.pos[2] < PREGRASP_Z) {
      // Let go of whatever is (not) held and back off upwards before trying again.
      yield { name: 'reopen', targets: [{ pos: [tcp.pos[0], tcp.pos[1], PREGRASP_Z], yaw: tcp.yaw, grip: 0 }], steps: 10, retry };
    }
    const p = cube.position(sim);
    const yaw = nearestQuarterTurn(cube.yaw(sim), tools.tcp(0).yaw);
    const above: Vec3 = [p[0], p[1], p[2] + PREGRASP_Z - g.cubeHalf];
    const from = tools.tcp(0).pos;
    yield { name: 'approach', targets: [{ pos: above, yaw, grip: 0 }], steps: moveSteps(Math.hypot(above[0] - from[0], above[1] - from[1], above[2] - from[2]), env.fps, [16, 30]), retry };

    let grasp: Vec3 = [p[0], p[1], p[2]];
    let flaw: Segment['flaw'];
    if (failNext) {
      failNext = false;
      flaw = 'failed_grasp';
      grasp = missedGrasp(env, state, p, yaw, tools);
    }
    yield { name: 'descend', targets: [{ pos: grasp, yaw, grip: 0 }], steps: 16, precise: true, flaw, retry };
    yield { name: 'close', targets: [{ pos: grasp, yaw, grip: 1 }], steps: 10, precise: true, flaw, retry };
    yield { name: 'lift', targets: [{ pos: [grasp[0], grasp[1], CARRY_Z], yaw, grip: 1 }], steps: 14, flaw, retry };
    if (!held() || cube.position(sim)[2] < g.cubeHalf + 0.04) continue;

    // Turn the fingers to the bin's diagonal: open there, they clear the walls by ~2 cm.
    const carryYaw = nearestQuarterTurn(Math.PI / 4, yaw);
    const overBin: Vec3 = [bin[0], bin[1], CARRY_Z];
    const c = tools.tcp(0).pos;
    yield { name: 'carry', targets: [{ pos: overBin, yaw: carryYaw, grip: 1 }], steps: moveSteps(Math.hypot(overBin[0] - c[0], overBin[1] - c[1]), env.fps, [18, 30]), retry };
    if (!held()) continue;
    // Keep the cube's offset from the TCP (a grasp is rarely exactly centred) when lowering it.
    const q = cube.position(sim);
    const t = tools.tcp(0).pos;
    const lowZ = bin[2] + g.binFloorTop + g.cubeHalf + RELEASE_CLEARANCE + (t[2] - q[2]);
    const low: Vec3 = [bin[0] - (q[0] - t[0]), bin[1] - (q[1] - t[1]), lowZ];
    yield { name: 'lower', targets: [{ pos: low, yaw: carryYaw, grip: 1 }], steps: 16, precise: true, retry };
    yield { name: 'release', targets: [{ pos: low, yaw: carryYaw, grip: 0 }], steps: 8, precise: true, retry };
    yield { name: 'retreat', targets: [{ pos: [low[0], low[1], RETREAT_Z], yaw: carryYaw, grip: 0 }], steps: 12, retry };
    if (insideBin(cube.position(sim), bin)) return;
  }
}

/**
 * Where to close for a deliberate miss: off-centre across the fingers (tool x) on the side with
 * room (no other cube near the open fingers), else too high.
 */
function missedGrasp(env: SimEnv, state: PickPlaceState, p: Vec3, yaw: number, tools: ScriptTools): Vec3 {
  const { sim } = env.ctx;
  const scene = pickPlaceScene(sim);
  const others = CUBE_COLOURS.filter((c) => c !== state.colour).map((c) => scene.cubes[c].position(sim));
  const u = tools.random();
  const offCentre = tools.random() < 0.5;
  if (offCentre) {
    const d = MISS_OFFSET[0] + (MISS_OFFSET[1] - MISS_OFFSET[0]) * u;
    // Tool x axis of topDownRotation(yaw) is (-cos yaw, -sin yaw, 0): across the fingers.
    for (const sign of tools.random() < 0.5 ? [1, -1] : [-1, 1]) {
      const at: Vec3 = [p[0] - sign * d * Math.cos(yaw), p[1] - sign * d * Math.sin(yaw), p[2]];
      if (others.every((o) => Math.hypot(o[0] - at[0], o[1] - at[1]) > MISS_NEIGHBOUR_CLEARANCE)) return at;
    }
  }
  return [p[0], p[1], p[2] + MISS_HIGH[0] + (MISS_HIGH[1] - MISS_HIGH[0]) * u];
}
