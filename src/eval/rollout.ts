import type { Env } from '../core/env.ts';
import type { Episode, Frame } from '../core/episode.ts';
import type { EpisodePolicy } from './episode_policy.ts';

export interface RolloutOptions {
  /** Keep every frame (state, action, images) for a dataset or a strip. @default false */
  record?: boolean;
}

export interface RolloutResult {
  episode: Episode;
  sumReward: number;
  maxReward: number;
  success: boolean;
  steps: number;
  /** Dense task progress after each step (diagnostics). */
  progress: number[];
}

/** Runs one episode of `policy` in `env` from `seed` until done. */
export function rollout(env: Env, policy: EpisodePolicy, seed: number, options: RolloutOptions = {}): RolloutResult {
  let observation = env.reset(seed);
  policy.reset(seed);
  const frames: Frame[] = [];
  const progress: number[] = [];
  let sumReward = 0;
  let maxReward = -Infinity;
  let success = false;
  let steps = 0;
  for (;;) {
    const action = policy.act(observation);
    const result = env.step(action);
    steps++;
    sumReward += result.reward;
    maxReward = Math.max(maxReward, result.reward);
    success ||= result.success;
    progress.push(result.info.progress);
    if (options.record) {
      const images: Record<string, Uint8Array> = {};
      for (const [cam, frame] of Object.entries(observation.images)) images[cam] = frame.rgb;
      frames.push({ state: observation.state, action: Float32Array.from(action), reward: result.reward, done: result.done, success: result.success, images });
    }
    observation = result.observation;
    if (result.done) break;
  }
  const episode: Episode = {
    taskName: env.taskName,
    instruction: observation.task,
    seed,
    success,
    frames,
    // Labels are planned ahead by the expert; keep only what happened before the episode ended.
    flaws: (policy.flaws ?? []).filter((f) => f.start < steps).map((f) => ({ ...f, end: Math.min(f.end, steps) })),
  };
  return { episode, sumReward, maxReward, success, steps, progress };
}
