import type { CameraFrame } from '../src/core/observation.ts';
import type { Simulator } from './simulator.ts';
import { ARM_DIM, ARM_JOINTS } from './arm.ts';
import type { ActionSpace } from './env.ts';

/**
 * Left/right mirror augmentation (GR-RL): reflect a demonstration through the scene's symmetry
 * plane y = 0. The reflection is M = diag(1, -1, 1); a rotation R becomes M R M, a rotation
 * about z or x changes sign, one about y keeps it. So per fs6 arm:
 *   pan (z axis), wrist_yaw (x axis), wrist_roll (z axis)   -> negated
 *   shoulder, elbow, wrist_pitch (y axes), gripper           -> unchanged
 * and with two arms (`['left/', 'right/']`, mounted at mirrored bases) the arm blocks swap.
 * With one arm (mounted on the plane) only the signs apply. Verified by forward kinematics in
 * test/sim/tasks/bimanual_lift.test.ts: TCP positions come out with y negated and arms swapped,
 * TCP rotations as M R M.
 *
 * Instructions swap the words left/right; camera images flip horizontally (for cameras whose
 * image x axis is reflected: `front` and `top` on the plane, and the wrist cameras once swapped
 * between arms).
 */

/** Sign of each per-arm entry (6 joints, gripper) under the reflection. */
export const MIRROR_ARM_SIGNS: readonly number[] = [...ARM_JOINTS.map((j) => (j === 'pan' || j === 'wrist_yaw' || j === 'wrist_roll' ? -1 : 1)), 1];
/** Sign of each per-arm `ee_delta` entry [dx, dy, dz, rx, ry, rz, gripper]: y of a translation, x and z of a rotation vector (an axial vector: w -> -M w). */
export const MIRROR_EE_DELTA_SIGNS: readonly number[] = [1, -1, 1, -1, 1, -1, 1];

function mirrorArmBlocks(v: ArrayLike<number>, signs: readonly number[], what: string): Float32Array {
  if (v.length % ARM_DIM !== 0 || v.length === 0) throw new RangeError(`mirror: ${what} has ${v.length} values; expected ${ARM_DIM} per arm`);
  const nArms = v.length / ARM_DIM;
  if (nArms > 2) throw new RangeError(`mirror: ${what} has ${nArms} arms; only 1 (on the plane) or 2 (left, right) are supported`);
  const out = new Float32Array(v.length);
  for (let a = 0; a < nArms; a++) {
    const from = (nArms - 1 - a) * ARM_DIM; // two arms: left <- right, right <- left
    for (let k = 0; k < ARM_DIM; k++) out[a * ARM_DIM + k] = signs[k]! * v[from + k]!;
  }
  return out;
}

/** `observation.state` (per arm 6 joints + gripper) of the mirrored scene. */
export function mirrorState(state: ArrayLike<number>): Float32Array {
  return mirrorArmBlocks(state, MIRROR_ARM_SIGNS, 'state');
}

/** An action of the mirrored demonstration. @param space @default 'joint' */
export function mirrorAction(action: ArrayLike<number>, space: ActionSpace = 'joint'): Float32Array {
  return mirrorArmBlocks(action, space === 'joint' ? MIRROR_ARM_SIGNS : MIRROR_EE_DELTA_SIGNS, `${space} action`);
}

const SIDE_WORD = /\b(left|right)(most|wards?)?\b/gi;

/** Swaps the words left and right (and leftmost/rightmost, leftward(s)/rightward(s)), keeping case. */
export function mirrorInstruction(text: string): string {
  return text.replace(SIDE_WORD, (_word: string, side: string, suffix: string | undefined) => {
    const swapped = side.toLowerCase() === 'left' ? 'right' : 'left';
    const cased = side === side.toUpperCase() ? swapped.toUpperCase() : side[0] === side[0]!.toUpperCase() ? swapped[0]!.toUpperCase() + swapped.slice(1) : swapped;
    return cased + (suffix ?? '');
  });
}

/** Camera of the mirrored view: `left/wrist` <-> `right/wrist`; cameras on the plane keep their name. */
export function mirrorCameraName(camera: string): string {
  return swapSide(camera);
}

/** Horizontal flip of a camera frame (rgb, and depth / segmentation when present). */
export function mirrorImage(frame: CameraFrame): CameraFrame {
  const { width, height } = frame;
  const flip = <T extends Uint8Array | Float32Array | Int32Array>(src: T, channels: number): T => {
    const out = new (src.constructor as new (n: number) => T)(src.length);
    for (let r = 0; r < height; r++)
      for (let c = 0; c < width; c++) {
        const i = (r * width + c) * channels;
        const j = (r * width + (width - 1 - c)) * channels;
        for (let k = 0; k < channels; k++) out[j + k] = src[i + k]!;
      }
    return out;
  };
  return {
    width,
    height,
    rgb: flip(frame.rgb, 3),
    ...(frame.depth ? { depth: flip(frame.depth, 1) } : {}),
    ...(frame.segmentation ? { segmentation: flip(frame.segmentation, 1) } : {}),
  };
}

/** Where each entry of qpos / qvel / ctrl goes under the reflection, and its sign (indexed by source). */
export interface SceneMirrorMap {
  qpos: Array<[to: number, sign: number]>;
  qvel: Array<[to: number, sign: number]>;
  ctrl: Array<[to: number, sign: number]>;
}

const JOINT_FREE = 0;
const JOINT_SLIDE = 2;
const JOINT_HINGE = 3;
const FREE_QPOS_SIGNS = [1, -1, 1, 1, -1, 1, -1]; // x, y, z, qw, qx, qy, qz
const FREE_QVEL_SIGNS = [1, -1, 1, -1, 1, -1]; // linear (world), angular (local): w -> -M w

/** `left/x` <-> `right/x`; unprefixed names map to themselves. */
function swapSide(name: string): string {
  if (name.startsWith('left/')) return 'right/' + name.slice(5);
  if (name.startsWith('right/')) return 'left/' + name.slice(6);
  return name;
}

/** Sign and mirrored (unprefixed) name of an arm-local joint or actuator. */
function armRule(local: string, what: string): { local: string; sign: number } {
  const k = (ARM_JOINTS as readonly string[]).indexOf(local);
  if (k >= 0) return { local, sign: MIRROR_ARM_SIGNS[k]! };
  if (local === 'gripper') return { local, sign: 1 };
  // The mirrored left finger is the right one (they are coupled, so the values are equal anyway).
  if (local === 'finger_left') return { local: 'finger_right', sign: 1 };
  if (local === 'finger_right') return { local: 'finger_left', sign: 1 };
  throw new RangeError(`mirror: no mirror rule for ${what} '${local}'`);
}

/**
 * The reflection as index maps over an fs6 scene's qpos, qvel and ctrl: arm joints and
 * actuators `left/<j>` <-> `right/<j>` with the signs above, fingers swap sides, free bodies
 * reflect (position y -> -y, quaternion (w, x, y, z) -> (w, -x, y, -z), linear velocity
 * y -> -y, local angular velocity (x, z) -> -(x, z)). A free body maps onto itself, so its
 * geometry must be symmetric about its own local xz plane (the bimanual_lift bar is: its two
 * identical handles trade places). Other joint kinds are an error.
 */
export function sceneMirrorMap(sim: Simulator): SceneMirrorMap {
  const m = sim.model;
  const type = m.jnt_type as Int32Array;
  const qposAdr = m.jnt_qposadr as Int32Array;
  const dofAdr = m.jnt_dofadr as Int32Array;
  const map: SceneMirrorMap = { qpos: new Array(m.nq as number), qvel: new Array(m.nv as number), ctrl: new Array(m.nu as number) };
  sim.names('joint').forEach((name, j) => {
    const p = qposAdr[j]!;
    const v = dofAdr[j]!;
    if (type[j] === JOINT_FREE) {
      FREE_QPOS_SIGNS.forEach((s, k) => (map.qpos[p + k] = [p + k, s]));
      FREE_QVEL_SIGNS.forEach((s, k) => (map.qvel[v + k] = [v + k, s]));
      return;
    }
    if (type[j] !== JOINT_HINGE && type[j] !== JOINT_SLIDE) throw new RangeError(`mirror: joint '${name}' is neither free, hinge nor slide`);
    const prefix = /^(left\/|right\/)?/.exec(name)![0];
    const rule = armRule(name.slice(prefix.length), 'joint');
    const to = sim.id('joint', swapSide(prefix + rule.local));
    map.qpos[p] = [qposAdr[to]!, rule.sign];
    map.qvel[v] = [dofAdr[to]!, rule.sign];
  });
  sim.names('actuator').forEach((name, u) => {
    const prefix = /^(left\/|right\/)?/.exec(name)![0];
    const rule = armRule(name.slice(prefix.length), 'actuator');
    map.ctrl[u] = [sim.id('actuator', swapSide(prefix + rule.local)), rule.sign];
  });
  return map;
}

function applyMap(values: Float64Array, map: ReadonlyArray<[number, number]>): void {
  const src = Float64Array.from(values);
  map.forEach(([to, sign], from) => (values[to] = sign * src[from]!));
}

/**
 * Reflects the simulated scene in place through y = 0 (positions, velocities, warm start,
 * controls) and recomputes derived quantities. Mocap bodies and model colours are left alone.
 */
export function mirrorScene(sim: Simulator, map: SceneMirrorMap = sceneMirrorMap(sim)): void {
  const d = sim.data;
  applyMap(d.qpos as Float64Array, map.qpos);
  applyMap(d.qvel as Float64Array, map.qvel);
  applyMap(d.qacc_warmstart as Float64Array, map.qvel);
  applyMap(d.ctrl as Float64Array, map.ctrl);
  sim.mj.mj_forward(sim.model, d);
}
