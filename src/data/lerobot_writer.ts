import type { Episode } from '../core/episode.ts';
import type { DatasetSpec } from './features.ts';
import { DatasetRecorder, type DatasetRecorderOptions, type DatasetSummary } from './dataset_recorder.ts';

/**
 * Writes `episodes` as a LeRobot v3 dataset at `dir`:
 *
 * ```
 * dir/meta/info.json                              features, fps, totals, path templates
 * dir/meta/stats.json                             per-feature mean/std/min/max/quantiles/count
 * dir/meta/tasks.parquet                          task text <-> task_index
 * dir/meta/episodes/chunk-000/file-000.parquet    one row per episode (+ flowsteer/* extras)
 * dir/data/chunk-000/file-000.parquet             one row per frame, one row group per episode
 * ```
 *
 * Refuses a non-empty `dir` unless `{overwrite: true}`; writes into a temp directory and renames
 * it into place. The same code path as recording with a `DatasetRecorder` one episode at a time.
 */
export function writeLeRobotDataset(dir: string, spec: DatasetSpec, episodes: readonly Episode[], options: DatasetRecorderOptions = {}): DatasetSummary {
  const recorder = new DatasetRecorder(dir, spec, options);
  for (const episode of episodes) recorder.addEpisode(episode);
  return recorder.close();
}
