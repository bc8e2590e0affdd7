import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { FlawLabelSchema, type Episode, type EpisodeMeta, type Frame } from '../core/episode.ts';
import { KEYS, imageKey } from '../core/keys.ts';
import { UserError, describeZodIssues } from '../core/errors.ts';
import {
  DATA_PATH_TEMPLATE,
  DEFAULT_CHUNKS_SIZE,
  DEFAULT_DATA_FILE_SIZE_IN_MB,
  DatasetSpecSchema,
  EPISODES_PATH_TEMPLATE,
  buildFeatures,
  buildInfo,
  formatChunkPath,
  type DatasetSpec,
  type Feature,
  type LeRobotInfo,
} from './features.ts';
import { columnKind, hfFeaturesFor, parquetSchemaFor, type ColumnKind } from './parquet_schema.ts';
import { StatsAccumulator, type DatasetStats } from './stats.ts';
import { episodesParquet, tasksParquet, type EpisodeRow } from './meta_tables.ts';
import { encodeRgbPng } from '../plot/png.ts';
import { assertWritableTarget, commitDatasetDir, type CommitOptions } from './dataset_dir.ts';

/**
 * Records episodes one at a time into a LeRobot v3 dataset (image features, no video).
 *
 * Memory: each episode is encoded when added (PNG images, one parquet row group per episode,
 * snappy) and only those encoded bytes are kept, plus the state/action values stats need. Nothing
 * touches the disk until `close()`, which writes every file into a temp directory and renames it
 * to `dir` (see dataset_dir.ts): a crash mid-recording loses the session but never leaves a half
 * dataset. Sessions larger than RAM need a streaming variant (not implemented).
 */

export interface DatasetRecorderOptions extends CommitOptions {
  /**
   * Start a new data file once the current one reaches this size (LeRobot's
   * `data_files_size_in_mb`). An episode is never split across files.
   * @default 100
   */
  dataFileSizeInMb?: number;
}

export interface DatasetSummary {
  dir: string;
  info: LeRobotInfo;
  stats: DatasetStats;
  /** task text by task_index */
  tasks: string[];
  /** Relative paths of the files written. */
  files: string[];
}

type FrameValue = number | boolean | Float32Array | Uint8Array;
interface ColumnPlan {
  key: string;
  kind: ColumnKind;
  feature: Feature;
  /** Reads this column's raw value off a frame (t = frame index in the episode). */
  get: (frame: Frame, t: number) => FrameValue;
}

interface OpenDataFile {
  bytes: ByteWriter;
  parquet: ParquetWriter;
  chunkIndex: number;
  fileIndex: number;
}

export class DatasetRecorder {
  readonly dir: string;
  readonly spec: DatasetSpec;
  #options: DatasetRecorderOptions;
  #features: Record<string, Feature>;
  #columns: ColumnPlan[];
  #stats: StatsAccumulator;
  #tasks = new Map<string, number>();
  #rows: EpisodeRow[] = [];
  #files = new Map<string, string | Uint8Array>();
  #open: OpenDataFile | undefined;
  #nextFile = { chunkIndex: 0, fileIndex: 0 };
  #totalFrames = 0;
  #closed = false;
  /** Set once close() has rendered every file; a failed commit can then be retried. */
  #summary: DatasetSummary | undefined;
  /** Per-episode values of the bookkeeping columns, set before encoding each episode. */
  #ep = { index: 0, taskIndex: 0, firstGlobalIndex: 0 };

  constructor(dir: string, spec: DatasetSpec, options: DatasetRecorderOptions = {}) {
    const parsed = DatasetSpecSchema.safeParse(spec);
    if (!parsed.success) throw new UserError(describeZodIssues('dataset spec', parsed.error.issues));
    // Fail before an hour of recording, not after; checked again when committing.
    assertWritableTarget(dir, options);
    this.dir = dir;
    this.spec = parsed.data;
    this.#options = options;
    this.#features = buildFeatures(this.spec);
    this.#stats = new StatsAccumulator(this.#features);
    this.#columns = this.#planColumns();
  }

  /** Number of episodes added so far. */
  get numEpisodes(): number {
    return this.#rows.length;
  }

  /** Validates and encodes one episode; returns its metadata (episode_index, tasks...). */
  addEpisode(episode: Episode): EpisodeMeta {
    if (this.#summary) throw new Error('DatasetRecorder: addEpisode after close()');
    const episodeIndex = this.#rows.length;
    this.#check(episode, episodeIndex);

    let taskIndex = this.#tasks.get(episode.instruction);
    if (taskIndex === undefined) {
      taskIndex = this.#tasks.size;
      this.#tasks.set(episode.instruction, taskIndex);
    }
    this.#ep = { index: episodeIndex, taskIndex, firstGlobalIndex: this.#totalFrames };

    const file = this.#dataFile();
    const n = episode.frames.length;
    const columnData = this.#columns.map((c) => ({ name: c.key, data: this.#encodeColumn(c, episode.frames) }));
    // One row group per episode: readers can then fetch an episode without decoding its neighbours.
    file.parquet.write({ columnData, rowGroupSize: n });

    const meta: EpisodeMeta = {
      episode_index: episodeIndex,
      length: n,
      tasks: [episode.instruction],
      seed: episode.seed,
      success: episode.success,
      flaws: episode.flaws.map((f) => ({ ...f })),
    };
    this.#rows.push({
      episode_index: episodeIndex,
      tasks: meta.tasks,
      length: n,
      'data/chunk_index': file.chunkIndex,
      'data/file_index': file.fileIndex,
      dataset_from_index: this.#totalFrames,
      dataset_to_index: this.#totalFrames + n,
      'meta/episodes/chunk_index': 0,
      'meta/episodes/file_index': 0,
      'flowsteer/task_name': episode.taskName,
      'flowsteer/seed': episode.seed,
      'flowsteer/success': episode.success,
      'flowsteer/flaws': JSON.stringify(meta.flaws),
    });
    this.#totalFrames += n;

    const limit = (this.#options.dataFileSizeInMb ?? DEFAULT_DATA_FILE_SIZE_IN_MB) * 1024 * 1024;
    if (file.bytes.offset >= limit) this.#finishDataFile();
    return meta;
  }

  /**
   * Writes the dataset to `dir` (atomically) and returns what was written. If writing fails (the
   * directory appeared meanwhile, disk full), the recorded episodes are kept: fix the cause and
   * call `close()` again.
   */
  close(): DatasetSummary {
    if (this.#closed) throw new Error('DatasetRecorder: close() called after a successful close()');
    if (this.#rows.length === 0) throw new UserError(`${this.dir}: no episodes recorded; nothing written`);
    this.#summary ??= this.#finalise();
    commitDatasetDir(this.dir, this.#files, this.#options);
    this.#closed = true;
    this.#files.clear(); // release the encoded bytes
    return this.#summary;
  }

  /** Closes the last data file and renders the metadata files; runs once. */
  #finalise(): DatasetSummary {
    this.#finishDataFile();
    const tasks = [...this.#tasks.keys()];
    const info = buildInfo(this.spec, { episodes: this.#rows.length, frames: this.#totalFrames, tasks: tasks.length });
    const stats = this.#stats.finish();
    // 4-space JSON like LeRobot's write_json, so diffs against LeRobot-made datasets stay small.
    this.#files.set('meta/info.json', JSON.stringify(info, null, 4) + '\n');
    this.#files.set('meta/stats.json', JSON.stringify(stats, null, 4) + '\n');
    this.#files.set('meta/tasks.parquet', tasksParquet(tasks));
    this.#files.set(formatChunkPath(EPISODES_PATH_TEMPLATE, 0, 0), episodesParquet(this.#rows));
    return { dir: this.dir, info, stats, tasks, files: [...this.#files.keys()].sort() };
  }

  // ------------------------------------------------------------------ internals

  #planColumns(): ColumnPlan[] {
    const getters = new Map<string, ColumnPlan['get']>([
      [KEYS.state, (f) => f.state],
      [KEYS.action, (f) => f.action],
      ...this.spec.cameras.map((c): [string, ColumnPlan['get']] => [imageKey(c.name), (f) => f.images[c.name]!]),
      [KEYS.reward, (f) => f.reward],
      [KEYS.done, (f) => f.done],
      [KEYS.success, (f) => f.success],
      // timestamp in float32 exactly as LeRobot computes it: frame_index / fps.
      [KEYS.timestamp, (_, t) => Math.fround(t / this.spec.fps)],
      [KEYS.frameIndex, (_, t) => t],
      [KEYS.episodeIndex, () => this.#ep.index],
      [KEYS.index, (_, t) => this.#ep.firstGlobalIndex + t],
      [KEYS.taskIndex, () => this.#ep.taskIndex],
    ]);
    return Object.entries(this.#features).map(([key, feature]) => {
      const get = getters.get(key);
      if (!get) throw new Error(`DatasetRecorder: no source for feature ${key}`);
      return { key, feature, kind: columnKind(key, feature), get };
    });
  }

  /** Parquet values of one column for an episode; feeds the stats on the way. */
  #encodeColumn(c: ColumnPlan, frames: Frame[]): unknown[] {
    return frames.map((frame, t) => {
      const raw = c.get(frame, t);
      switch (c.kind) {
        case 'image': {
          const rgb = raw as Uint8Array;
          this.#stats.addImage(c.key, rgb);
          const [height, width] = c.feature.shape as [number, number, number];
          return { bytes: encodeRgbPng(rgb, width, height), path: null };
        }
        case 'vector': {
          const v = raw as Float32Array;
          this.#stats.add(c.key, v);
          return Array.from(v);
        }
        case 'float32': {
          // A 1-dim state/action is stored as a scalar (LeRobot maps shape [1] to a Value).
          const x = Math.fround(typeof raw === 'number' ? raw : (raw as Float32Array)[0]!);
          this.#stats.add(c.key, x);
          return x;
        }
        case 'int64':
          this.#stats.add(c.key, raw as number);
          return BigInt(raw as number);
        case 'bool':
          this.#stats.add(c.key, raw as boolean);
          return raw as boolean;
      }
    });
  }

  #dataFile(): OpenDataFile {
    if (!this.#open) {
      const bytes = new ByteWriter();
      const kvMetadata = [{ key: 'huggingface', value: JSON.stringify({ info: { features: hfFeaturesFor(this.#features) } }) }];
      const parquet = new ParquetWriter({ writer: bytes, schema: parquetSchemaFor(this.#features), codec: 'SNAPPY', statistics: true, kvMetadata, createdBy: 'flowsteer' });
      this.#open = { bytes, parquet, ...this.#nextFile };
    }
    return this.#open;
  }

  #finishDataFile(): void {
    const file = this.#open;
    if (!file) return;
    file.parquet.finish();
    this.#files.set(formatChunkPath(DATA_PATH_TEMPLATE, file.chunkIndex, file.fileIndex), new Uint8Array(file.bytes.getBuffer()));
    this.#open = undefined;
    // LeRobot's update_chunk_file_indices: chunks hold chunks_size files.
    const { chunkIndex, fileIndex } = file;
    this.#nextFile = fileIndex === DEFAULT_CHUNKS_SIZE - 1 ? { chunkIndex: chunkIndex + 1, fileIndex: 0 } : { chunkIndex, fileIndex: fileIndex + 1 };
  }

  /** Throws a UserError naming the episode, frame and field that does not fit the spec. */
  #check(ep: Episode, e: number): void {
    const where = `episode ${e}`;
    if (!ep.instruction) throw new UserError(`${where}: instruction (task text) is empty`);
    if (ep.frames.length === 0) throw new UserError(`${where}: has no frames`);
    if (!Number.isSafeInteger(ep.seed)) throw new UserError(`${where}: seed expected an integer, got ${ep.seed}`);
    const S = this.spec.stateNames.length;
    const A = this.spec.actionNames.length;
    ep.frames.forEach((f, t) => {
      const at = `${where} frame ${t}`;
      for (const [key, v, n] of [
        [KEYS.state, f.state, S],
        [KEYS.action, f.action, A],
      ] as const) {
        if (!(v instanceof Float32Array) || v.length !== n) throw new UserError(`${at}: ${key} expected Float32Array of ${n} values, got ${v?.length ?? typeof v}`);
        // NaN would poison mean/std of the whole dataset; the recorder loop should end the episode instead.
        const bad = v.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw new UserError(`${at}: ${key}[${bad}] is ${v[bad]} (expected a finite number)`);
      }
      if (!Number.isFinite(f.reward)) throw new UserError(`${at}: ${KEYS.reward} is ${f.reward} (expected a finite number)`);
      for (const cam of this.spec.cameras) {
        const img = f.images[cam.name];
        const n = cam.height * cam.width * 3;
        if (!(img instanceof Uint8Array) || img.length !== n) {
          throw new UserError(`${at}: ${imageKey(cam.name)} expected ${cam.height}x${cam.width}x3 = ${n} bytes, got ${img ? img.length : 'no image'}`);
        }
      }
    });
    ep.flaws.forEach((flaw, i) => {
      const parsed = FlawLabelSchema.safeParse(flaw);
      if (!parsed.success) throw new UserError(describeZodIssues(`${where} flaws[${i}]`, parsed.error.issues));
      if (flaw.end > ep.frames.length) throw new UserError(`${where} flaws[${i}].end: expected <= ${ep.frames.length} (episode length), got ${flaw.end}`);
    });
  }
}
