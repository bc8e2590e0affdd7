import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { writeLeRobotDataset } from '../../src/data/lerobot_writer.ts';
import { DatasetRecorder } from '../../src/data/dataset_recorder.ts';
import { readLeRobotDataset, readLeRobotInfo } from '../../src/data/lerobot_reader.ts';
import { LeRobotInfoSchema } from '../../src/data/features.ts';
import { SYNTHETIC_SPEC, makeSyntheticEpisodes } from '../../src/data/synthetic_dataset.ts';
import { tempDir } from './helpers.ts';

const parquet = (path: string) => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

describe('LeRobot v3 writer/reader round trip', () => {
  it('reads back exactly the episodes it wrote (frames, images, flaws, seeds, tasks)', async () => {
    const dir = join(tempDir(), 'ds');
    const episodes = makeSyntheticEpisodes();
    writeLeRobotDataset(dir, SYNTHETIC_SPEC, episodes);
    const ds = await readLeRobotDataset(dir);

    expect(ds.episodes).toHaveLength(3);
    ds.episodes.forEach((got, e) => {
      const want = episodes[e]!;
      expect({ ...got, meta: undefined }).toEqual({ ...want, meta: undefined });
      expect(got.meta).toMatchObject({ episode_index: e, length: want.frames.length, tasks: [want.instruction], seed: want.seed, flaws: want.flaws });
    });
    expect(ds.episodes[1]!.flaws).toEqual([
      { kind: 'hesitation', start: 2, end: 4 },
      { kind: 'retry', start: 5, end: 7 },
    ]);
    // dataset_from/to_index are global `index` values.
    expect(ds.episodes.map((e) => [e.meta.datasetFromIndex, e.meta.datasetToIndex])).toEqual([
      [0, 5],
      [5, 12],
      [12, 16],
    ]);
    expect(ds.spec).toEqual(SYNTHETIC_SPEC);
  });

  it('stores tasks by text, deduplicated, with the pandas index metadata LeRobot needs', async () => {
    const dir = join(tempDir(), 'ds');
    writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes());
    const ds = await readLeRobotDataset(dir);
    expect(ds.tasks).toEqual(['pick up the red cube', 'put the cube in the bin']);
    expect(ds.episodes.map((e) => e.instruction)).toEqual(['pick up the red cube', 'put the cube in the bin', 'pick up the red cube']);

    const file = parquet(join(dir, 'meta/tasks.parquet'));
    const pandas = parquetMetadata(file).key_value_metadata?.find((kv) => kv.key === 'pandas');
    expect(JSON.parse(pandas!.value!).index_columns).toEqual(['task']);
    const rows = await parquetReadObjects({ file, utf8: false });
    expect(rows).toEqual([
      { task_index: 0n, task: 'pick up the red cube' },
      { task_index: 1n, task: 'put the cube in the bin' },
    ]);
  });

  it('writes a valid info.json with the LeRobot feature table', () => {
    const dir = join(tempDir(), 'ds');
    writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes());
    const raw = JSON.parse(readFileSync(join(dir, 'meta/info.json'), 'utf8'));
    expect(LeRobotInfoSchema.safeParse(raw).success).toBe(true);
    expect(readLeRobotInfo(dir)).toEqual(raw);
    expect(raw).toMatchObject({
      codebase_version: 'v3.0',
      robot_type: 'flowsteer-synthetic',
      fps: 10,
      total_episodes: 3,
      total_frames: 16,
      total_tasks: 2,
      chunks_size: 1000,
      splits: { train: '0:3' },
      data_path: 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet',
      video_path: null,
    });
    expect(raw.features).toEqual({
      'observation.state': { dtype: 'float32', shape: [4], names: ['joint_0', 'joint_1', 'joint_2', 'gripper'] },
      action: { dtype: 'float32', shape: [3], names: ['vx', 'vy', 'gripper_cmd'] },
      'observation.images.front': { dtype: 'image', shape: [16, 16, 3], names: ['height', 'width', 'channels'] },
      'next.reward': { dtype: 'float32', shape: [1], names: null },
      'next.done': { dtype: 'bool', shape: [1], names: null },
      'next.success': { dtype: 'bool', shape: [1], names: null },
      timestamp: { dtype: 'float32', shape: [1], names: null },
      frame_index: { dtype: 'int64', shape: [1], names: null },
      episode_index: { dtype: 'int64', shape: [1], names: null },
      index: { dtype: 'int64', shape: [1], names: null },
      task_index: { dtype: 'int64', shape: [1], names: null },
    });
  });

  it('lays the data file out as LeRobot does: a row group per episode, snappy, statistics, HF features', async () => {
    const dir = join(tempDir(), 'ds');
    writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes());
    const file = parquet(join(dir, 'data/chunk-000/file-000.parquet'));
    const md = parquetMetadata(file);
    expect(md.row_groups.map((g) => Number(g.num_rows))).toEqual([5, 7, 4]);
    for (const col of md.row_groups[0]!.columns) {
      expect(col.meta_data?.codec).toBe('SNAPPY');
      expect(col.meta_data?.statistics).toBeDefined();
    }
    const hf = JSON.parse(md.key_value_metadata!.find((kv) => kv.key === 'huggingface')!.value!);
    expect(hf.info.features['observation.images.front']).toEqual({ _type: 'Image' });
    expect(hf.info.features['observation.state']).toEqual({ feature: { dtype: 'float32', _type: 'Value' }, length: 4, _type: 'List' });

    const [row] = await parquetReadObjects({ file, utf8: false, rowStart: 5, rowEnd: 6 });
    expect(row).toMatchObject({ index: 5n, episode_index: 1n, frame_index: 0n, task_index: 1n, timestamp: 0 });
    const img = row!['observation.images.front'];
    expect(img.path).toBeNull();
    expect([...img.bytes.subarray(1, 4)].map((c: number) => String.fromCharCode(c)).join('')).toBe('PNG');

    const [ep1] = await parquetReadObjects({ file: parquet(join(dir, 'meta/episodes/chunk-000/file-000.parquet')), utf8: false, rowStart: 1, rowEnd: 2 });
    expect(ep1).toMatchObject({
      episode_index: 1n,
      tasks: ['put the cube in the bin'],
      length: 7n,
      'data/chunk_index': 0n,
      'data/file_index': 0n,
      dataset_from_index: 5n,
      dataset_to_index: 12n,
      'flowsteer/seed': 101n,
      'flowsteer/success': false,
      'flowsteer/task_name': 'pick-place',
    });
    expect(JSON.parse(ep1!['flowsteer/flaws'])).toEqual([
      { kind: 'hesitation', start: 2, end: 4 },
      { kind: 'retry', start: 5, end: 7 },
    ]);
  });

  it('records incrementally, splits data files by size, and reads a subset of episodes', async () => {
    const dir = join(tempDir(), 'ds');
    const episodes = makeSyntheticEpisodes();
    // A tiny file size limit: every episode starts a new data file.
    const recorder = new DatasetRecorder(dir, SYNTHETIC_SPEC, { dataFileSizeInMb: 1e-6 });
    const metas = episodes.map((ep) => recorder.addEpisode(ep));
    expect(metas.map((m) => m.episode_index)).toEqual([0, 1, 2]);
    expect(recorder.numEpisodes).toBe(3);
    const summary = recorder.close();
    expect(summary.files.filter((f) => f.startsWith('data/'))).toEqual([
      'data/chunk-000/file-000.parquet',
      'data/chunk-000/file-001.parquet',
      'data/chunk-000/file-002.parquet',
    ]);
    const ds = await readLeRobotDataset(dir, { episodes: [2] });
    expect(ds.episodes).toHaveLength(1);
    expect(ds.episodes[0]!.meta).toMatchObject({ episode_index: 2, dataFileIndex: 2, datasetFromIndex: 12 });
    expect(ds.episodes[0]!.frames).toEqual(episodes[2]!.frames);
    // No temp directory is left beside the dataset.
    expect(readdirSync(dirname(dir))).toEqual(['ds']);
  });
});
