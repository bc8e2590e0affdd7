import { z } from 'zod';

/**
 * Labels of the teleoperation flaws a scripted expert injects (and a human makes). Later stages
 * (critic filtering) are tested against these labels. Frame ranges are [start, end) indices.
 */
export const FLAW_KINDS = ['jitter', 'hesitation', 'failed_grasp', 'missed_insertion', 'wrong_way', 'retry'] as const;
export type FlawKind = (typeof FLAW_KINDS)[number];

export const FlawLabelSchema = z
  .object({
    kind: z.enum(FLAW_KINDS),
    start: z.number().int().nonnegative().describe('first frame of the flaw'),
    end: z.number().int().nonnegative().describe('one past the last frame of the flaw'),
  })
  .refine((f) => f.end >= f.start, { message: 'end must be >= start' });
export type FlawLabel = z.infer<typeof FlawLabelSchema>;

/** One recorded control step. `action` is what was sent after observing `state`/`images`. */
export interface Frame {
  state: Float32Array;
  action: Float32Array;
  /** Reward received after the action (`next.reward`). */
  reward: number;
  /** True on the last frame (`next.done`). */
  done: boolean;
  /** True when the task's success test held after the action (`next.success`). */
  success: boolean;
  /** camera name -> H*W*3 uint8 RGB */
  images: Record<string, Uint8Array>;
}

export interface Episode {
  /** Task registry name, e.g. `pick-place`. */
  taskName: string;
  /** The language instruction of this episode. */
  instruction: string;
  seed: number;
  success: boolean;
  frames: Frame[];
  flaws: FlawLabel[];
}

/** Episode-level metadata stored beside the frames (LeRobot `meta/episodes`). */
export const EpisodeMetaSchema = z.object({
  episode_index: z.number().int().nonnegative(),
  length: z.number().int().positive(),
  tasks: z.array(z.string()).min(1),
  seed: z.number().int(),
  success: z.boolean(),
  flaws: z.array(FlawLabelSchema),
});
export type EpisodeMeta = z.infer<typeof EpisodeMetaSchema>;
