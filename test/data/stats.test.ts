import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StatsAccumulator, quantileSorted, DatasetStatsSchema, type DatasetStats } from '../../src/data/stats.ts';
import { writeLeRobotDataset } from '../../src/data/lerobot_writer.ts';
import { SYNTHETIC_SPEC, makeSyntheticEpisodes } from '../../src/data/synthetic_dataset.ts';

describe('quantileSorted (numpy linear interpolation)', () => {
  it.each([
    [[1, 2, 3, 4], 0.5, 2.5],
    [[1, 2, 3, 4], 0, 1],
    [[1, 2, 3, 4], 1, 4],
    [[0, 10], 0.01, 0.1],
    [[5], 0.99, 5],
  ])('quantile(%j, %d) = %d', (v, q, want) => {
    expect(quantileSorted(v, q)).toBeCloseTo(want, 12);
  });
});

describe('StatsAccumulator', () => {
  it('computes per-dimension vector stats by hand', () => {
    const acc = new StatsAccumulator({ v: { dtype: 'float32', shape: [2], names: null }, b: { dtype: 'bool', shape: [1], names: null } });
    for (const x of [0, 1, 2, 3]) {
      acc.add('v', [x, 10 - 2 * x]);
      acc.add('b', x === 3);
    }
    const s = acc.finish();
    // dim 0: 0 1 2 3 -> mean 1.5, var (2.25+0.25+0.25+2.25)/4 = 1.25; dim 1: 10 8 6 4 -> mean 7, var 5
    expect(s.v).toMatchObject({ min: [0, 4], max: [3, 10], mean: [1.5, 7], std: [Math.sqrt(1.25), Math.sqrt(5)], count: [4] });
    // numpy linear quantiles: position q * (n - 1) = 3q between sorted neighbours.
    const want = { q01: [0.03, 4.06], q10: [0.3, 4.6], q50: [1.5, 7], q90: [2.7, 9.4], q99: [2.97, 9.94] } as const;
    for (const [k, values] of Object.entries(want)) {
      values.forEach((x, d) => expect((s.v![k as keyof typeof want] as number[])[d]).toBeCloseTo(x, 12));
    }
    expect(s.b).toMatchObject({ min: [0], max: [1], mean: [0.25], std: [Math.sqrt(0.1875)], count: [4] });
  });

  it('computes per-channel image stats in [0, 1] with shape [3, 1, 1]', () => {
    const acc = new StatsAccumulator({ img: { dtype: 'image', shape: [1, 2, 3], names: ['height', 'width', 'channels'] } });
    acc.addImage('img', Uint8Array.of(0, 255, 10, 255, 255, 30)); // two pixels: R 0/255, G 255/255, B 10/30
    const s = acc.finish().img!;
    expect(s.count).toEqual([1]);
    expect(s.min).toEqual([[[0]], [[1]], [[10 / 255]]]);
    expect(s.max).toEqual([[[1]], [[1]], [[30 / 255]]]);
    expect(s.mean).toEqual([[[0.5]], [[1]], [[20 / 255]]]);
    expect(s.std).toEqual([[[0.5]], [[0]], [[10 / 255]]]);
    expect(s.q50).toEqual([[[0.5]], [[1]], [[20 / 255]]]);
  });
});

describe('meta/stats.json of the synthetic dataset', () => {
  let stats: DatasetStats = {};
  beforeAll(() => {
    const dir = join(mkdtempSync(join(tmpdir(), 'flowsteer-stats-')), 'ds');
    writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes());
    stats = DatasetStatsSchema.parse(JSON.parse(readFileSync(join(dir, 'meta/stats.json'), 'utf8')));
    rmSync(dirname(dir), { recursive: true, force: true });
  });

  it('has every feature, each with LeRobot stat keys', () => {
    expect(Object.keys(stats).sort()).toEqual(
      ['action', 'episode_index', 'frame_index', 'index', 'next.done', 'next.reward', 'next.success', 'observation.images.front', 'observation.state', 'task_index', 'timestamp'].sort(),
    );
    for (const s of Object.values(stats)) expect(Object.keys(s).sort()).toEqual(['count', 'max', 'mean', 'min', 'q01', 'q10', 'q50', 'q90', 'q99', 'std']);
  });

  it('matches hand-computed observation.state values', () => {
    // state[d] = 10 e + t + d/2 over episodes of 5, 7, 4 frames. Dim 0 values:
    // 0..4, 10..16, 20..23: sum 187, sum of squares 3095, n 16.
    const mean0 = 187 / 16; // 11.6875
    const std0 = Math.sqrt(3095 / 16 - mean0 * mean0);
    const s = stats['observation.state']!;
    expect(s.count).toEqual([16]);
    expect(s.min).toEqual([0, 0.5, 1, 1.5]);
    expect(s.max).toEqual([23, 23.5, 24, 24.5]);
    (s.mean as number[]).forEach((m, d) => expect(m).toBeCloseTo(mean0 + d / 2, 12));
    (s.std as number[]).forEach((x) => expect(x).toBeCloseTo(std0, 12));
    // sorted dim 0: [0 1 2 3 4 10 11 12 13 14 15 16 20 21 22 23]; q50 at 7.5 -> (12+13)/2,
    // q01 at 0.15 -> 0.15, q99 at 14.85 -> 22.85.
    expect(s.q50![0]).toBeCloseTo(12.5, 12);
    expect(s.q01![0]).toBeCloseTo(0.15, 12);
    expect(s.q99![0]).toBeCloseTo(22.85, 12);
  });

  it('matches hand-computed image values (green channel = 16 y)', () => {
    const s = stats['observation.images.front']!;
    expect(s.count).toEqual([16]);
    const g = (k: keyof typeof s) => ((s[k] as number[][][])[1]![0]![0]! * 255);
    // Every image has rows y = 0..15 with G = 16 y: uniform over {0, 16, ..., 240}.
    expect(g('min')).toBeCloseTo(0, 9);
    expect(g('max')).toBeCloseTo(240, 9);
    expect(g('mean')).toBeCloseTo(120, 9);
    expect(g('std')).toBeCloseTo(16 * Math.sqrt((16 * 16 - 1) / 12), 9);
    expect(g('q50')).toBeCloseTo(120, 9); // between rank 2047 (112) and 2048 (128) of 4096
    expect(g('q01')).toBeCloseTo(0, 9);
    expect(g('q99')).toBeCloseTo(240, 9);
  });

  it('counts episode bookkeeping columns like any other feature', () => {
    expect(stats.frame_index!.max).toEqual([6]);
    expect(stats.index!.mean).toEqual([7.5]);
    expect(stats['next.done']!.mean).toEqual([3 / 16]);
    expect(stats['next.reward']!.max).toEqual([1]);
  });
});
