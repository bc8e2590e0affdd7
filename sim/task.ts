import { z } from 'zod';
import type { Simulator } from './simulator.ts';
import type { Arm } from './arm.ts';
import type { IkSolver } from './ik.ts';
import type { Rng } from '../src/core/rng.ts';

/** What a task's functions get: the simulator, its arms (in state/action order), an IK solver. */
export interface TaskContext {
  readonly sim: Simulator;
  readonly arms: readonly Arm[];
  readonly ik: IkSolver;
}

/** Per-episode task state returned by `reset`; tasks extend it with their own fields. */
export interface TaskState {
  /** The language instruction of this episode. */
  instruction: string;
}

/** Options every task accepts (MuJoCo Playground's `default_config`), validated with zod. */
export const TaskConfigSchema = z
  .object({
    maxSteps: z.number().int().positive().describe('episode length cap in control steps'),
    controlHz: z.number().positive().default(20).describe('control (and dataset) rate'),
    cameras: z.array(z.string()).min(1).describe('cameras rendered into observation.images.<name>'),
    imageSize: z.number().int().min(8).max(512).default(64).describe('square image side in pixels'),
    successHoldSteps: z.number().int().positive().default(5).describe('episode ends once success held this many consecutive steps'),
  })
  .strict();
export type TaskConfig = z.infer<typeof TaskConfigSchema>;

/**
 * A task: one scene, randomised resets, instruction templates, named reward terms, an explicit
 * success test and a dense progress signal for diagnostics. Every task file exports one of these
 * with the same parts, so tasks read alike (MuJoCo Playground's `pick.py` shape).
 */
export interface TaskDefinition<S extends TaskState = TaskState> {
  readonly name: string;
  readonly description: string;
  /** MJCF scene, relative to `assets/`. */
  readonly scene: string;
  /** Arm name prefixes in state/action order ('' for one arm; 'left/', 'right/' for two). */
  readonly armPrefixes: readonly string[];
  readonly defaultConfig: TaskConfig;
  /** Example instructions, for documentation and tests (the full template set lives in the task). */
  readonly instructionExamples: readonly string[];
  /** Home joint configuration per arm (6 joints) the episode starts from, before noise. */
  readonly home: readonly (readonly number[])[];
  /** Randomises objects (arms are already at home) and chooses the instruction. */
  reset(ctx: TaskContext, rng: Rng): S;
  /** Named reward terms; the env's reward is their sum, each is logged. */
  rewardTerms(ctx: TaskContext, state: S): Record<string, number>;
  isSuccess(ctx: TaskContext, state: S): boolean;
  /** Dense progress in [0, 1] (diagnostics and tests, not the training reward). */
  progress(ctx: TaskContext, state: S): number;
}

/** Helper to declare a task with its state type inferred. */
export function defineTask<S extends TaskState>(task: TaskDefinition<S>): TaskDefinition<S> {
  return task;
}
