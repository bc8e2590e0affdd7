import { join } from 'node:path';
import { z } from 'zod';
import type { Env } from '../core/env.ts';
import type { RgbImage } from '../plot/rgb_image.ts';
import { tileImages } from '../plot/image_strip.ts';
import { writeRgbPng } from '../plot/png.ts';
import { writeJsonAtomic } from '../core/atomic_write.ts';
import { Progress } from '../core/progress.ts';
import { rollout } from './rollout.ts';
import type { EpisodePolicy } from './episode_policy.ts';

/** `eval_info.json` in LeRobot's shape (`lerobot/scripts/eval.py`), plus our task/policy fields. */
export const EvalInfoSchema = z.object({
  per_episode: z.array(
    z.object({
      episode_ix: z.number().int(),
      sum_reward: z.number(),
      max_reward: z.number(),
      success: z.boolean(),
      seed: z.number().int(),
      steps: z.number().int(),
      instruction: z.string(),
      final_progress: z.number(),
    }),
  ),
  aggregated: z.object({
    avg_sum_reward: z.number(),
    avg_max_reward: z.number(),
    pc_success: z.number(),
    eval_s: z.number(),
    eval_ep_s: z.number(),
  }),
  task: z.string(),
  policy: z.string(),
  strip_path: z.string().nullable(),
});
export type EvalInfo = z.infer<typeof EvalInfoSchema>;

export interface EvaluateOptions {
  episodes: number;
  /** Episode i uses seed `seed + i`. */
  seed: number;
  /** Output directory for eval_info.json and the frame strip; none when undefined. */
  outDir?: string;
  /** Frames in the strip of episode 0. @default 10 */
  stripFrames?: number;
  /** No progress output. @default false */
  quiet?: boolean;
}

/** Runs `episodes` seeded episodes, writes `eval_info.json` and a PNG strip of episode 0. */
export function evaluate(env: Env, policy: EpisodePolicy, options: EvaluateOptions): EvalInfo {
  const start = performance.now();
  const progress = new Progress({ label: `eval ${env.taskName}`, total: options.episodes, unit: 'ep', silent: options.quiet ?? false });
  const perEpisode: EvalInfo['per_episode'] = [];
  let stripPath: string | null = null;
  for (let i = 0; i < options.episodes; i++) {
    const seed = options.seed + i;
    const wantStrip = i === 0 && options.outDir !== undefined && env.cameras.length > 0;
    const r = rollout(env, policy, seed, { record: wantStrip });
    perEpisode.push({
      episode_ix: i,
      sum_reward: r.sumReward,
      max_reward: r.maxReward,
      success: r.success,
      seed,
      steps: r.steps,
      instruction: r.episode.instruction,
      final_progress: r.progress.at(-1) ?? 0,
    });
    if (wantStrip) stripPath = writeStrip(r.episode.frames.map((f) => f.images), env, options);
    const successes = perEpisode.filter((e) => e.success).length;
    progress.tick(1, `success ${successes}/${perEpisode.length}`);
  }
  const evalS = (performance.now() - start) / 1000;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const info: EvalInfo = {
    per_episode: perEpisode,
    aggregated: {
      avg_sum_reward: mean(perEpisode.map((e) => e.sum_reward)),
      avg_max_reward: mean(perEpisode.map((e) => e.max_reward)),
      pc_success: 100 * mean(perEpisode.map((e) => (e.success ? 1 : 0))),
      eval_s: evalS,
      eval_ep_s: evalS / Math.max(1, options.episodes),
    },
    task: env.taskName,
    policy: policy.name,
    strip_path: stripPath,
  };
  if (options.outDir) writeJsonAtomic(join(options.outDir, 'eval_info.json'), info);
  return info;
}

/** Evenly spaced frames of episode 0, one row per camera (what the policy saw), as one PNG. */
function writeStrip(images: Array<Record<string, Uint8Array>>, env: Env, options: EvaluateOptions): string | null {
  if (images.length === 0 || !options.outDir || env.cameras.length === 0) return null;
  const n = Math.min(options.stripFrames ?? 10, images.length);
  const picks = Array.from({ length: n }, (_, k) => Math.round((k * (images.length - 1)) / Math.max(1, n - 1)));
  const first = images[0]![env.cameras[0]!]!;
  const side = Math.round(Math.sqrt(first.length / 3));
  const frames: RgbImage[] = env.cameras.flatMap((camera) => picks.map((p) => ({ width: side, height: side, rgb: images[p]![camera]! })));
  const strip = tileImages(frames, { columns: n, scale: side < 128 ? 2 : 1, separator: 2 });
  const path = join(options.outDir, `episode0_${env.cameras.join('_')}.png`);
  writeRgbPng(path, strip);
  return path;
}
