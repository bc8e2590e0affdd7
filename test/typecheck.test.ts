import { it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The code runs through tsx, which strips types without checking them; this keeps `strict` honest.
it('the whole project type-checks under strict TypeScript', () => {
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json'], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
});
