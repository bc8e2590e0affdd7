import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { readLeRobotDataset, type LeRobotDataset } from '../../src/data/index.ts';
import { Normalizer } from '../../src/policy/normalize.ts';
import { SUBGOAL_TARGET, TrainingData, buildVocab, normalizationFromStats } from '../../src/train/dataset.ts';
import { POLICY_INPUTS } from '../../src/train/model.ts';
import { recordReachDataset, tempDir, tinyConfig } from './helpers.ts';

const tmp = tempDir();
let ds: LeRobotDataset;
beforeAll(async () => {
  ds = await readLeRobotDataset(await recordReachDataset(join(tmp.dir, 'reach'), 3));
}, 30_000);
afterAll(() => tmp.cleanup());

const cfg = tinyConfig().policy; // H = 4

describe('training samples (src/train/dataset.ts)', () => {
  it('splits by episode, builds the vocabulary from the task strings and normalises with meta/stats.json', () => {
    const data = TrainingData.fromDataset(ds, cfg, { valFraction: 0.34, seed: 0 });
    expect(data.valEpisodes).toHaveLength(1);
    const valEp = data.valEpisodes[0]!;
    const lengths = ds.episodes.map((e) => e.frames.length);
    expect(data.valFrames.length).toBe(lengths[valEp]);
    expect(data.trainFrames.length + data.valFrames.length).toBe(lengths.reduce((a, b) => a + b, 0));
    expect(data.vocab.slice(0, 2)).toEqual(['<pad>', '<unk>']);
    for (const e of ds.episodes) for (const w of e.instruction.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)) expect(data.vocab).toContain(w);
    expect(data.normalization.state).toEqual(normalizationFromStats(ds.stats, 'observation.state', 'mean_std', 7, ds.dir));
    expect(data.dims).toMatchObject({ stateDim: 7, actionDim: 7, cameras: [{ name: 'front', height: 16, width: 16 }], vocabSize: data.vocab.length });
  });

  it('min_max normalisation and a tiny std floor', () => {
    const mm = normalizationFromStats(ds.stats, 'action', 'min_max', 7, 'x');
    expect(mm.mode).toBe('min_max');
    const fake = { action: { ...ds.stats.action!, std: [0, 1, 1, 1, 1, 1, 1] } };
    expect(normalizationFromStats(fake, 'action', 'mean_std', 7, 'x').std![0]).toBe(1e-3);
    expect(() => normalizationFromStats({}, 'action', 'mean_std', 7, 'data/x')).toThrow(/data\/x: meta\/stats.json has no entry for 'action'/);
    expect(buildVocab(['Put the cube', 'put THE block'])).toEqual(['<pad>', '<unk>', 'block', 'cube', 'put', 'the']);
  });

  it('a chunk is a[t..t+H-1], repeating the last action past the episode end; x_t and u follow pi0', () => {
    const data = TrainingData.fromDataset(ds, cfg, { valFraction: 0, seed: 0 });
    const ep0 = ds.episodes[0]!;
    const T = ep0.frames.length;
    const A = 7;
    const H = cfg.chunkSize;
    const norm = new Normalizer(data.normalization.action, A, 'action');
    const frames = [0, T - 2, T - 1];
    const b = data.batch(frames, new Rng(1), { shift: 0 });
    frames.forEach((f, i) => {
      for (let j = 0; j < H; j++) {
        const src = ep0.frames[Math.min(f + j, T - 1)]!.action;
        expect([...b.actions.subarray((i * H + j) * A, (i * H + j + 1) * A)]).toEqual([...norm.normalize(src)]);
      }
    });
    const t = b.data[POLICY_INPUTS.time] as Float32Array;
    const xT = b.data[POLICY_INPUTS.xT] as Float32Array;
    const u = b.data.target as Float32Array;
    for (let i = 0; i < xT.length; i++) {
      const k = Math.floor(i / (H * A));
      const noise = (u[i] as number) + (b.actions[i] as number);
      expect(xT[i]).toBeCloseTo((t[k] as number) * noise + (1 - (t[k] as number)) * (b.actions[i] as number), 5);
    }
    expect([...(b.data.weight as Float32Array)]).toEqual([1, 1, 1]);
    // reach never toggles the gripper: every frame's subgoal is the episode's last action.
    expect([...(b.data[SUBGOAL_TARGET] as Float32Array).subarray(0, A)]).toEqual([...norm.normalize(ep0.frames[T - 1]!.action)]);
  });

  it('images are NCHW in [0, 1]; the random shift crops an edge-padded copy by at most `pad` pixels', () => {
    const data = TrainingData.fromDataset(ds, cfg, { valFraction: 0, seed: 0 });
    const raw = ds.episodes[0]!.frames[5]!.images.front!;
    const S = 16;
    const plain = data.batch([5], new Rng(1), { shift: 0 }).data[POLICY_INPUTS.image('front')] as Float32Array;
    for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) expect(plain[c * S * S + p]).toBe(Math.fround(raw[3 * p + c]! / 255));
    // Find the offset each shifted sample used, and check every pixel against it.
    const seen = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const img = data.batch([5], new Rng(seed), { shift: 2 }).data[POLICY_INPUTS.image('front')] as Float32Array;
      let match: string | undefined;
      for (let dy = -2; dy <= 2 && !match; dy++)
        for (let dx = -2; dx <= 2 && !match; dx++) {
          let ok = true;
          for (let y = 0; y < S && ok; y++)
            for (let x = 0; x < S && ok; x++) {
              const sy = Math.min(S - 1, Math.max(0, y + dy));
              const sx = Math.min(S - 1, Math.max(0, x + dx));
              for (let c = 0; c < 3; c++) if (img[c * S * S + y * S + x] !== Math.fround(raw[3 * (sy * S + sx) + c]! / 255)) ok = false;
            }
          if (ok) match = `${dy},${dx}`;
        }
      expect(match, `seed ${seed}`).toBeDefined();
      seen.add(match!);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('state dropout zeroes whole states (the dataset mean); trainFramesBefore picks episode starts', () => {
    const data = TrainingData.fromDataset(ds, cfg, { valFraction: 0, seed: 0 });
    const frames = Array.from({ length: 200 }, (_, i) => i % data.numFrames);
    const state = data.batch(frames, new Rng(3), { shift: 0, stateDropout: 0.3 }).data[POLICY_INPUTS.state] as Float32Array;
    let zeroed = 0;
    for (let b = 0; b < 200; b++) {
      const row = [...state.subarray(b * 7, b * 7 + 7)];
      if (row.every((v) => v === 0)) zeroed++;
      else expect(row.some((v) => v === 0)).toBe(false);
    }
    expect(zeroed / 200).toBeGreaterThan(0.2);
    expect(zeroed / 200).toBeLessThan(0.4);
    const early = data.trainFramesBefore(5);
    expect(early.length).toBe(15); // 3 episodes x 5 frames
    let start = 0;
    for (const e of ds.episodes) {
      for (let k = 0; k < 5; k++) expect(early).toContain(start + k);
      start += e.frames.length;
    }
  });

  it('a camera the dataset lacks is a clear error', () => {
    expect(() => TrainingData.fromDataset(ds, { ...cfg, cameras: ['wrist'] }, { valFraction: 0, seed: 0 })).toThrow(/policy\.cameras asks for camera 'wrist', the dataset has 'front'/);
  });
});
