import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects, parquetSchema, type FileMetaData, type SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { z } from 'zod';
import type { Episode, EpisodeMeta, Frame } from '../core/episode.ts';
import { KEYS, imageKey } from '../core/keys.ts';
import { UserError, describeZodIssues } from '../core/errors.ts';
import { LeRobotInfoSchema, formatChunkPath, specFromInfo, type DatasetSpec, type LeRobotInfo } from './features.ts';
import { checkColumn, columnKind, type ColumnKind } from './parquet_schema.ts';
import { DatasetStatsSchema, type DatasetStats } from './stats.ts';
import { EpisodeRowSchema, type ReadEpisodeRow } from './meta_tables.ts';
import { decodePngToRgb } from '../plot/png.ts';

/**
 * Reads a LeRobot v3 dataset with image features (ours, or LeRobot's with the same features)
 * back into flowsteer episodes. Everything read is validated: a malformed dataset raises a
 * UserError naming the file, the field or column, and what was expected.
 *
 * Parquet is read with `utf8: false`: otherwise hyparquet turns un-annotated BYTE_ARRAYs, i.e.
 * the PNG bytes, into strings. Columns annotated UTF8 (task text) still come back as strings.
 */

/** Where an episode lives, beside the episode-level fields flowsteer uses. */
export interface LeRobotEpisodeMeta extends EpisodeMeta {
  dataChunkIndex: number;
  dataFileIndex: number;
  /** Global `index` of the first frame. */
  datasetFromIndex: number;
  /** Global `index` one past the last frame. */
  datasetToIndex: number;
}

/**
 * An episode as read. For datasets without flowsteer's `flowsteer/*` episode columns: taskName
 * is "unknown", seed is -1, success is the last frame's `next.success`, flaws are empty.
 */
export interface LeRobotEpisode extends Episode {
  meta: LeRobotEpisodeMeta;
}

export interface LeRobotDataset {
  dir: string;
  info: LeRobotInfo;
  /** The spec recovered from info.json (state/action names, cameras, fps). */
  spec: DatasetSpec;
  stats: DatasetStats;
  /** Task text by task_index. */
  tasks: string[];
  episodes: LeRobotEpisode[];
}

export interface ReadOptions {
  /** Read only these episode indices (all when omitted). @default undefined */
  episodes?: readonly number[];
}

const INFO = 'meta/info.json';
const STATS = 'meta/stats.json';
const TASKS = 'meta/tasks.parquet';
const EPISODES_DIR = 'meta/episodes';
/** LeRobot's `check_timestamps_sync` tolerance. */
const TIMESTAMP_TOLERANCE_S = 1e-4;

/** Reads and validates `meta/info.json` only (cheap: for listings and CLI checks). */
export function readLeRobotInfo(dir: string): LeRobotInfo {
  return parseJsonFile(dir, INFO, LeRobotInfoSchema, 'not a LeRobot dataset directory?');
}

export async function readLeRobotDataset(dir: string, options: ReadOptions = {}): Promise<LeRobotDataset> {
  const info = readLeRobotInfo(dir);
  let spec: DatasetSpec;
  try {
    spec = specFromInfo(info);
  } catch (err) {
    throw new UserError(`${join(dir, INFO)}: ${(err as Error).message}`);
  }
  const stats = parseJsonFile(dir, STATS, DatasetStatsSchema);
  const tasks = await readTasks(dir, info);
  const rows = await readEpisodeRows(dir, info);

  const wanted = options.episodes ? new Set(options.episodes) : undefined;
  for (const e of wanted ?? []) {
    if (!rows[e]) throw new UserError(`${dir}: episode ${e} requested, but the dataset has episodes 0..${rows.length - 1}`);
  }
  const episodes: LeRobotEpisode[] = [];
  for (const group of groupByDataFile(rows)) {
    const chosen = group.rows.filter((r) => !wanted || wanted.has(r.episode_index));
    if (chosen.length === 0) continue;
    const file = new DataFile(dir, formatChunkPath(info.data_path, group.chunkIndex, group.fileIndex), info, spec, group.rows);
    for (const row of chosen) episodes.push(await file.readEpisode(row, tasks));
  }
  episodes.sort((a, b) => a.meta.episode_index - b.meta.episode_index);
  return { dir, info, spec, stats, tasks, episodes };
}

// ------------------------------------------------------------------ metadata files

function parseJsonFile<T extends z.ZodType>(dir: string, rel: string, schema: T, hint = ''): z.output<T> {
  const path = join(dir, rel);
  if (!existsSync(path)) throw new UserError(`${path}: file missing${hint ? ` (${hint})` : ''}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new UserError(describeZodIssues(path, parsed.error.issues));
  return parsed.data;
}

/** Opens a parquet file fully in memory and checks its footer. */
function openParquet(path: string): { buffer: ArrayBuffer; metadata: FileMetaData; schema: SchemaTree } {
  if (!existsSync(path)) throw new UserError(`${path}: file missing`);
  const bytes = readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    const metadata = parquetMetadata(buffer);
    return { buffer, metadata, schema: parquetSchema(metadata) };
  } catch (err) {
    throw new UserError(`${path}: not a readable parquet file (${(err as Error).message}); truncated or corrupted?`);
  }
}

async function readRows(path: string, buffer: ArrayBuffer, metadata: FileMetaData, columns: string[], range: { rowStart?: number; rowEnd?: number } = {}) {
  try {
    return await parquetReadObjects({ file: buffer, metadata, columns, utf8: false, compressors, ...range });
  } catch (err) {
    throw new UserError(`${path}: failed to decode parquet data (${(err as Error).message}); truncated or corrupted?`);
  }
}

function requireColumns(path: string, schema: SchemaTree, want: Record<string, ColumnKind | 'string' | 'string-list'>): void {
  for (const [name, kind] of Object.entries(want)) {
    const node = schema.children.find((c) => c.element.name === name);
    let problem: string | undefined;
    if (kind === 'string') problem = !node ? 'column missing' : node.element.type !== 'BYTE_ARRAY' ? `expected a string column, got ${node.element.type ?? 'a group'}` : undefined;
    else if (kind === 'string-list') problem = !node ? 'column missing' : node.children.length === 0 ? 'expected a list of strings' : undefined;
    else problem = checkColumn(node, kind);
    if (problem) throw new UserError(`${path}: column "${name}": ${problem}`);
  }
}

async function readTasks(dir: string, info: LeRobotInfo): Promise<string[]> {
  const path = join(dir, TASKS);
  const { buffer, metadata, schema } = openParquet(path);
  requireColumns(path, schema, { task_index: 'int64', task: 'string' });
  const rows = await readRows(path, buffer, metadata, ['task_index', 'task']);
  const tasks: string[] = [];
  for (const [i, r] of rows.entries()) {
    const idx = Number(r.task_index);
    if (typeof r.task !== 'string' || !Number.isInteger(idx) || idx < 0 || idx >= rows.length || tasks[idx] !== undefined) {
      throw new UserError(`${path}: row ${i}: expected a unique task_index in 0..${rows.length - 1} and a task string, got ${String(r.task_index)} / ${typeof r.task}`);
    }
    tasks[idx] = r.task;
  }
  if (tasks.length !== info.total_tasks) throw new UserError(`${path}: has ${tasks.length} tasks, ${INFO} total_tasks says ${info.total_tasks}`);
  return tasks;
}

async function readEpisodeRows(dir: string, info: LeRobotInfo): Promise<ReadEpisodeRow[]> {
  const root = join(dir, EPISODES_DIR);
  if (!existsSync(root)) throw new UserError(`${root}: directory missing (expected chunk-*/file-*.parquet episode tables)`);
  const files = readdirSync(root)
    .filter((c) => c.startsWith('chunk-'))
    .sort()
    .flatMap((c) =>
      readdirSync(join(root, c))
        .filter((f) => f.endsWith('.parquet'))
        .sort()
        .map((f) => join(root, c, f)),
    );
  if (files.length === 0) throw new UserError(`${root}: no episode tables (expected chunk-*/file-*.parquet)`);
  const rows: ReadEpisodeRow[] = [];
  for (const path of files) {
    const { buffer, metadata, schema } = openParquet(path);
    requireColumns(path, schema, {
      episode_index: 'int64',
      tasks: 'string-list',
      length: 'int64',
      'data/chunk_index': 'int64',
      'data/file_index': 'int64',
      dataset_from_index: 'int64',
      dataset_to_index: 'int64',
    });
    const names = Object.keys(EpisodeRowSchema.shape).filter((n) => schema.children.some((c) => c.element.name === n));
    for (const [i, raw] of (await readRows(path, buffer, metadata, names)).entries()) {
      const parsed = EpisodeRowSchema.safeParse(raw);
      if (!parsed.success) throw new UserError(describeZodIssues(`${path} row ${i}`, parsed.error.issues));
      rows.push(parsed.data);
    }
  }
  rows.sort((a, b) => a.episode_index - b.episode_index);
  rows.forEach((r, i) => {
    if (r.episode_index !== i) throw new UserError(`${root}: episode_index ${i} missing or duplicated (found ${r.episode_index} in its place)`);
  });
  if (rows.length !== info.total_episodes) throw new UserError(`${root}: has ${rows.length} episodes, ${INFO} total_episodes says ${info.total_episodes}`);
  return rows;
}

/** Episodes grouped by the data file that holds them, in file order. */
function groupByDataFile(rows: ReadEpisodeRow[]): { chunkIndex: number; fileIndex: number; rows: ReadEpisodeRow[] }[] {
  const groups = new Map<string, { chunkIndex: number; fileIndex: number; rows: ReadEpisodeRow[] }>();
  for (const r of rows) {
    const key = `${r['data/chunk_index']}/${r['data/file_index']}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { chunkIndex: r['data/chunk_index'], fileIndex: r['data/file_index'], rows: [] }));
    g.rows.push(r);
  }
  return [...groups.values()];
}

// ------------------------------------------------------------------ data files

type ColumnPlan = { key: string; kind: ColumnKind; shape: number[] };

/** One data parquet file (`data/chunk-NNN/file-NNN.parquet`) and the episodes it holds. */
class DataFile {
  #path: string;
  #buffer: ArrayBuffer;
  #metadata: FileMetaData;
  #info: LeRobotInfo;
  #spec: DatasetSpec;
  #columns: ColumnPlan[];
  /** Global index of this file's first row. */
  #firstIndex: number;

  constructor(dir: string, rel: string, info: LeRobotInfo, spec: DatasetSpec, episodes: ReadEpisodeRow[]) {
    this.#path = join(dir, rel);
    const { buffer, metadata, schema } = openParquet(this.#path);
    this.#buffer = buffer;
    this.#metadata = metadata;
    this.#info = info;
    this.#spec = spec;
    // The columns flowsteer maps to Frame fields; extra columns in the file are ignored.
    const wanted = [KEYS.state, KEYS.action, ...spec.cameras.map((c) => imageKey(c.name)), KEYS.reward, KEYS.done, KEYS.success, KEYS.timestamp, KEYS.frameIndex, KEYS.episodeIndex, KEYS.index, KEYS.taskIndex];
    this.#columns = wanted.map((key) => {
      const ft = info.features[key]!;
      return { key, kind: columnKind(key, ft), shape: ft.shape };
    });
    requireColumns(this.#path, schema, Object.fromEntries(this.#columns.map((c) => [c.key, c.kind])));
    this.#firstIndex = Math.min(...episodes.map((e) => e.dataset_from_index));
    const expectedRows = episodes.reduce((n, e) => n + e.length, 0);
    if (Number(metadata.num_rows) !== expectedRows) {
      throw new UserError(`${this.#path}: has ${metadata.num_rows} rows, the episode table puts ${expectedRows} frames (episodes ${episodes.map((e) => e.episode_index).join(', ')}) in it`);
    }
  }

  async readEpisode(row: ReadEpisodeRow, tasks: string[]): Promise<LeRobotEpisode> {
    const e = row.episode_index;
    const rowStart = row.dataset_from_index - this.#firstIndex;
    const records = await readRows(
      this.#path,
      this.#buffer,
      this.#metadata,
      this.#columns.map((c) => c.key),
      { rowStart, rowEnd: rowStart + row.length },
    );
    const frames: Frame[] = records.map((r, t) => this.#frame(r, rowStart + t, e, t, row, tasks));
    const meta: LeRobotEpisodeMeta = {
      episode_index: e,
      length: row.length,
      tasks: row.tasks,
      seed: row['flowsteer/seed'] ?? -1,
      success: row['flowsteer/success'] ?? frames.at(-1)!.success,
      flaws: row['flowsteer/flaws'] ?? [],
      dataChunkIndex: row['data/chunk_index'],
      dataFileIndex: row['data/file_index'],
      datasetFromIndex: row.dataset_from_index,
      datasetToIndex: row.dataset_to_index,
    };
    return {
      taskName: row['flowsteer/task_name'] ?? 'unknown',
      instruction: row.tasks[0]!,
      seed: meta.seed,
      success: meta.success,
      flaws: meta.flaws,
      frames,
      meta,
    };
  }

  /** Decodes and checks one row. `fileRow` is the row number in the file (for messages). */
  #frame(r: Record<string, unknown>, fileRow: number, e: number, t: number, row: ReadEpisodeRow, tasks: string[]): Frame {
    const fail = (key: string, msg: string): never => {
      throw new UserError(`${this.#path}: column "${key}" row ${fileRow} (episode ${e} frame ${t}): ${msg}`);
    };
    const value = (c: ColumnPlan): unknown => {
      const v = r[c.key];
      if (v === null || v === undefined) fail(c.key, 'is null');
      return v;
    };
    const out: Partial<Frame> & { images: Record<string, Uint8Array> } = { images: {} };
    const ints: Record<string, number> = {};
    let timestamp = 0;
    for (const c of this.#columns) {
      const v = value(c);
      switch (c.kind) {
        case 'vector': {
          const n = c.shape[0]!;
          if (!Array.isArray(v) || v.length !== n) fail(c.key, `expected ${n} values (shape [${n}]), got ${Array.isArray(v) ? v.length : typeof v}`);
          const arr = Float32Array.from(v as number[]);
          if (c.key === KEYS.state) out.state = arr;
          else out.action = arr;
          break;
        }
        case 'float32': {
          if (typeof v !== 'number') fail(c.key, `expected a float, got ${typeof v}`);
          const x = v as number;
          if (c.key === KEYS.state) out.state = Float32Array.of(x);
          else if (c.key === KEYS.action) out.action = Float32Array.of(x);
          else if (c.key === KEYS.reward) out.reward = x;
          else timestamp = x;
          break;
        }
        case 'bool':
          if (typeof v !== 'boolean') fail(c.key, `expected a bool, got ${typeof v}`);
          if (c.key === KEYS.done) out.done = v as boolean;
          else out.success = v as boolean;
          break;
        case 'int64':
          ints[c.key] = Number(v);
          break;
        case 'image': {
          const bytes = (v as { bytes?: unknown }).bytes;
          if (!(bytes instanceof Uint8Array)) fail(c.key, 'expected struct<bytes, path> with PNG bytes');
          let img: ReturnType<typeof decodePngToRgb>;
          try {
            img = decodePngToRgb(bytes as Uint8Array);
          } catch (err) {
            return fail(c.key, `PNG does not decode (${(err as Error).message})`);
          }
          const [h, w] = c.shape;
          if (img.height !== h || img.width !== w) fail(c.key, `shape mismatch: expected ${h}x${w}x3 (info.json), got ${img.height}x${img.width}x3`);
          out.images[c.key.slice(KEYS.imagePrefix.length)] = img.rgb;
          break;
        }
      }
    }
    // Bookkeeping columns must agree with the episode table, or frames would be attributed wrongly.
    const expect = (key: string, want: number) => {
      if (ints[key] !== want) fail(key, `expected ${want}, got ${ints[key]}`);
    };
    expect(KEYS.episodeIndex, e);
    expect(KEYS.frameIndex, t);
    expect(KEYS.index, row.dataset_from_index + t);
    const task = tasks[ints[KEYS.taskIndex]!];
    if (task === undefined || !row.tasks.includes(task)) fail(KEYS.taskIndex, `expected the index of one of ${JSON.stringify(row.tasks)}, got ${ints[KEYS.taskIndex]}`);
    if (Math.abs(timestamp - t / this.#info.fps) > TIMESTAMP_TOLERANCE_S) fail(KEYS.timestamp, `expected frame_index / fps = ${t / this.#spec.fps}, got ${timestamp}`);
    return out as Frame;
  }
}
