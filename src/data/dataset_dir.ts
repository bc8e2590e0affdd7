import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../core/atomic_write.ts';
import { UserError } from '../core/errors.ts';

/**
 * Publishing a dataset directory all at once: files go into a hidden sibling temp directory
 * (same filesystem, so the final rename is atomic), then that directory is renamed to the target.
 * A crash leaves either no dataset or the whole one at `dir`, never half of one; a leftover
 * `.<name>.tmp-*` sibling is the only trace.
 */

export interface CommitOptions {
  /** Replace an existing non-empty directory. @default false */
  overwrite?: boolean;
}

/** Throws a UserError when `dir` cannot take a new dataset under `options`. */
export function assertWritableTarget(dir: string, options: CommitOptions = {}): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserError(`${dir}: exists and is not a directory`);
  if (readdirSync(dir).length > 0 && !options.overwrite) {
    throw new UserError(`${dir}: directory exists and is not empty; refusing to overwrite it (pass {overwrite: true} to replace it)`);
  }
}

/** Writes `files` (paths relative to `dir`) into a temp sibling, then moves it to `dir`. */
export function commitDatasetDir(dir: string, files: ReadonlyMap<string, string | Uint8Array>, options: CommitOptions = {}): void {
  const target = resolve(dir);
  assertWritableTarget(target, options);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  try {
    for (const [rel, data] of files) writeFileAtomic(join(tmp, rel), data);
    if (existsSync(target)) {
      // Move the old dataset aside first: rename() cannot replace a non-empty directory. A crash
      // between the two renames leaves the old dataset intact in `.<name>.old-*`.
      const old = join(parent, `.${basename(target)}.old-${tag}`);
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
