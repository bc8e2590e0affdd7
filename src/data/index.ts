// Public API of the dataset module (LeRobot v3, image features). Re-exports only.
export { writeLeRobotDataset } from './lerobot_writer.ts';
export { DatasetRecorder, type DatasetRecorderOptions, type DatasetSummary } from './dataset_recorder.ts';
export { readLeRobotDataset, readLeRobotInfo, type LeRobotDataset, type LeRobotEpisode, type LeRobotEpisodeMeta, type ReadOptions } from './lerobot_reader.ts';
export { DatasetSpecSchema, LeRobotInfoSchema, buildFeatures, buildInfo, type DatasetSpec, type Feature, type LeRobotInfo } from './features.ts';
export { StatsAccumulator, DatasetStatsSchema, type DatasetStats, type FeatureStats } from './stats.ts';
export { SYNTHETIC_SPEC, makeSyntheticEpisodes } from './synthetic_dataset.ts';
