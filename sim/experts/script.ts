import type { FlawKind } from '../../src/core/episode.ts';
import type { Mat3, Vec3 } from '../math3d.ts';

/** Target of one arm at the end of a segment: TCP position, top-down yaw (or full rotation), gripper. */
export interface ArmTarget {
  pos: Vec3;
  /** Yaw of a top-down grasp (tool z pointing down); ignored when `rot` is given. */
  yaw?: number;
  /** Full TCP rotation (row-major), for non-top-down poses. */
  rot?: Mat3;
  /** 0 open .. 1 closed. */
  grip: number;
}

/**
 * One motion of a scripted expert: every arm moves from where it is to its target over `steps`
 * control steps (minimum-jerk in Cartesian space, IK each step). `null` holds an arm.
 */
export interface Segment {
  name: string;
  targets: ReadonlyArray<ArmTarget | null>;
  steps: number;
  /** Precision motion (grasp descent, insertion): the runner injects no generic flaws here. */
  precise?: boolean;
  /** The task deliberately made this segment wrong (a failed grasp, a missed insertion). */
  flaw?: Extract<FlawKind, 'failed_grasp' | 'missed_insertion'>;
  /** This segment belongs to a retry after a failure. */
  retry?: boolean;
}

/** What a task script may ask while running (object poses come from the task's own handles). */
export interface ScriptTools {
  /** 0 for a clean demo .. 1 for the sloppiest operator; scripts scale deliberate failures by it. */
  readonly flawRate: number;
  /** Uniform [0, 1) from the episode's flaw stream (deterministic per seed). */
  random(): number;
  /** Current TCP position and yaw of arm `i`. */
  tcp(i: number): { pos: Vec3; yaw: number };
}

/**
 * A task script: a generator of segments. It resumes after each segment has been executed, so it
 * can look at the scene (did the grasp hold?) and decide what comes next (retry or go on).
 */
export type TaskScript = Generator<Segment, void, void>;
