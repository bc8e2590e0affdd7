// Public surface of the flow-matching policy trainer (`flowsteer train`). Re-exports only.
export { PolicyConfigSchema, TrainConfigSchema, VisionConfigSchema, parseTrainConfig, loadTrainConfigFile, type PolicyConfig, type TrainConfig, type TrainConfigInput } from './config.ts';
export { declarePolicyNetwork, flowPolicyModel, observationInputSpecs, POLICY_INPUTS, POLICY_MODEL_NAME, HEAD_SCOPE, type PolicyDims, type PolicyNetwork, type FlowPolicyModel } from './model.ts';
export { sampleGamma, sampleBeta, sampleFlowTime, eulerTimes, interpolate, TIME_MIN } from './flow_matching.ts';
export { TrainingData, buildVocab, normalizationFromStats, MIN_SCALE, type FlowBatch, type BatchOptions, type TrainingDataOptions } from './dataset.ts';
export { buildSampleGraph, buildFeaturesGraph, buildManifest, writePolicyBundle, SAMPLE_FILE, FEATURES_FILE, type BundleInfo, type GraphExportOptions } from './export.ts';
export { WeightEma, saveParamFile, loadParamFile } from './ema.ts';
export { train, learningRate, writeLossPlot, STATE_FILE, CHECKPOINT_FILE, EMA_FILE, LOSS_PLOT_FILE, type TrainOptions, type TrainResult, type TrainState, type HistoryPoint, type ValPoint } from './train.ts';
