import type { Episode, Frame } from '../core/episode.ts';
import type { DatasetSpec } from './features.ts';

/**
 * A small deterministic dataset (no RNG, no simulator): the fixture for the dataset tests and
 * for the compatibility golden file read by pyarrow / HF `datasets` (bench/compat). Values are
 * multiples of 1/8 so they are exact in float32 and easy to check by hand.
 *
 * 3 episodes of 5, 7 and 4 frames; 2 distinct instructions (episodes 0 and 2 share one);
 * 4-dim state, 3-dim action (different sizes catch swapped columns); one 16x16 camera.
 */

export const SYNTHETIC_SPEC: DatasetSpec = {
  fps: 10,
  robotType: 'flowsteer-synthetic',
  stateNames: ['joint_0', 'joint_1', 'joint_2', 'gripper'],
  actionNames: ['vx', 'vy', 'gripper_cmd'],
  cameras: [{ name: 'front', height: 16, width: 16 }],
};

const EPISODES = [
  { length: 5, instruction: 'pick up the red cube', seed: 100, success: true, flaws: [] },
  {
    length: 7,
    instruction: 'put the cube in the bin',
    seed: 101,
    success: false,
    flaws: [
      { kind: 'hesitation', start: 2, end: 4 },
      { kind: 'retry', start: 5, end: 7 },
    ],
  },
  { length: 4, instruction: 'pick up the red cube', seed: 102, success: true, flaws: [{ kind: 'jitter', start: 0, end: 1 }] },
] as const;

/** observation.state[d] at frame t of episode e. */
export const syntheticState = (e: number, t: number, d: number) => e * 10 + t + d * 0.5;
/** action[d] at frame t of episode e. */
export const syntheticAction = (e: number, t: number, d: number) => (t - d) * 0.125 * (e + 1);
/** RGB of pixel (y, x) at frame t of episode e. */
export const syntheticPixel = (e: number, t: number, y: number, x: number): [number, number, number] => [
  (x * 16 + e * 40 + t) & 255,
  (y * 16) & 255,
  (x + y + t * 3) & 255,
];

function frame(spec: DatasetSpec, e: number, t: number, n: number, success: boolean): Frame {
  const images: Record<string, Uint8Array> = {};
  for (const cam of spec.cameras) {
    const rgb = new Uint8Array(cam.height * cam.width * 3);
    for (let y = 0; y < cam.height; y++) {
      for (let x = 0; x < cam.width; x++) rgb.set(syntheticPixel(e, t, y, x), (y * cam.width + x) * 3);
    }
    images[cam.name] = rgb;
  }
  const last = t === n - 1;
  return {
    state: Float32Array.from(spec.stateNames, (_, d) => syntheticState(e, t, d)),
    action: Float32Array.from(spec.actionNames, (_, d) => syntheticAction(e, t, d)),
    reward: success && last ? 1 : 0,
    done: last,
    success: success && last,
    images,
  };
}

/** The three synthetic episodes, freshly allocated on each call. */
export function makeSyntheticEpisodes(spec: DatasetSpec = SYNTHETIC_SPEC): Episode[] {
  return EPISODES.map((ep, e) => ({
    taskName: 'pick-place',
    instruction: ep.instruction,
    seed: ep.seed,
    success: ep.success,
    flaws: ep.flaws.map((f) => ({ ...f })),
    frames: Array.from({ length: ep.length }, (_, t) => frame(spec, e, t, ep.length, ep.success)),
  }));
}
