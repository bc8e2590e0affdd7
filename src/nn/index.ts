// Public surface of the ONNX training engine. See docs/nn-engine.md.
export { GraphBuilder, attr, ONNX_IR_VERSION, ONNX_OPSET, type ElemType, type Dim, type AttrValue, type TensorData } from './onnx_builder.ts';
export { Tape, type Value, type ParamHandle } from './tape.ts';
export { init, type Init } from './init.ts';
export { ParamRegistry, checkParamSet, type ParamSet, type ParamSpec } from './param_registry.ts';
export { f32, i64, type InputSpec, type InputSpecs, type BatchData, type ValuesOf } from './inputs.ts';
export { defineModel, Model, type ModelDefinition, type ForwardFn, type InferenceBuildOptions } from './model.ts';
export { buildTrainStepGraph, type TrainStepOptions, type TrainStepGraph, type TrainStepSignature, type LossFn } from './train_step.ts';
export { trainStepIO } from './train_step_io.ts';
export { AdamWConfigSchema, parseAdamWConfig, type AdamWConfig, type AdamWConfigInput } from './adamw.ts';
export { Trainer, type TrainerOptions, type SetParamsOptions } from './trainer.ts';
export { createSession, type ExecutionProviderName, type SessionConfig } from './execution_provider.ts';
export { saveCheckpoint, loadCheckpoint, CheckpointError } from './checkpoint.ts';
export { initialTrainState, type TrainState } from './train_state.ts';
export type { StepRunner, StepResult } from './step_runner.ts';
export { LocalStepRunner } from './local_step_runner.ts';
export { WorkerStepRunner } from './worker_step_runner.ts';

export { Linear } from './layers/linear.ts';
export { Conv2d } from './layers/conv2d.ts';
export { LayerNorm } from './layers/layer_norm.ts';
export { Embedding } from './layers/embedding.ts';

export { linear } from './ops/linear.ts';
export { conv2d, convOutputSize, type ConvWeightGrad } from './ops/conv2d.ts';
export { add, sub, mul, div, scale } from './ops/elementwise.ts';
export { relu, sigmoid, silu, gelu, tanh } from './ops/activations.ts';
export { siluFilm } from './ops/film.ts';
export { layerNorm } from './ops/layer_norm.ts';
export { softmax, logSoftmax } from './ops/softmax.ts';
export { reshape, transpose, concat, slice } from './ops/shape_ops.ts';
export { embedding } from './ops/embedding.ts';
export { reduceMean, reduceSum, globalAvgPool } from './ops/reduce.ts';
export { sinusoidalEmbedding } from './ops/time_embedding.ts';
export { msePerSample, crossEntropyPerSample, weightedMean } from './ops/losses.ts';
