import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../../src/core/errors.ts';
import { writeLeRobotDataset } from '../../src/data/lerobot_writer.ts';
import { DatasetRecorder } from '../../src/data/dataset_recorder.ts';
import { readLeRobotDataset, readLeRobotInfo } from '../../src/data/lerobot_reader.ts';
import type { DatasetSpec } from '../../src/data/features.ts';
import type { Episode } from '../../src/core/episode.ts';
import { SYNTHETIC_SPEC, makeSyntheticEpisodes } from '../../src/data/synthetic_dataset.ts';
import { errorOf, tempDir } from './helpers.ts';

const DATA = 'data/chunk-000/file-000.parquet';

function writeSynthetic(spec: DatasetSpec = SYNTHETIC_SPEC): string {
  const dir = join(tempDir(), 'ds');
  writeLeRobotDataset(dir, spec, makeSyntheticEpisodes(spec));
  return dir;
}

function editJson(path: string, edit: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(path, 'utf8'));
  edit(j);
  writeFileSync(path, JSON.stringify(j));
}

/** Asserts a UserError whose message names every fragment. */
async function expectUserError(fn: () => unknown, ...fragments: string[]): Promise<void> {
  const err = await errorOf(fn);
  expect(err).toBeInstanceOf(UserError);
  for (const f of fragments) expect(err.message).toContain(f);
}

describe('writer refusals', () => {
  it('refuses to overwrite a non-empty directory unless {overwrite: true}', async () => {
    const dir = writeSynthetic();
    const before = readFileSync(join(dir, DATA));
    await expectUserError(() => writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes()), dir, 'refusing to overwrite', 'overwrite: true');
    // Refused at construction, before any episode is recorded.
    await expectUserError(() => new DatasetRecorder(dir, SYNTHETIC_SPEC), 'refusing to overwrite');
    expect(readFileSync(join(dir, DATA))).toEqual(before);

    writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes().slice(0, 2), { overwrite: true });
    expect(readLeRobotInfo(dir).total_episodes).toBe(2);
    expect(readdirSync(dirname(dir))).toEqual(['ds']); // no temp or backup directory left
  });

  it('keeps the recording when close() is refused, so it can be retried', async () => {
    const dir = join(tempDir(), 'ds');
    const recorder = new DatasetRecorder(dir, SYNTHETIC_SPEC);
    for (const ep of makeSyntheticEpisodes()) recorder.addEpisode(ep);
    mkdirSync(dir);
    writeFileSync(join(dir, 'someone-elses-file'), 'x'); // appeared while recording
    await expectUserError(() => recorder.close(), 'refusing to overwrite');
    rmSync(dir, { recursive: true });
    expect(recorder.close().info.total_episodes).toBe(3);
    expect((await readLeRobotDataset(dir)).episodes).toHaveLength(3);
  });

  it('accepts an existing empty directory', () => {
    const dir = join(tempDir(), 'empty');
    mkdirSync(dir);
    writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes());
    expect(statSync(join(dir, 'meta/info.json')).isFile()).toBe(true);
  });

  const corruptions: { name: string; corrupt: (eps: Episode[]) => void; fragments: string[] }[] = [
    { name: 'state of the wrong size', corrupt: (eps) => (eps[1]!.frames[2]!.state = new Float32Array(3)), fragments: ['episode 1 frame 2', 'observation.state expected Float32Array of 4 values'] },
    { name: 'NaN action', corrupt: (eps) => (eps[0]!.frames[1]!.action[2] = NaN), fragments: ['episode 0 frame 1', 'action[2] is NaN'] },
    { name: 'missing image', corrupt: (eps) => delete eps[2]!.frames[0]!.images.front, fragments: ['episode 2 frame 0', 'observation.images.front expected 16x16x3'] },
    { name: 'flaw past the end', corrupt: (eps) => (eps[1]!.flaws[1]!.end = 9), fragments: ['episode 1 flaws[1].end', 'expected <= 7'] },
  ];
  it.each(corruptions)('rejects an episode with $name, naming it', async ({ corrupt, fragments }) => {
    const eps = makeSyntheticEpisodes();
    corrupt(eps);
    const dir = join(tempDir(), 'ds');
    await expectUserError(() => writeLeRobotDataset(dir, SYNTHETIC_SPEC, eps), ...fragments);
    expect(readdirSync(dirname(dir))).toEqual([]); // nothing written
  });

  it('rejects an invalid spec with the field name', async () => {
    await expectUserError(() => new DatasetRecorder(join(tempDir(), 'ds'), { ...SYNTHETIC_SPEC, fps: 0 }), 'dataset spec', 'fps');
    await expectUserError(() => new DatasetRecorder(join(tempDir(), 'ds'), { ...SYNTHETIC_SPEC, cameras: [{ name: 'a/b', height: 1, width: 1 }] }), 'cameras.0.name');
  });
});

describe('reader errors name the file, the field and what was expected', () => {
  it('missing meta/info.json', async () => {
    const dir = writeSynthetic();
    rmSync(join(dir, 'meta/info.json'));
    await expectUserError(() => readLeRobotDataset(dir), join(dir, 'meta/info.json'), 'file missing');
    await expectUserError(() => readLeRobotDataset(join(dir, 'nope')), 'meta/info.json', 'file missing');
  });

  it('wrong codebase_version', async () => {
    const dir = writeSynthetic();
    editJson(join(dir, 'meta/info.json'), (j) => (j.codebase_version = 'v2.1'));
    await expectUserError(() => readLeRobotDataset(dir), 'meta/info.json', 'codebase_version', 'expected "v3.0"');
  });

  it('corrupted info.json field types and JSON syntax', async () => {
    const dir = writeSynthetic();
    editJson(join(dir, 'meta/info.json'), (j) => (j.fps = 'ten'));
    await expectUserError(() => readLeRobotDataset(dir), 'meta/info.json', 'fps');
    writeFileSync(join(dir, 'meta/info.json'), '{"codebase_version": "v3.0",');
    await expectUserError(() => readLeRobotDataset(dir), 'meta/info.json', 'not valid JSON');
  });

  it('info.json feature that does not fit', async () => {
    const dir = writeSynthetic();
    editJson(join(dir, 'meta/info.json'), (j) => ((j.features as Record<string, { dtype: string }>)['observation.images.front']!.dtype = 'video'));
    await expectUserError(() => readLeRobotDataset(dir), 'meta/info.json', 'features.observation.images.front', 'video');
  });

  it('truncated data parquet', async () => {
    const dir = writeSynthetic();
    const path = join(dir, DATA);
    truncateSync(path, Math.floor(statSync(path).size / 2));
    await expectUserError(() => readLeRobotDataset(dir), path, 'not a readable parquet file', 'truncated');
  });

  it('missing tasks.parquet and episodes table', async () => {
    const dir = writeSynthetic();
    rmSync(join(dir, 'meta/tasks.parquet'));
    await expectUserError(() => readLeRobotDataset(dir), 'meta/tasks.parquet', 'file missing');
    const dir2 = writeSynthetic();
    rmSync(join(dir2, 'meta/episodes'), { recursive: true });
    await expectUserError(() => readLeRobotDataset(dir2), 'meta/episodes', 'directory missing');
  });

  it('column missing in the data parquet', async () => {
    const dir = writeSynthetic();
    const noCamera = writeSynthetic({ ...SYNTHETIC_SPEC, cameras: [] });
    copyFileSync(join(noCamera, DATA), join(dir, DATA));
    await expectUserError(() => readLeRobotDataset(dir), join(dir, DATA), 'column "observation.images.front"', 'column missing');
  });

  it('image shape that disagrees with info.json', async () => {
    const dir = writeSynthetic();
    const small = writeSynthetic({ ...SYNTHETIC_SPEC, cameras: [{ name: 'front', height: 8, width: 8 }] });
    copyFileSync(join(small, DATA), join(dir, DATA));
    await expectUserError(() => readLeRobotDataset(dir), DATA, 'column "observation.images.front" row 0 (episode 0 frame 0)', 'shape mismatch: expected 16x16x3 (info.json), got 8x8x3');
  });

  it('vector length that disagrees with info.json', async () => {
    const dir = writeSynthetic();
    const fewer = writeSynthetic({ ...SYNTHETIC_SPEC, stateNames: ['a', 'b', 'c'] });
    copyFileSync(join(fewer, DATA), join(dir, DATA));
    await expectUserError(() => readLeRobotDataset(dir), 'column "observation.state" row 0', 'expected 4 values (shape [4]), got 3');
  });

  it('totals in info.json that disagree with the tables', async () => {
    const dir = writeSynthetic();
    editJson(join(dir, 'meta/info.json'), (j) => (j.total_episodes = 4));
    await expectUserError(() => readLeRobotDataset(dir), 'meta/episodes', 'has 3 episodes', 'total_episodes says 4');
  });
});
