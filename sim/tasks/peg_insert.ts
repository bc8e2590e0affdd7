import { defineTask, type TaskContext, type TaskState } from '../task.ts';
import { FreeObject, geomsTouch } from '../scene_objects.ts';
import { norm3, sub3, yawQuat, type Vec3 } from '../math3d.ts';
import type { Simulator } from '../simulator.ts';

/**
 * peg-insert: pick up a square blue peg standing on the table and insert it into the square hole
 * of an orange block (the precision task).
 *
 * Scene (`assets/tasks/peg_insert.xml`): the fs6 arm and the shared table; a 20 x 20 x 80 mm peg
 * (50 g, free joint) standing upright; a fixed 80 x 80 x 40 mm block (a mocap body of four box
 * walls) with a 22 x 22 mm hole, 40 mm deep down to the table: 1.0 mm clearance per side, 2.0 mm
 * in total. Peg and walls use solref 4 ms / solimp (0.95, 0.99, 1 mm) so contacts stay stiff at
 * that clearance.
 * Reset: the peg at x in [-0.12, 0.12], |y| <= 0.2, the block at x in [-0.1, 0.12], |y| <= 0.18,
 * centres at least 15 cm apart; both yaws uniform over a quarter turn (the square is symmetric
 * under pi/2), so every relative orientation occurs.
 * Success: the peg's bottom face is at least 2 cm below the block's top surface, its axis is
 * inside the hole's footprint, and the gripper has let go of it (no finger touches the peg): the
 * peg must be left in the hole, not only pushed in.
 * Progress (staged): reach the peg 0..0.2, carry it over the hole 0.2..0.5, insert 0.5..0.9,
 * released in the hole 1.
 */
export interface PegInsertState extends TaskState {
  /** Centre of the hole's top opening (world). */
  holeTop: Vec3;
  /** Yaw of the block about world z. */
  holeYaw: number;
  /** The peg's centre at reset. */
  pegStart: Vec3;
  /** Horizontal distance from the peg's start to the hole, for progress. */
  initialCarryDistance: number;
  /** TCP distance to the peg's grasp point at reset, for progress. */
  initialReachDistance: number;
}

/** Peg half sizes (m): 20 x 20 x 80 mm. */
export const PEG_HALF: Vec3 = [0.01, 0.01, 0.04];
/** Hole half width (m): 22 mm square, 1 mm clearance per side. */
export const HOLE_HALF_WIDTH = 0.011;
/** Hole depth = block height (m). */
export const HOLE_DEPTH = 0.04;
/** Depth of the peg's bottom below the hole's top surface that counts as inserted (m). */
export const INSERTED_DEPTH = 0.02;
const MIN_SEPARATION = 0.15;
const INSTRUCTIONS = [
  'insert the peg into the hole',
  'put the blue peg in the square hole',
  'insert the blue peg into the orange block',
  'fit the square peg into the hole',
  'pick up the blue peg and insert it into the hole',
  'place the peg in the square hole of the orange block',
];

/** Handles resolved once per model (ids do not change between episodes). */
interface Handles {
  peg: FreeObject;
  pegGeom: number;
  holeMocap: number;
}
const handleCache = new WeakMap<Simulator, Handles>();
function handles(sim: Simulator): Handles {
  let h = handleCache.get(sim);
  if (!h) {
    h = {
      peg: new FreeObject(sim, 'peg'),
      pegGeom: sim.id('geom', 'peg_geom'),
      holeMocap: (sim.model.body_mocapid as Int32Array)[sim.id('body', 'hole_block')]!,
    };
    handleCache.set(sim, h);
  }
  return h;
}

/** The peg's handle (experts read its pose). */
export function pegObject(sim: Simulator): FreeObject {
  return handles(sim).peg;
}

/** Centre of the peg's bottom face (world). */
export function pegBottom(sim: Simulator): Vec3 {
  const { peg } = handles(sim);
  const p = peg.position(sim);
  const r = peg.rotation(sim);
  // body z axis = column 2 of the row-major xmat
  return [p[0] - r[2]! * PEG_HALF[2], p[1] - r[5]! * PEG_HALF[2], p[2] - r[8]! * PEG_HALF[2]];
}

/** A point expressed in the hole's frame: x, y along the block's axes, z above its top surface. */
export function inHoleFrame(state: PegInsertState, p: Vec3): Vec3 {
  const d = sub3(p, state.holeTop);
  const c = Math.cos(state.holeYaw);
  const s = Math.sin(state.holeYaw);
  return [c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]];
}

/** Yaw difference of the peg to the hole, folded to [-pi/4, pi/4) by the square's symmetry. */
export function yawMisalignment(sim: Simulator, state: PegInsertState): number {
  const q = Math.PI / 2;
  const d = handles(sim).peg.yaw(sim) - state.holeYaw;
  return ((((d + q / 2) % q) + q) % q) - q / 2;
}

function fingersOnPeg(ctx: TaskContext): { left: boolean; right: boolean } {
  const { sim, arms } = ctx;
  const { pegGeom } = handles(sim);
  const [l, r] = arms[0]!.fingerGeoms;
  return { left: geomsTouch(sim, l, pegGeom), right: geomsTouch(sim, r, pegGeom) };
}

/** Everything the reward, success and progress read, computed once per call. */
function measure(ctx: TaskContext, state: PegInsertState) {
  const { sim } = ctx;
  const bottom = inHoleFrame(state, pegBottom(sim));
  const centre = inHoleFrame(state, handles(sim).peg.position(sim));
  const fingers = fingersOnPeg(ctx);
  const grasped = fingers.left && fingers.right;
  const released = !fingers.left && !fingers.right;
  // The axis is inside the footprint where both its bottom and its centre are.
  const inFootprint = [bottom, centre].every((p) => Math.abs(p[0]) <= HOLE_HALF_WIDTH && Math.abs(p[1]) <= HOLE_HALF_WIDTH);
  const depth = inFootprint ? Math.max(0, -bottom[2]) : 0;
  const xyError = Math.hypot(bottom[0], bottom[1]);
  return { bottom, grasped, released, inFootprint, depth, xyError, yawError: Math.abs(yawMisalignment(sim, state)) };
}

function succeeded(m: ReturnType<typeof measure>): boolean {
  return m.inFootprint && m.depth >= INSERTED_DEPTH && m.released;
}

const clamp01 = (v: number): number => Math.max(0, Math.min(1, v));

export const pegInsertTask = defineTask<PegInsertState>({
  name: 'peg-insert',
  description: 'Pick up a square peg and insert it into a square hole with 1 mm clearance per side, then let go.',
  scene: 'tasks/peg_insert.xml',
  armPrefixes: [''],
  defaultConfig: { maxSteps: 300, controlHz: 20, cameras: ['front'], imageSize: 64, successHoldSteps: 3 },
  instructionExamples: INSTRUCTIONS,
  home: [[0, 0.2, 1.6, 1.34, 0, 0]],

  reset(ctx, rng) {
    const { sim, arms } = ctx;
    const h = handles(sim);
    let pegXy: [number, number];
    let holeXy: [number, number];
    do {
      pegXy = [rng.range(-0.12, 0.12), rng.range(-0.2, 0.2)];
      holeXy = [rng.range(-0.1, 0.12), rng.range(-0.18, 0.18)];
    } while (Math.hypot(pegXy[0] - holeXy[0], pegXy[1] - holeXy[1]) < MIN_SEPARATION);
    const quarter = Math.PI / 2;
    const pegYaw = rng.range(-quarter / 2, quarter / 2);
    const holeYaw = rng.range(-quarter / 2, quarter / 2);
    const pegStart: Vec3 = [pegXy[0], pegXy[1], PEG_HALF[2]];
    h.peg.place(sim, pegStart, pegYaw);
    (sim.data.mocap_pos as Float64Array).set([holeXy[0], holeXy[1], 0], h.holeMocap * 3);
    (sim.data.mocap_quat as Float64Array).set(yawQuat(holeYaw), h.holeMocap * 4);
    sim.mj.mj_forward(sim.model, sim.data);
    const holeTop: Vec3 = [holeXy[0], holeXy[1], HOLE_DEPTH];
    const graspPoint: Vec3 = [pegXy[0], pegXy[1], 2 * PEG_HALF[2] - 0.015];
    return {
      instruction: rng.pick(INSTRUCTIONS),
      holeTop,
      holeYaw,
      pegStart,
      initialCarryDistance: Math.hypot(pegXy[0] - holeXy[0], pegXy[1] - holeXy[1]),
      initialReachDistance: norm3(sub3(arms[0]!.tcpPosition(sim), graspPoint)),
    };
  },

  rewardTerms(ctx, state) {
    const m = measure(ctx, state);
    const inserted = m.inFootprint && m.depth > 0;
    return {
      grasp: m.grasped || inserted ? 0.25 : 0,
      align: 0.25 * (1 - Math.tanh(20 * m.xyError)) * Math.cos(2 * m.yawError),
      insert: 0.5 * clamp01(m.depth / INSERTED_DEPTH),
      success: succeeded(m) ? 1 : 0,
    };
  },

  isSuccess(ctx, state) {
    return succeeded(measure(ctx, state));
  },

  progress(ctx, state) {
    const m = measure(ctx, state);
    if (succeeded(m)) return 1;
    if (m.inFootprint && m.depth > 0) return 0.5 + 0.4 * clamp01(m.depth / INSERTED_DEPTH);
    const { sim, arms } = ctx;
    const pegLifted = handles(sim).peg.position(sim)[2] > PEG_HALF[2] + 0.01;
    if (m.grasped && pegLifted) return 0.2 + 0.3 * clamp01(1 - m.xyError / Math.max(state.initialCarryDistance, 1e-6));
    const p = handles(sim).peg.position(sim);
    const graspPoint: Vec3 = [p[0], p[1], p[2] + PEG_HALF[2] - 0.015];
    const reach = norm3(sub3(arms[0]!.tcpPosition(sim), graspPoint));
    return 0.2 * clamp01(1 - reach / Math.max(state.initialReachDistance, 1e-6));
  },
});
