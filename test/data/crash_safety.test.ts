import { describe, expect, it, vi } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeLeRobotDataset } from '../../src/data/lerobot_writer.ts';
import { SYNTHETIC_SPEC, makeSyntheticEpisodes } from '../../src/data/synthetic_dataset.ts';
import { tempDir } from './helpers.ts';

// Simulates a crash (disk full, kill) on the 3rd file of a dataset write.
const failOnCall = { n: Infinity, calls: 0 };
vi.mock('../../src/core/atomic_write.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/core/atomic_write.ts')>();
  return {
    ...real,
    writeFileAtomic: (path: string, data: string | Uint8Array) => {
      if (++failOnCall.calls === failOnCall.n) throw new Error('ENOSPC: simulated crash');
      real.writeFileAtomic(path, data);
    },
  };
});

describe('a failure mid-write never leaves a half dataset', () => {
  it('leaves nothing at a new dir', () => {
    const dir = join(tempDir(), 'ds');
    Object.assign(failOnCall, { n: 3, calls: 0 });
    expect(() => writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes())).toThrow('simulated crash');
    expect(readdirSync(dirname(dir))).toEqual([]);
  });

  it('leaves the old dataset intact when overwriting', () => {
    const dir = join(tempDir(), 'ds');
    Object.assign(failOnCall, { n: Infinity, calls: 0 });
    writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes());
    const info = readFileSync(join(dir, 'meta/info.json'), 'utf8');
    Object.assign(failOnCall, { n: 3, calls: 0 });
    expect(() => writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes().slice(0, 1), { overwrite: true })).toThrow('simulated crash');
    expect(readFileSync(join(dir, 'meta/info.json'), 'utf8')).toBe(info);
    expect(readdirSync(dirname(dir))).toEqual(['ds']);
  });
});
