import type { Simulator } from './simulator.ts';

/** Joint order of one fs6 arm in states and joint-space actions (see assets/README.md). */
export const ARM_JOINTS = ['pan', 'shoulder', 'elbow', 'wrist_pitch', 'wrist_yaw', 'wrist_roll'] as const;
/** Finger travel of the fs6 gripper (metres per finger, fully open). */
export const GRIPPER_OPEN_M = 0.045;
/** Per-arm vector length in state and action: 6 joints + 1 gripper. */
export const ARM_DIM = ARM_JOINTS.length + 1;

/**
 * Indices of one arm inside a scene (`prefix` is '' for single-arm scenes, 'left/' or
 * 'right/' in the bimanual scene). Gripper values are normalised: 0 open .. 1 closed.
 */
export class Arm {
  readonly prefix: string;
  readonly qposAdr: number[];
  readonly dofAdr: number[];
  readonly actuatorIds: number[];
  readonly gripperActuator: number;
  readonly fingerQposAdr: number;
  readonly fingerRightQposAdr: number;
  readonly tcpSite: number;
  readonly handBody: number;
  readonly jointRange: Array<[number, number]>;
  readonly fingerGeoms: [number, number];

  constructor(sim: Simulator, prefix: string) {
    this.prefix = prefix;
    const m = sim.model;
    const jntQpos = m.jnt_qposadr as Int32Array;
    const jntDof = m.jnt_dofadr as Int32Array;
    const jntRange = m.jnt_range as Float64Array;
    const joints = ARM_JOINTS.map((j) => sim.id('joint', prefix + j));
    this.qposAdr = joints.map((j) => jntQpos[j]!);
    this.dofAdr = joints.map((j) => jntDof[j]!);
    this.jointRange = joints.map((j) => [jntRange[2 * j]!, jntRange[2 * j + 1]!]);
    this.actuatorIds = ARM_JOINTS.map((j) => sim.id('actuator', prefix + j));
    this.gripperActuator = sim.id('actuator', prefix + 'gripper');
    this.fingerQposAdr = jntQpos[sim.id('joint', prefix + 'finger_left')]!;
    this.fingerRightQposAdr = jntQpos[sim.id('joint', prefix + 'finger_right')]!;
    this.tcpSite = sim.id('site', prefix + 'tcp');
    this.handBody = sim.id('body', prefix + 'hand');
    this.fingerGeoms = [sim.id('geom', prefix + 'finger_left_geom'), sim.id('geom', prefix + 'finger_right_geom')];
  }

  /** Joint positions (6) then normalised gripper closure, written into `out` at `offset`. */
  readState(sim: Simulator, out: Float32Array, offset: number): void {
    const qpos = sim.data.qpos as Float64Array;
    for (let i = 0; i < this.qposAdr.length; i++) out[offset + i] = qpos[this.qposAdr[i]!]!;
    out[offset + 6] = 1 - qpos[this.fingerQposAdr]! / GRIPPER_OPEN_M;
  }

  /** Current joint positions of the 6 arm joints. */
  jointPositions(sim: Simulator): number[] {
    const qpos = sim.data.qpos as Float64Array;
    return this.qposAdr.map((a) => qpos[a]!);
  }

  /** Sets joint-position targets (6) and the gripper command (0 open .. 1 closed). */
  command(sim: Simulator, jointTargets: ArrayLike<number>, gripper: number): void {
    const ctrl = sim.data.ctrl as Float64Array;
    for (let i = 0; i < this.actuatorIds.length; i++) {
      const [lo, hi] = this.jointRange[i]!;
      ctrl[this.actuatorIds[i]!] = Math.min(hi, Math.max(lo, jointTargets[i]!));
    }
    const g = Math.min(1, Math.max(0, gripper));
    ctrl[this.gripperActuator] = (1 - g) * GRIPPER_OPEN_M;
  }

  /** Puts the arm at a joint configuration instantly (resets), with matching targets. */
  setJoints(sim: Simulator, q: ArrayLike<number>, gripper: number): void {
    const qpos = sim.data.qpos as Float64Array;
    for (let i = 0; i < this.qposAdr.length; i++) qpos[this.qposAdr[i]!] = q[i]!;
    qpos[this.fingerQposAdr] = (1 - gripper) * GRIPPER_OPEN_M;
    qpos[this.fingerRightQposAdr] = (1 - gripper) * GRIPPER_OPEN_M;
    this.command(sim, q, gripper);
  }

  /** World position of the tool centre point. */
  tcpPosition(sim: Simulator): [number, number, number] {
    const p = sim.data.site_xpos as Float64Array;
    const i = this.tcpSite * 3;
    return [p[i]!, p[i + 1]!, p[i + 2]!];
  }

  /** World rotation matrix (row-major 3x3) of the tool centre point. */
  tcpRotation(sim: Simulator): number[] {
    const r = sim.data.site_xmat as Float64Array;
    return Array.from(r.subarray(this.tcpSite * 9, this.tcpSite * 9 + 9));
  }
}
