import { emitAdamW, emitClipCoefficient, emitGlobalNorm, parseAdamWConfig, type AdamWConfig, type AdamWConfigInput } from './adamw.ts';
import type { InputSpec, InputSpecs, ValuesOf } from './inputs.ts';
import { GraphBuilder } from './onnx_builder.ts';
import type { ParamSpec } from './param_registry.ts';
import { Tape, type Value } from './tape.ts';
import { trainStepIO } from './train_step_io.ts';

/** The loss: a scalar (shape []) built from the model's outputs and the batch (model inputs and targets). */
export type LossFn<O extends string, B extends InputSpecs> = (t: Tape, outputs: Readonly<Record<O, Value>>, batch: ValuesOf<B>) => Value;

export interface TrainStepOptions<I extends InputSpecs, O extends string, L extends InputSpecs> {
  /** Fixed batch size of the step graph (backward nodes use static shapes). */
  readonly batchSize: number;
  /** Extra per-sample inputs only the loss reads (targets, sample weights). @default {} */
  readonly targets?: L;
  readonly loss: LossFn<O, I & L>;
  readonly optimizer: AdamWConfigInput;
  /** Clip gradients to this global L2 norm before the update (torch clip_grad_norm_). */
  readonly gradClip?: { readonly maxNorm: number };
  /** Also output the model outputs (for checks and logging). @default false */
  readonly exposeOutputs?: boolean;
  /** Also output each parameter's raw (unclipped) gradient as `grads/<name>`. @default false */
  readonly exposeGradients?: boolean;
}

/**
 * Everything a runner needs to drive a step graph, as plain data (structured-cloneable,
 * so it can be posted to a worker thread with the bytes).
 */
export interface TrainStepSignature {
  readonly modelName: string;
  readonly batchSize: number;
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
  /** Model inputs and loss targets, per-sample specs. */
  readonly batchInputs: InputSpecs;
  readonly optimizer: AdamWConfig;
  readonly gradClipMaxNorm: number | null;
  /** Graph output holding the scalar loss. */
  readonly lossOutput: string;
  /** Model output key -> graph output name (empty unless exposeOutputs). */
  readonly modelOutputs: Readonly<Record<string, string>>;
  /** Parameter name -> graph output name of its raw gradient (empty unless exposeGradients). */
  readonly gradOutputs: Readonly<Record<string, string>>;
}

export interface TrainStepGraph {
  readonly bytes: Uint8Array;
  readonly signature: TrainStepSignature;
  readonly nodeCount: number;
}

export interface TrainStepModel<I extends InputSpecs, O extends string> {
  readonly name: string;
  readonly inputs: I;
  readonly paramSpecs: readonly ParamSpec[];
  forward(t: Tape, inputs: ValuesOf<I>): Readonly<Record<O, Value>>;
}

/**
 * Builds one ONNX graph that performs a full optimisation step:
 *   inputs:  params/<p>, adam_m/<p>, adam_v/<p>, optim/step, optim/lr, batch inputs
 *   outputs: loss, grad_norm, params/<p>/next, adam_m/<p>/next, adam_v/<p>/next
 * forward -> taped backward from d loss = 1 -> (clip) -> AdamW.
 */
export function buildTrainStepGraph<I extends InputSpecs, O extends string, L extends InputSpecs>(
  model: TrainStepModel<I, O>,
  options: TrainStepOptions<I, O, L>,
): TrainStepGraph {
  const optimizer = parseAdamWConfig(options.optimizer);
  const batchSize = options.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`buildTrainStep(${model.name}): batchSize must be a positive integer, got ${batchSize}`);
  if (options.gradClip && !(options.gradClip.maxNorm > 0)) throw new Error(`buildTrainStep(${model.name}): gradClip.maxNorm must be > 0`);
  const targets: InputSpecs = options.targets ?? {};
  const batchInputs: Record<string, InputSpec> = { ...model.inputs };
  for (const [name, spec] of Object.entries(targets)) {
    if (name in batchInputs) throw new Error(`buildTrainStep(${model.name}): target '${name}' has the name of a model input`);
    batchInputs[name] = spec;
  }
  for (const name of Object.keys(batchInputs)) {
    if (trainStepIO.reservedPrefixes.some((p) => name.startsWith(p)) || name === trainStepIO.gradNorm) {
      throw new Error(`buildTrainStep(${model.name}): input name '${name}' collides with a reserved step-graph name`);
    }
  }

  const graph = new GraphBuilder();
  const params = new Map<string, Value>();
  for (const s of model.paramSpecs) {
    params.set(s.name, { name: graph.input(trainStepIO.param(s.name), 'float32', s.shape), shape: s.shape, dtype: 'float32', requiresGrad: true });
  }
  const t = new Tape(graph, { params, training: true, declareShapes: true });
  const batchValues: Record<string, Value> = {};
  for (const [name, spec] of Object.entries(batchInputs)) {
    const shape = [batchSize, ...spec.shape];
    batchValues[name] = t.wrap(graph.input(name, spec.dtype, shape), shape, spec.dtype);
  }
  const step = t.wrap(graph.input(trainStepIO.step, 'float32', []), []);
  const lr = t.wrap(graph.input(trainStepIO.lr, 'float32', []), []);

  graph.nodeNamePrefix = 'fwd/';
  const outputs = model.forward(t, batchValues as ValuesOf<I>);
  const loss = options.loss(t, outputs, batchValues as ValuesOf<I & L>);
  if (loss.shape.length !== 0) throw new Error(`buildTrainStep(${model.name}): loss must be a scalar (shape []), got [${loss.shape}]`);
  graph.nodeNamePrefix = 'bwd/';
  t.backward([[loss, t.scalar(1)]]);
  graph.nodeNamePrefix = 'opt/';

  // Parameters nothing flowed into keep their values and moments (torch skips grad=None).
  const trained = model.paramSpecs.filter((s) => t.grad(params.get(s.name) as Value) !== undefined);
  const rawGrads = trained.map((s) => t.grad(params.get(s.name) as Value) as Value);
  const gradNorm = emitGlobalNorm(t, rawGrads, trainStepIO.gradNorm);
  const clip = options.gradClip ? emitClipCoefficient(t, gradNorm, options.gradClip.maxNorm) : undefined;
  const slots = trained.map((s, i) => ({
    param: params.get(s.name) as Value,
    grad: rawGrads[i] as Value,
    m: t.wrap(graph.input(trainStepIO.adamM(s.name), 'float32', s.shape), s.shape),
    v: t.wrap(graph.input(trainStepIO.adamV(s.name), 'float32', s.shape), s.shape),
    weightDecay: s.weightDecay,
    outParam: trainStepIO.paramNext(s.name),
    outM: trainStepIO.adamMNext(s.name),
    outV: trainStepIO.adamVNext(s.name),
  }));
  emitAdamW(t, slots, step, lr, optimizer, clip);
  for (const s of model.paramSpecs) {
    if (trained.includes(s)) continue;
    graph.node('Identity', [trainStepIO.param(s.name)], { outputs: [trainStepIO.paramNext(s.name)] });
    graph.node('Identity', [graph.input(trainStepIO.adamM(s.name), 'float32', s.shape)], { outputs: [trainStepIO.adamMNext(s.name)] });
    graph.node('Identity', [graph.input(trainStepIO.adamV(s.name), 'float32', s.shape)], { outputs: [trainStepIO.adamVNext(s.name)] });
  }

  graph.nodeNamePrefix = '';
  graph.output(loss.name, 'float32', []);
  graph.output(gradNorm.name, 'float32', []);
  for (const s of model.paramSpecs) {
    graph.output(trainStepIO.paramNext(s.name), 'float32', s.shape);
    graph.output(trainStepIO.adamMNext(s.name), 'float32', s.shape);
    graph.output(trainStepIO.adamVNext(s.name), 'float32', s.shape);
  }
  const modelOutputs: Record<string, string> = {};
  if (options.exposeOutputs) {
    for (const [key, v] of Object.entries(outputs) as [string, Value][]) {
      graph.output(v.name, v.dtype, v.shape);
      modelOutputs[key] = v.name;
    }
  }
  const gradOutputs: Record<string, string> = {};
  if (options.exposeGradients) {
    trained.forEach((s, i) => {
      const g = rawGrads[i] as Value;
      // A gradient can be a graph input's alias only in degenerate models; Identity keeps names unique.
      const name = graph.node('Identity', [g.name], { outputs: [trainStepIO.grad(s.name)] })[0] as string;
      graph.output(name, 'float32', s.shape);
      gradOutputs[s.name] = name;
    });
  }

  const signature: TrainStepSignature = {
    modelName: model.name,
    batchSize,
    params: model.paramSpecs.map((s) => ({ name: s.name, shape: s.shape })),
    batchInputs,
    optimizer,
    gradClipMaxNorm: options.gradClip?.maxNorm ?? null,
    lossOutput: loss.name,
    modelOutputs,
    gradOutputs,
  };
  return { bytes: graph.toBytes({ graphName: `${model.name}_train_step`, metadata: { 'flowsteer.model': model.name, 'flowsteer.graph': 'train_step' } }), signature, nodeCount: graph.nodeCount };
}
