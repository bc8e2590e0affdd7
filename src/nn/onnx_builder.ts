import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * A small typed builder for ONNX graphs, serialised with the `onnx-proto` protobuf classes
 * (never hand-encoded bytes).
 *
 * Versions: `onnx-proto` 8 carries the IR 8 schema; IR 8 + opset 17 is what ONNX 1.12 writes
 * and what ONNX Runtime 1.30 loads. Opset 17 is the floor we need: LayerNormalization (17),
 * ScatterND with `reduction` (16). At opset 17 ReduceSum takes `axes` as an input while
 * ReduceMean/ReduceMax still take the `axes` attribute (inputs only from opset 18).
 */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

export type ElemType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

const ELEM_TYPE_CODES: ReadonlyMap<ElemType, number> = new Map([
  ['float32', onnx.TensorProto.DataType.FLOAT],
  ['float64', onnx.TensorProto.DataType.DOUBLE],
  ['int64', onnx.TensorProto.DataType.INT64],
  ['int32', onnx.TensorProto.DataType.INT32],
  ['bool', onnx.TensorProto.DataType.BOOL],
]);

export function elemTypeCode(dtype: ElemType): number {
  const code = ELEM_TYPE_CODES.get(dtype);
  if (code === undefined) throw new Error(`onnx_builder: unsupported element type '${dtype}'`);
  return code;
}

/** A graph-level dimension: a fixed size or a symbolic name such as `'batch'`. */
export type Dim = number | string;

/** Node attribute values, tagged so that ints and floats never get confused. */
export type AttrValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: TensorData };

/** Constructors for attribute values: `attr.int(1)`, `attr.ints([0, 1])`, `attr.float(1e-5)`. */
export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  tensor: (value: TensorData): AttrValue => ({ kind: 'tensor', value }),
} as const;

/** Typed data for an initializer or constant. */
export type TensorData =
  | { readonly dtype: 'float32'; readonly dims: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'float64'; readonly dims: readonly number[]; readonly data: Float64Array }
  | { readonly dtype: 'int64'; readonly dims: readonly number[]; readonly data: BigInt64Array }
  | { readonly dtype: 'int32'; readonly dims: readonly number[]; readonly data: Int32Array };

export interface NodeOptions {
  /** Attributes by name. */
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  /** Output names; generated from the op type when omitted. @default one generated name */
  readonly outputs?: readonly string[];
  /** Number of generated outputs when `outputs` is omitted. @default 1 */
  readonly outputCount?: number;
}

export interface SerializeOptions {
  /** Stored as the graph's name. @default 'flowsteer' */
  readonly graphName?: string;
  /** Free-form key/value metadata stored in the model. */
  readonly metadata?: Readonly<Record<string, string>>;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function tensorProto(name: string, t: TensorData): onnxProto.onnx.ITensorProto {
  const expected = product(t.dims);
  if (t.data.length !== expected) {
    throw new Error(`onnx_builder: tensor '${name}' has ${t.data.length} values, dims [${t.dims.join(', ')}] need ${expected}`);
  }
  // raw_data is little-endian by the ONNX spec; typed arrays are little-endian on every
  // platform Node supports (x64, arm64), so the bytes can be copied as they are.
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  return { name, dims: [...t.dims], dataType: elemTypeCode(t.dtype), rawData: bytes };
}

function attributeProto(name: string, a: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto(name, a.value) };
  }
}

function valueInfo(name: string, dtype: ElemType, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemTypeCode(dtype),
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Accumulates inputs, outputs, initializers and nodes; every tensor name is unique (the
 * builder refuses duplicates and generates fresh names from hints).
 */
export class GraphBuilder {
  #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  #valueInfo: onnxProto.onnx.IValueInfoProto[] = [];
  #initializers: onnxProto.onnx.ITensorProto[] = [];
  #nodes: onnxProto.onnx.INodeProto[] = [];
  #names = new Set<string>();
  /** Names handed out by `uniqueName` that no input, initializer or node output has taken yet. */
  #reserved = new Set<string>();
  #counters = new Map<string, number>();
  /** Deduplicates small constants (shape vectors, scalars) by dtype + dims + values. */
  #constantCache = new Map<string, string>();
  /**
   * Prefix of the node names generated from here on (`fwd/`, `bwd/`, `opt/` in step graphs),
   * so profiles can tell which phase emitted a node. Tensor names are unaffected.
   */
  nodeNamePrefix = '';

  /** Number of nodes emitted so far. */
  get nodeCount(): number {
    return this.#nodes.length;
  }

  /**
   * A fresh unique name built from `hint` (`hint`, `hint_1`, `hint_2`...), reserved for the
   * caller to pass to `input`, `initializer` or `node` outputs.
   */
  uniqueName(hint: string): string {
    if (!this.#names.has(hint)) {
      this.#names.add(hint);
      this.#reserved.add(hint);
      return hint;
    }
    let n = this.#counters.get(hint) ?? 0;
    let name: string;
    do {
      n += 1;
      name = `${hint}_${n}`;
    } while (this.#names.has(name));
    this.#counters.set(hint, n);
    this.#names.add(name);
    this.#reserved.add(name);
    return name;
  }

  #claim(name: string): void {
    if (this.#reserved.delete(name)) return;
    if (this.#names.has(name)) throw new Error(`onnx_builder: name '${name}' is already used in this graph`);
    this.#names.add(name);
  }

  /** Declares a graph input with an exact name. */
  input(name: string, dtype: ElemType, dims: readonly Dim[]): string {
    this.#claim(name);
    this.#inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Declares an existing tensor as a graph output (the name must be produced by a node or be an input). */
  output(name: string, dtype: ElemType, dims: readonly Dim[]): void {
    if (!this.#names.has(name) || this.#reserved.has(name)) throw new Error(`onnx_builder: output '${name}' is not produced in this graph`);
    this.#outputs.push(valueInfo(name, dtype, dims));
  }

  /** Records the static shape of an intermediate tensor; ORT then checks it against its own inference. */
  declareShape(name: string, dtype: ElemType, dims: readonly Dim[]): void {
    this.#valueInfo.push(valueInfo(name, dtype, dims));
  }

  /** Adds an initializer (a constant tensor stored in the model) with an exact name. */
  initializer(name: string, data: TensorData): string {
    this.#claim(name);
    this.#initializers.push(tensorProto(name, data));
    return name;
  }

  /** A float32 constant (deduplicated); returns its tensor name. */
  constFloat(values: readonly number[] | Float32Array, dims: readonly number[] = [values.length]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.#cachedConstant({ dtype: 'float32', dims, data }, 'const_f');
  }

  /** A float64 constant (deduplicated); returns its tensor name. */
  constDouble(values: readonly number[] | Float64Array, dims: readonly number[] = [values.length]): string {
    const data = values instanceof Float64Array ? values : Float64Array.from(values);
    return this.#cachedConstant({ dtype: 'float64', dims, data }, 'const_d');
  }

  /** An int64 constant (shape vectors, axes, indices; deduplicated); returns its tensor name. */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#cachedConstant({ dtype: 'int64', dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) }, 'const_i');
  }

  #cachedConstant(t: TensorData, hint: string): string {
    // Large constants are not worth hashing by value; they are rare (frequency tables).
    const key = t.data.length <= 64 ? `${t.dtype}|${t.dims.join(',')}|${Array.from(t.data as ArrayLike<number | bigint>).join(',')}` : undefined;
    if (key !== undefined) {
      const hit = this.#constantCache.get(key);
      if (hit !== undefined) return hit;
    }
    const name = this.initializer(this.uniqueName(hint), t);
    if (key !== undefined) this.#constantCache.set(key, name);
    return name;
  }

  /**
   * Appends a node and returns its output names. An empty string in `inputs` marks an
   * omitted optional input, as in the ONNX spec.
   */
  node(opType: string, inputs: readonly string[], options: NodeOptions = {}): string[] {
    for (const name of inputs) {
      if (name !== '' && (!this.#names.has(name) || this.#reserved.has(name))) throw new Error(`onnx_builder: ${opType} input '${name}' is not defined in this graph`);
    }
    const outputs = options.outputs
      ? options.outputs.map((n) => {
          if (n !== '') this.#claim(n);
          return n;
        })
      : Array.from({ length: options.outputCount ?? 1 }, () => {
          const n = this.uniqueName(opType.toLowerCase());
          this.#claim(n);
          return n;
        });
    const attributes = Object.entries(options.attrs ?? {}).map(([k, v]) => attributeProto(k, v));
    const nodeName = this.uniqueName(`${this.nodeNamePrefix}n_${opType}`);
    this.#reserved.delete(nodeName);
    this.#nodes.push({ opType, input: [...inputs], output: outputs, name: nodeName, attribute: attributes });
    return outputs;
  }

  /** Builds the ModelProto message. */
  toModel(options: SerializeOptions = {}): onnxProto.onnx.ModelProto {
    const graph = onnx.GraphProto.create({
      name: options.graphName ?? 'flowsteer',
      node: this.#nodes,
      input: this.#inputs,
      output: this.#outputs,
      initializer: this.#initializers,
      valueInfo: this.#valueInfo,
    });
    return onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'flowsteer',
      graph,
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
  }

  /** Serialises the model to protobuf bytes (what `InferenceSession.create` and `.onnx` files take). */
  toBytes(options: SerializeOptions = {}): Uint8Array {
    return onnx.ModelProto.encode(this.toModel(options)).finish();
  }
}
