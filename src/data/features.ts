import { z } from 'zod';
import { KEYS, imageKey } from '../core/keys.ts';

/**
 * LeRobot v3 `meta/info.json` and its `features` table, plus the small spec flowsteer builds them
 * from. The features table is the contract every reader casts the parquet columns to (LeRobot
 * builds its HF `datasets.Features` from it), so the writer, the reader and the parquet schema all
 * derive from `buildFeatures` and never from a second hand-written list.
 */

export const CODEBASE_VERSION = 'v3.0';
/** LeRobot's defaults (`lerobot/datasets/utils.py`): files per chunk folder and target file sizes. */
export const DEFAULT_CHUNKS_SIZE = 1000;
export const DEFAULT_DATA_FILE_SIZE_IN_MB = 100;
export const DEFAULT_VIDEO_FILE_SIZE_IN_MB = 500;
export const DATA_PATH_TEMPLATE = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
export const EPISODES_PATH_TEMPLATE = 'meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';

const NAME = /^[A-Za-z0-9_-]+$/;

export const CameraSpecSchema = z.object({
  name: z.string().regex(NAME, 'camera names use letters, digits, _ and - only (they become a column name)').describe('camera name'),
  height: z.number().int().positive().describe('image height in pixels'),
  width: z.number().int().positive().describe('image width in pixels'),
});
export type CameraSpec = z.infer<typeof CameraSpecSchema>;

/** What a dataset holds, independent of its content. */
export const DatasetSpecSchema = z
  .object({
    fps: z.number().int().positive().describe('control frequency; timestamp = frame_index / fps'),
    robotType: z.string().min(1).describe('info.json robot_type, e.g. `flowsteer-panda`'),
    stateNames: z.array(z.string().min(1)).min(1).describe('one name per observation.state dimension'),
    actionNames: z.array(z.string().min(1)).min(1).describe('one name per action dimension'),
    cameras: z.array(CameraSpecSchema).describe('observation.images.<name>, RGB uint8'),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.cameras.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'name'], message: `duplicate camera name "${c.name}"` });
      seen.add(c.name);
    });
  })
  .readonly();
export type DatasetSpec = z.infer<typeof DatasetSpecSchema>;

/** LeRobot accepts names as a list, as `{axis: list}` (older ports) or null. */
const FeatureNamesSchema = z.union([z.array(z.string()), z.record(z.string(), z.array(z.string())), z.null()]);

export const FeatureSchema = z.object({
  dtype: z.string().min(1).describe('numpy dtype name, or `image` / `video`'),
  shape: z.array(z.number().int().positive()).min(1).describe('per-frame shape; [1] for scalars, [H, W, 3] for images'),
  names: FeatureNamesSchema.optional().describe('axis or dimension names'),
});
export type Feature = z.infer<typeof FeatureSchema>;

export const LeRobotInfoSchema = z.object({
  codebase_version: z.literal(CODEBASE_VERSION, { error: `expected "${CODEBASE_VERSION}" (LeRobot v3 layout; convert older datasets with LeRobot's convert_dataset_v21_to_v30)` }),
  robot_type: z.string().nullable(),
  total_episodes: z.number().int().nonnegative(),
  total_frames: z.number().int().nonnegative(),
  total_tasks: z.number().int().nonnegative(),
  chunks_size: z.number().int().positive().describe('max files per chunk folder'),
  data_files_size_in_mb: z.number().positive(),
  video_files_size_in_mb: z.number().positive(),
  fps: z.number().positive(),
  splits: z.record(z.string(), z.string().regex(/^\d+:\d+$/, 'expected "start:end"')),
  data_path: z.string().includes('{chunk_index', { message: 'expected a template with {chunk_index} and {file_index}' }),
  video_path: z.string().nullable(),
  features: z.record(z.string(), FeatureSchema),
});
export type LeRobotInfo = z.infer<typeof LeRobotInfoSchema>;

const scalar = (dtype: 'float32' | 'int64' | 'bool'): Feature => ({ dtype, shape: [1], names: null });

/**
 * The features table for `spec`, in column order. Order matters only for readability of the
 * parquet schema; LeRobot looks columns up by name.
 */
export function buildFeatures(spec: DatasetSpec): Record<string, Feature> {
  const features: Record<string, Feature> = {
    [KEYS.state]: { dtype: 'float32', shape: [spec.stateNames.length], names: [...spec.stateNames] },
    [KEYS.action]: { dtype: 'float32', shape: [spec.actionNames.length], names: [...spec.actionNames] },
  };
  for (const cam of spec.cameras) {
    features[imageKey(cam.name)] = { dtype: 'image', shape: [cam.height, cam.width, 3], names: ['height', 'width', 'channels'] };
  }
  features[KEYS.reward] = scalar('float32');
  features[KEYS.done] = scalar('bool');
  features[KEYS.success] = scalar('bool');
  // LeRobot's DEFAULT_FEATURES, always last.
  features[KEYS.timestamp] = scalar('float32');
  features[KEYS.frameIndex] = scalar('int64');
  features[KEYS.episodeIndex] = scalar('int64');
  features[KEYS.index] = scalar('int64');
  features[KEYS.taskIndex] = scalar('int64');
  return features;
}

/** `meta/info.json` for a dataset of `spec` with the given totals. */
export function buildInfo(spec: DatasetSpec, totals: { episodes: number; frames: number; tasks: number }): LeRobotInfo {
  return {
    codebase_version: CODEBASE_VERSION,
    robot_type: spec.robotType,
    total_episodes: totals.episodes,
    total_frames: totals.frames,
    total_tasks: totals.tasks,
    chunks_size: DEFAULT_CHUNKS_SIZE,
    data_files_size_in_mb: DEFAULT_DATA_FILE_SIZE_IN_MB,
    video_files_size_in_mb: DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    fps: spec.fps,
    splits: { train: `0:${totals.episodes}` },
    data_path: DATA_PATH_TEMPLATE,
    video_path: null,
    features: buildFeatures(spec),
  };
}

/** Fills a LeRobot path template such as `data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet`. */
export function formatChunkPath(template: string, chunkIndex: number, fileIndex: number): string {
  const values: Record<string, number> = { chunk_index: chunkIndex, file_index: fileIndex };
  return template.replace(/\{(\w+)(?::0(\d+)d)?\}/g, (whole, key: string, width?: string) => {
    const v = values[key];
    if (v === undefined) return whole;
    return width ? String(v).padStart(Number(width), '0') : String(v);
  });
}

/**
 * Recovers the spec from an info.json, checking that its features are the ones flowsteer reads
 * (float32 vectors for state and action, PNG images, the `next.*` scalars). Throws a message
 * naming the feature; callers wrap it with the file name.
 */
export function specFromInfo(info: LeRobotInfo): DatasetSpec {
  const f = info.features;
  const vectorNames = (key: string): string[] => {
    const ft = f[key];
    if (!ft) throw new Error(`features.${key}: missing`);
    if (ft.dtype !== 'float32' || ft.shape.length !== 1) {
      throw new Error(`features.${key}: expected dtype float32 with shape [N], got ${ft.dtype} ${JSON.stringify(ft.shape)}`);
    }
    const n = ft.shape[0]!;
    const names = Array.isArray(ft.names) ? ft.names : ft.names ? Object.values(ft.names)[0] : undefined;
    if (names && names.length !== n) throw new Error(`features.${key}.names: expected ${n} names (shape), got ${names.length}`);
    return names ?? Array.from({ length: n }, (_, i) => `${key}_${i}`);
  };
  const cameras: CameraSpec[] = [];
  for (const [key, ft] of Object.entries(f)) {
    if (!key.startsWith(KEYS.imagePrefix)) continue;
    if (ft.dtype === 'video') throw new Error(`features.${key}: dtype "video" is not supported (flowsteer stores images as PNG in parquet)`);
    const [h, w, c] = ft.shape;
    if (ft.dtype !== 'image' || ft.shape.length !== 3 || c !== 3) {
      throw new Error(`features.${key}: expected dtype "image" with shape [H, W, 3], got ${ft.dtype} ${JSON.stringify(ft.shape)}`);
    }
    cameras.push({ name: key.slice(KEYS.imagePrefix.length), height: h!, width: w! });
  }
  const parsed = DatasetSpecSchema.safeParse({
    fps: info.fps,
    robotType: info.robot_type ?? 'unknown',
    stateNames: vectorNames(KEYS.state),
    actionNames: vectorNames(KEYS.action),
    cameras,
  });
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  // Every other feature must be exactly what buildFeatures makes, so the reader's column codecs apply.
  const expected = buildFeatures(parsed.data);
  for (const [key, want] of Object.entries(expected)) {
    const got = f[key];
    if (!got) throw new Error(`features.${key}: missing (expected ${want.dtype} ${JSON.stringify(want.shape)})`);
    if (got.dtype !== want.dtype || JSON.stringify(got.shape) !== JSON.stringify(want.shape)) {
      throw new Error(`features.${key}: expected ${want.dtype} ${JSON.stringify(want.shape)}, got ${got.dtype} ${JSON.stringify(got.shape)}`);
    }
  }
  return parsed.data;
}
