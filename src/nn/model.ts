import type { Rng } from '../core/rng.ts';
import { sampleInit } from './init.ts';
import type { InputSpecs, ValuesOf } from './inputs.ts';
import { GraphBuilder } from './onnx_builder.ts';
import { checkParamSet, ParamRegistry, type ParamSet, type ParamSpec } from './param_registry.ts';
import { Tape, type Value } from './tape.ts';
import { buildTrainStepGraph, type TrainStepGraph, type TrainStepOptions } from './train_step.ts';
import { trainStepIO } from './train_step_io.ts';

/** The forward pass over a tape: named model outputs, each (B, ...). */
export type ForwardFn<I extends InputSpecs, O extends string> = (t: Tape, inputs: ValuesOf<I>) => Readonly<Record<O, Value>>;

export interface ModelDefinition<I extends InputSpecs, O extends string> {
  /** Used in graph names, checkpoints and error messages. */
  readonly name: string;
  /** Per-sample inputs (batch dim implicit). */
  readonly inputs: I;
  /**
   * Declares the parameters (called once, in a fixed order) and returns the forward pass.
   * Layers keep parameter handles; the same forward then runs on every graph built.
   */
  readonly setup: (params: ParamRegistry) => ForwardFn<I, O>;
}

export interface InferenceBuildOptions {
  /**
   * Parameter values stored as initializers (an exportable, self-contained model). Without
   * them, parameters become graph inputs named `params/<name>`.
   */
  readonly params?: ReadonlyMap<string, Float32Array>;
  /** Fixed batch size; omitted, the batch dim is the symbolic `batch`. */
  readonly batchSize?: number;
}

/**
 * Batch size the forward is emitted with when the graph's batch is symbolic. Only shape
 * bookkeeping sees it: forward ops never bake dim 0 into constants (see `Value`).
 */
const SYMBOLIC_BATCH_PROBE = 2;

/**
 * A network declared once, from which the project builds an inference graph and a
 * training-step graph (forward + backward + AdamW) that ONNX Runtime executes.
 */
export class Model<I extends InputSpecs, O extends string> {
  readonly name: string;
  readonly inputs: I;
  readonly paramSpecs: readonly ParamSpec[];
  readonly #forward: ForwardFn<I, O>;

  constructor(definition: ModelDefinition<I, O>) {
    this.name = definition.name;
    this.inputs = definition.inputs;
    const registry = new ParamRegistry();
    this.#forward = definition.setup(registry);
    this.paramSpecs = [...registry.specs];
  }

  /** Total number of parameter values. */
  get paramCount(): number {
    return this.paramSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Runs the forward pass on a tape (graph builders and tests call this). */
  forward(t: Tape, inputs: ValuesOf<I>): Readonly<Record<O, Value>> {
    return this.#forward(t, inputs);
  }

  /** Initial parameters drawn in declaration order, one forked stream per parameter (adding a parameter does not reshuffle the others). */
  initParams(rng: Rng): ParamSet {
    const out: ParamSet = new Map();
    for (const s of this.paramSpecs) {
      out.set(s.name, sampleInit(s.init, s.shape.reduce((a, b) => a * b, 1), rng.fork()));
    }
    return out;
  }

  /** ONNX bytes of the forward pass: inputs by their names, outputs by the forward's keys. */
  buildInference(options: InferenceBuildOptions = {}): Uint8Array {
    if (options.params) checkParamSet(this.paramSpecs, options.params, `buildInference(${this.name})`);
    const graph = new GraphBuilder();
    const params = new Map<string, Value>();
    for (const s of this.paramSpecs) {
      const graphName = trainStepIO.param(s.name);
      const data = options.params?.get(s.name);
      if (data) graph.initializer(graphName, { dtype: 'float32', dims: s.shape, data });
      else graph.input(graphName, 'float32', s.shape);
      params.set(s.name, { name: graphName, shape: s.shape, dtype: 'float32', requiresGrad: false });
    }
    const fixed = options.batchSize !== undefined;
    const b = options.batchSize ?? SYMBOLIC_BATCH_PROBE;
    const t = new Tape(graph, { params, training: false, declareShapes: fixed });
    const inputs: Record<string, Value> = {};
    for (const [name, spec] of Object.entries(this.inputs)) {
      graph.input(name, spec.dtype, [fixed ? b : 'batch', ...spec.shape]);
      inputs[name] = t.wrap(name, [b, ...spec.shape], spec.dtype);
    }
    const outputs = this.#forward(t, inputs as ValuesOf<I>);
    for (const [key, v] of Object.entries(outputs) as [string, Value][]) {
      // Graph outputs must carry the forward's key; a rename costs one Identity per output.
      const name = graph.node('Identity', [v.name], { outputs: [key] })[0] as string;
      graph.output(name, v.dtype, [fixed ? b : 'batch', ...v.shape.slice(1)]);
    }
    return graph.toBytes({ graphName: `${this.name}_inference`, metadata: { 'flowsteer.model': this.name, 'flowsteer.graph': 'inference' } });
  }

  /** ONNX bytes and signature of one optimisation step (see `buildTrainStepGraph`). */
  buildTrainStep<L extends InputSpecs = Record<never, never>>(options: TrainStepOptions<I, O, L>): TrainStepGraph {
    return buildTrainStepGraph(this, options);
  }
}

/** Declares a model; see `ModelDefinition`. */
export function defineModel<I extends InputSpecs, O extends string>(definition: ModelDefinition<I, O>): Model<I, O> {
  return new Model(definition);
}
