import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLeRobotDataset } from '../../src/data/lerobot_writer.ts';
import { readLeRobotDataset, type LeRobotDataset } from '../../src/data/lerobot_reader.ts';
import { buildFeatures } from '../../src/data/features.ts';
import { columnKind, type ColumnKind } from '../../src/data/parquet_schema.ts';
import { SYNTHETIC_SPEC, makeSyntheticEpisodes } from '../../src/data/synthetic_dataset.ts';

/**
 * test/data/golden/pyarrow_read.json is what pyarrow, pandas and HF `datasets` read from the
 * synthetic dataset written by this writer (bench/compat/README.md regenerates it). Here the same
 * dataset is written again and flowsteer's reader must see the same values, and the arrow types
 * the independent readers saw must be the ones LeRobot expects. No Python needed.
 */

interface GoldenEpisode {
  episode_index: number;
  length: number;
  tasks: string[];
  dataset_from_index: number;
  dataset_to_index: number;
  task_text_via_task_index: string;
  'flowsteer/task_name': string;
  'flowsteer/seed': number;
  'flowsteer/success': boolean;
  'flowsteer/flaws': unknown[];
  frame_index: number[];
  timestamp_first_last: [number, number];
  state_first: number[];
  state_last: number[];
  action_first: number[];
  action_last: number[];
  reward_last: number;
  done: boolean[];
  success_last: boolean;
  image_path_first: Record<string, string | null>;
}
interface ImageProbe {
  shape: number[];
  dtype: string;
  pixels: Record<string, number[]>;
}
interface Golden {
  info_keys: string[];
  info: Record<string, unknown>;
  stats_keys: Record<string, string[]>;
  data_file_layout: { num_rows: number; row_group_sizes: number[]; compression: string[]; statistics_on_every_column: boolean; kv_metadata_keys: string[] };
  arrow_types: Record<string, string>;
  episodes_arrow_types: Record<string, string>;
  tasks: string[];
  tasks_index_name: string;
  episodes: GoldenEpisode[];
  hf_datasets: {
    plain_features: Record<string, string>;
    plain_num_rows: number;
    plain_row0_state: number[];
    lerobot_style_arrow_types: Record<string, string>;
    lerobot_style_last_action: number[];
    decoded_images: Record<string, Record<string, ImageProbe>>;
  };
}

const golden: Golden = JSON.parse(readFileSync(new URL('./golden/pyarrow_read.json', import.meta.url), 'utf8'));

/** The arrow type pyarrow must report for each column kind (LeRobot / HF `datasets` expectations). */
const ARROW_TYPE: Record<ColumnKind, string> = {
  vector: 'list<element: float>',
  float32: 'float',
  int64: 'int64',
  bool: 'bool',
  image: 'struct<bytes: binary, path: string>',
};

describe('compatibility with pyarrow / pandas / HF datasets (golden file)', () => {
  let ds: LeRobotDataset;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowsteer-golden-'));
    writeLeRobotDataset(join(dir, 'ds'), SYNTHETIC_SPEC, makeSyntheticEpisodes());
    ds = await readLeRobotDataset(join(dir, 'ds'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('pyarrow saw the arrow types LeRobot expects for every feature', () => {
    const features = buildFeatures(SYNTHETIC_SPEC);
    const expected = Object.fromEntries(Object.entries(features).map(([k, ft]) => [k, ARROW_TYPE[columnKind(k, ft)]]));
    expect(golden.arrow_types).toEqual(expected);
    // With LeRobot's features (from info.json) HF datasets casts vectors to fixed size.
    expect(golden.hf_datasets.lerobot_style_arrow_types).toMatchObject({
      'observation.state': `fixed_size_list<item: float>[${SYNTHETIC_SPEC.stateNames.length}]`,
      action: `fixed_size_list<item: float>[${SYNTHETIC_SPEC.actionNames.length}]`,
      'observation.images.front': 'struct<bytes: binary, path: string>',
    });
    expect(golden.hf_datasets.plain_features['observation.images.front']).toMatch(/^Image\(/);
    expect(golden.episodes_arrow_types).toMatchObject({
      episode_index: 'int64',
      tasks: 'list<element: string>',
      length: 'int64',
      dataset_from_index: 'int64',
      dataset_to_index: 'int64',
      'flowsteer/flaws': 'string',
      'flowsteer/seed': 'int64',
      'flowsteer/success': 'bool',
    });
  });

  it('same physical layout: one row group per episode, snappy, statistics, huggingface metadata', () => {
    expect(golden.data_file_layout).toEqual({
      num_rows: ds.info.total_frames,
      row_group_sizes: ds.episodes.map((e) => e.frames.length),
      compression: ['SNAPPY'],
      statistics_on_every_column: true,
      kv_metadata_keys: ['huggingface'],
    });
  });

  it('same info.json keys and values, same stats keys', () => {
    expect(golden.info_keys).toEqual(Object.keys(ds.info).sort());
    expect(golden.info).toEqual({
      codebase_version: ds.info.codebase_version,
      fps: ds.info.fps,
      total_episodes: ds.info.total_episodes,
      total_frames: ds.info.total_frames,
      total_tasks: ds.info.total_tasks,
      splits: ds.info.splits,
      data_path: ds.info.data_path,
      video_path: ds.info.video_path,
    });
    expect(golden.stats_keys).toEqual(Object.fromEntries(Object.entries(ds.stats).map(([k, v]) => [k, Object.keys(v).sort()])));
  });

  it('same tasks, looked up by pandas the way LeRobot does (tasks.iloc[i].name)', () => {
    expect(golden.tasks_index_name).toBe('task');
    expect(golden.tasks).toEqual(ds.tasks);
  });

  it('same per-episode values', () => {
    expect(golden.episodes.length).toBe(ds.episodes.length);
    golden.episodes.forEach((g, e) => {
      const ours = ds.episodes[e]!;
      const first = ours.frames[0]!;
      const last = ours.frames.at(-1)!;
      expect({
        episode_index: ours.meta.episode_index,
        length: ours.meta.length,
        tasks: ours.meta.tasks,
        dataset_from_index: ours.meta.datasetFromIndex,
        dataset_to_index: ours.meta.datasetToIndex,
        task_text_via_task_index: ours.instruction,
        'flowsteer/task_name': ours.taskName,
        'flowsteer/seed': ours.seed,
        'flowsteer/success': ours.success,
        'flowsteer/flaws': ours.flaws,
        frame_index: ours.frames.map((_, t) => t),
        timestamp_first_last: [0, Math.fround((ours.frames.length - 1) / ds.info.fps)],
        state_first: Array.from(first.state),
        state_last: Array.from(last.state),
        action_first: Array.from(first.action),
        action_last: Array.from(last.action),
        reward_last: last.reward,
        done: ours.frames.map((f) => f.done),
        success_last: last.success,
        image_path_first: { 'observation.images.front': null },
      }).toEqual(g);
    });
    expect(golden.hf_datasets.plain_num_rows).toBe(ds.info.total_frames);
    expect(golden.hf_datasets.plain_row0_state).toEqual(Array.from(ds.episodes[0]!.frames[0]!.state));
    expect(golden.hf_datasets.lerobot_style_last_action).toEqual(Array.from(ds.episodes.at(-1)!.frames.at(-1)!.action));
  });

  it('same decoded pixels as HF datasets (PIL)', () => {
    const frames = ds.episodes.flatMap((e) => e.frames); // global index order
    for (const [key, byRow] of Object.entries(golden.hf_datasets.decoded_images)) {
      const cam = key.slice('observation.images.'.length);
      const { height, width } = SYNTHETIC_SPEC.cameras.find((c) => c.name === cam)!;
      for (const [row, probe] of Object.entries(byRow)) {
        expect(probe.shape).toEqual([height, width, 3]);
        expect(probe.dtype).toBe('uint8');
        const rgb = frames[Number(row)]!.images[cam]!;
        for (const [yx, pixel] of Object.entries(probe.pixels)) {
          const [y, x] = yx.split(',').map(Number) as [number, number];
          const i = (y * width + x) * 3;
          expect(Array.from(rgb.subarray(i, i + 3)), `${key} row ${row} pixel ${yx}`).toEqual(pixel);
        }
      }
    }
  });
});
