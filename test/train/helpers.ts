import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimEnv } from '../../sim/env.ts';
import { DatasetRecorder } from '../../src/data/dataset_recorder.ts';
import { expertPolicy } from '../../src/eval/episode_policy.ts';
import { rollout } from '../../src/eval/rollout.ts';
import { parseTrainConfig, type TrainConfigInput } from '../../src/train/config.ts';

/** A temp directory; call the returned cleanup in afterAll. */
export function tempDir(prefix = 'flowsteer-train-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Records `episodes` clean expert episodes of `reach` with a 16x16 front camera (a dataset in ~2 s). */
export async function recordReachDataset(dir: string, episodes = 3, imageSize = 16): Promise<string> {
  const env = await SimEnv.create({ task: 'reach', render: true, config: { imageSize } });
  try {
    const recorder = new DatasetRecorder(dir, {
      fps: env.fps,
      robotType: 'flowsteer-fs6',
      stateNames: env.stateNames,
      actionNames: env.actionNames,
      cameras: env.cameras.map((name) => ({ name, height: imageSize, width: imageSize })),
    });
    const policy = expertPolicy(env);
    for (let i = 0; i < episodes; i++) recorder.addEpisode(rollout(env, policy, i, { record: true }).episode);
    await recorder.close();
    return dir;
  } finally {
    env.dispose();
  }
}

/** A tiny network and schedule that trains in a few seconds. */
export function tinyConfig(overrides: TrainConfigInput = {}) {
  return parseTrainConfig({
    batchSize: 8,
    steps: 60,
    lr: 3e-3,
    warmupSteps: 5,
    logEvery: 5,
    valEvery: 20,
    valBatches: 1,
    checkpointEvery: 10,
    valFraction: 0.34,
    emaDecay: 0.9,
    emaEvery: 2,
    ...overrides,
    policy: {
      chunkSize: 4,
      vision: { channels: [4, 8], strides: [2, 2], keypoints: 4, features: 16 },
      language: { dim: 8, maxLength: 8 },
      stateFeatures: 8,
      head: { hidden: 32, depth: 2, timeDim: 8 },
      samplerSteps: 4,
      ...overrides.policy,
    },
  });
}
