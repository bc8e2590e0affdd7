import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.ts';
import { loadTrainConfigFile, parseTrainConfig } from '../../src/train/config.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('train config', () => {
  it('{} is a complete config with the documented defaults', () => {
    const c = parseTrainConfig({});
    expect(c.policy.chunkSize).toBe(16);
    expect(c.policy.samplerSteps).toBe(10);
    expect(c.policy.timeBeta).toEqual({ alpha: 1.5, beta: 1 });
    expect(c.policy.normalization).toEqual({ state: 'mean_std', action: 'mean_std' });
    expect(c.policy.vision.strides).toHaveLength(c.policy.vision.channels.length);
    expect(Object.isFrozen(c.policy.vision)).toBe(true);
  });

  it('the shipped pick-place config parses', () => {
    const c = loadTrainConfigFile('policies/configs/pick-place.json');
    expect(c.policy.cameras).toBeUndefined();
    expect(c.steps).toBeGreaterThan(1000);
  });

  it.each([
    [{ policy: { chunkSize: 0 } }, 'policy.chunkSize'],
    [{ policy: { vision: { channels: [16, 'x'] } } }, 'policy.vision.channels.1'],
    [{ policy: { vision: { channels: [16, 32], strides: [2] } } }, 'policy.vision.strides'],
    [{ policy: { vision: { strides: [2, 2, 3, 1] } } }, 'policy.vision.strides.2'],
    [{ policy: { head: { timeDim: 7 } } }, 'policy.head.timeDim'],
    [{ policy: { normalization: { action: 'quantiles' } } }, 'policy.normalization.action'],
    [{ policy: { timeBeta: { alpha: -1 } } }, 'policy.timeBeta.alpha'],
    [{ batchSize: 2.5 }, 'batchSize'],
    [{ lr: 0 }, 'lr'],
    [{ valFraction: 1 }, 'valFraction'],
    [{ stepz: 10 }, 'stepz'],
    [{ policy: { visoin: {} } }, 'policy.visoin'],
  ])('%j is rejected naming %s', (raw, field) => {
    const msg = messageOf(() => parseTrainConfig(raw, 'my.json'));
    expect(msg).toMatch(/^my\.json: invalid content/);
    expect(msg).toContain(`  ${field}: `);
  });

  it('a config file that is not JSON, or missing, names the file', () => {
    const bad = join(tmp.dir, 'bad.json');
    writeFileSync(bad, '{ steps: 3 ');
    expect(messageOf(() => loadTrainConfigFile(bad))).toMatch(/bad\.json: not valid JSON/);
    expect(messageOf(() => loadTrainConfigFile(join(tmp.dir, 'none.json')))).toMatch(/none\.json: config file missing/);
    const wrong = join(tmp.dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ policy: { head: { depth: 0 } } }));
    expect(messageOf(() => loadTrainConfigFile(wrong))).toMatch(/wrong\.json: invalid content\n {2}policy\.head\.depth: /);
  });
});
