import { GraphBuilder, type AttrValue, type ElemType } from './onnx_builder.ts';

/**
 * A symbolic tensor in the graph being generated: its ONNX name and its static shape.
 *
 * Shapes are always known at emission (the generator never needs ONNX shape inference). In a
 * graph built for a symbolic batch (inference), dim 0 of batch-carrying values holds the
 * batch size the forward pass was *emitted* with; forward code must therefore never bake
 * dim 0 into a constant (use Reshape's 0 / -1, Flatten, axis-relative ops). Backward code
 * only runs in training graphs, which have a fixed batch, and may use every dim.
 */
export interface Value {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: ElemType;
  /** True when a parameter (or an input marked so) flows into this value, so backward must reach it. */
  readonly requiresGrad: boolean;
}

/** Handle to a declared parameter; layers keep these and resolve them on each tape. */
export interface ParamHandle {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface EmitOptions {
  /** Static shape of the (first) output. */
  readonly shape: readonly number[];
  /** @default 'float32' */
  readonly dtype?: ElemType;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  /** Exact output name (graph outputs are named this way, which avoids Identity copies). */
  readonly name?: string;
}

export interface TapeOptions {
  /** Parameter values by parameter name (graph inputs in a training graph, initializers for inference). */
  readonly params: ReadonlyMap<string, Value>;
  /** Whether a backward pass will be emitted; ops may emit extra forward outputs for it (LayerNorm). */
  readonly training: boolean;
  /**
   * Record each intermediate's static shape as ONNX value_info, so that ORT checks the
   * generator's shape bookkeeping against its own inference. Only valid when every dim is
   * fixed (training graphs). @default false
   */
  readonly declareShapes?: boolean;
}

type Backward = (gradOutput: Value) => void;

interface TapeEntry {
  readonly output: Value;
  readonly backward: Backward;
}

/**
 * The generator's autodiff tape. Layer-level ops emit their forward ONNX nodes through
 * `emit`, then `record` a closure that emits their hand-written backward nodes. `backward`
 * replays the closures in reverse emission order (a valid reverse topological order), so
 * each op sees its output gradient complete before it runs.
 */
export class Tape {
  readonly graph: GraphBuilder;
  readonly training: boolean;
  readonly #params: ReadonlyMap<string, Value>;
  readonly #declareShapes: boolean;
  #entries: TapeEntry[] = [];
  #grads = new Map<string, Value>();
  #backwardDone = false;

  constructor(graph: GraphBuilder, options: TapeOptions) {
    this.graph = graph;
    this.training = options.training;
    this.#params = options.params;
    this.#declareShapes = options.declareShapes ?? false;
  }

  /** The value bound to a parameter handle on this tape. */
  param(handle: ParamHandle): Value {
    const v = this.#params.get(handle.name);
    if (!v) throw new Error(`tape: parameter '${handle.name}' is not bound in this graph`);
    if (v.shape.join(',') !== handle.shape.join(',')) {
      throw new Error(`tape: parameter '${handle.name}' bound with shape [${v.shape}] but declared [${handle.shape}]`);
    }
    return v;
  }

  /** Wraps an existing graph tensor name (an input) as a Value. */
  wrap(name: string, shape: readonly number[], dtype: ElemType = 'float32', requiresGrad = false): Value {
    return { name, shape: [...shape], dtype, requiresGrad };
  }

  /** Emits one node with a single output; the result never requires grad until `record` says so. */
  emit(opType: string, inputs: readonly (Value | string)[], options: EmitOptions): Value {
    const [out] = this.emitMulti(opType, inputs, [options], options.attrs);
    return out as Value;
  }

  /** Emits one node with several outputs (shapes in output order; an entry of `null` leaves that optional output off). */
  emitMulti(
    opType: string,
    inputs: readonly (Value | string)[],
    outputs: readonly (Omit<EmitOptions, 'attrs'> | null)[],
    attrs?: Readonly<Record<string, AttrValue>>,
  ): Value[] {
    const names = outputs.map((o) => (o === null ? '' : (o.name ?? this.graph.uniqueName(opType.toLowerCase()))));
    this.graph.node(
      opType,
      inputs.map((i) => (typeof i === 'string' ? i : i.name)),
      { outputs: names, ...(attrs ? { attrs } : {}) },
    );
    const values: Value[] = [];
    outputs.forEach((o, k) => {
      if (o === null) return;
      const v: Value = { name: names[k] as string, shape: [...o.shape], dtype: o.dtype ?? 'float32', requiresGrad: false };
      if (this.#declareShapes) this.graph.declareShape(v.name, v.dtype, v.shape);
      values.push(v);
    });
    return values;
  }

  /** A float32 constant Value (deduplicated by the graph builder). */
  constFloat(values: readonly number[] | Float32Array, shape: readonly number[] = [values.length]): Value {
    return { name: this.graph.constFloat(values, shape), shape: [...shape], dtype: 'float32', requiresGrad: false };
  }

  /** A float32 scalar constant (shape []), broadcastable against anything. */
  scalar(value: number): Value {
    return this.constFloat([value], []);
  }

  /** An int64 constant tensor name (shapes, axes, pads). */
  constInt64(values: readonly number[]): string {
    return this.graph.constInt64(values);
  }

  /**
   * Registers the backward of an op whose forward produced `output` from `inputs`. Returns
   * `output` marked `requiresGrad` when any input requires grad; otherwise nothing is recorded
   * (no backward nodes are ever emitted for data-only paths such as the first Conv's input).
   */
  record(output: Value, inputs: readonly Value[], backward: Backward): Value {
    const requiresGrad = inputs.some((v) => v.requiresGrad);
    const marked: Value = { ...output, requiresGrad };
    if (requiresGrad && this.training) this.#entries.push({ output: marked, backward });
    return marked;
  }

  /** Adds `grad` into the accumulated gradient of `v` (summing contributions from several consumers). */
  addGrad(v: Value, grad: Value): void {
    if (!v.requiresGrad) return;
    if (grad.shape.join(',') !== v.shape.join(',')) {
      throw new Error(`tape: gradient for '${v.name}' has shape [${grad.shape}], value has [${v.shape}]`);
    }
    const prev = this.#grads.get(v.name);
    this.#grads.set(v.name, prev ? this.emit('Add', [prev, grad], { shape: v.shape }) : grad);
  }

  /**
   * Emits the backward pass from the given seeds (`[value, gradient of the objective w.r.t. it]`),
   * e.g. `[[loss, ones]]`. Can run once per tape.
   */
  backward(seeds: ReadonlyArray<readonly [Value, Value]>): void {
    if (!this.training) throw new Error('tape: backward() on a tape built for inference');
    if (this.#backwardDone) throw new Error('tape: backward() can run once per tape');
    this.#backwardDone = true;
    for (const [v, g] of seeds) this.addGrad(v, g);
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i] as TapeEntry;
      const g = this.#grads.get(entry.output.name);
      if (g) entry.backward(g);
    }
  }

  /** The accumulated gradient of `v` after `backward` (undefined when nothing flowed into it). */
  grad(v: Value): Value | undefined {
    return this.#grads.get(v.name);
  }
}
