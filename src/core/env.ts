import type { Observation } from './observation.ts';

/** Outcome of one control step. */
export interface StepResult {
  observation: Observation;
  /** Sum of `rewardTerms`. */
  reward: number;
  /** Named reward terms, each logged. */
  rewardTerms: Record<string, number>;
  /** Episode over (success held, time limit or instability). */
  done: boolean;
  /** Over because of the time limit rather than the task. */
  truncated: boolean;
  /** The task's success test after this step. */
  success: boolean;
  info: { progress: number; unstable: boolean; step: number };
}

/**
 * The environment contract shared by the simulator and (later) a ROS robot: the RL loop,
 * evaluation and demo recording depend on this only.
 */
export interface Env {
  readonly taskName: string;
  /** Control rate (Hz) = dataset fps. */
  readonly fps: number;
  readonly stateNames: readonly string[];
  readonly actionNames: readonly string[];
  readonly cameras: readonly string[];
  readonly maxSteps: number;
  reset(seed: number): Observation;
  step(action: Float32Array): StepResult;
  dispose(): void;
}
