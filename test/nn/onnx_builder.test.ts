import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { f32 } from '../../src/nn/inputs.ts';
import { Linear } from '../../src/nn/layers/linear.ts';
import { defineModel } from '../../src/nn/model.ts';
import { attr, GraphBuilder, ONNX_IR_VERSION, ONNX_OPSET } from '../../src/nn/onnx_builder.ts';
import { ParamRegistry } from '../../src/nn/param_registry.ts';

const { onnx } = onnxProto;

describe('GraphBuilder', () => {
  it('serialises a graph ORT runs, with the declared IR version and opset', async () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['batch', 3]);
    const w = g.initializer('w', { dtype: 'float32', dims: [3], data: new Float32Array([1, 2, 3]) });
    const [xw] = g.node('Mul', ['x', w]);
    g.node('LeakyRelu', [xw!], { outputs: ['y'], attrs: { alpha: attr.float(0.5) } });
    g.output('y', 'float32', ['batch', 3]);
    const bytes = g.toBytes();

    const decoded = onnx.ModelProto.decode(bytes);
    expect(Number(decoded.irVersion)).toBe(ONNX_IR_VERSION);
    expect(Number(decoded.opsetImport[0]!.version)).toBe(ONNX_OPSET);
    expect(decoded.graph?.input?.[0]?.type?.tensorType?.shape?.dim?.[0]?.dimParam).toBe('batch');

    const s = await ort.InferenceSession.create(bytes);
    const y = (await s.run({ x: new ort.Tensor('float32', new Float32Array([1, -1, 2, -2, 0, 1]), [2, 3]) })).y!.data;
    expect(Array.from(y as Float32Array)).toEqual([1, -1, 6, -1, 0, 3]);
  });

  it('keeps names unique and refuses reuse or undefined inputs', () => {
    const g = new GraphBuilder();
    expect([g.uniqueName('a'), g.uniqueName('a'), g.uniqueName('a')]).toEqual(['a', 'a_1', 'a_2']);
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow("name 'x' is already used");
    expect(() => g.node('Relu', ['nope'])).toThrow("Relu input 'nope' is not defined");
    expect(() => g.output('nope', 'float32', [1])).toThrow("output 'nope' is not produced");
    // Small constants are shared.
    expect(g.constInt64([1, 2])).toBe(g.constInt64([1, 2]));
  });
});

describe('Model', () => {
  const model = defineModel({
    name: 'two_layer',
    inputs: { x: f32(4) },
    setup: (p) => {
      const a = new Linear(p.scope('body'), 'a', { inFeatures: 4, outFeatures: 300 });
      const b = new Linear(p, 'b', { inFeatures: 300, outFeatures: 2, bias: false });
      return (t, { x }) => ({ y: b.apply(t, a.apply(t, x)) });
    },
  });

  it('declares parameters with dotted names, PyTorch default init and decay on matrices only', () => {
    expect(model.paramSpecs.map((s) => [s.name, s.shape, s.weightDecay])).toEqual([
      ['body.a.weight', [300, 4], true],
      ['body.a.bias', [300], false],
      ['b.weight', [2, 300], true],
    ]);
    const p = model.initParams(new Rng(0));
    const w = p.get('body.a.weight')!;
    const bound = 1 / Math.sqrt(4);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(0.9 * bound); // fills the range
    expect(model.initParams(new Rng(0)).get('b.weight')).toEqual(p.get('b.weight'));
    expect(model.paramCount).toBe(4 * 300 + 300 + 600);
  });

  it('refuses duplicate parameters and mismatched parameter sets', () => {
    const r = new ParamRegistry();
    r.declare('w', [2], { kind: 'constant', value: 0 });
    expect(() => r.declare('w', [2], { kind: 'constant', value: 0 })).toThrow("parameter 'w' declared twice");
    const bad = new Map([['body.a.weight', new Float32Array(3)]]);
    expect(() => model.buildInference({ params: bad })).toThrow("parameter 'body.a.weight' has 3 values");
  });

  it('builds an inference graph with parameters as inputs when no values are given', async () => {
    const s = await ort.InferenceSession.create(model.buildInference());
    expect(s.inputNames).toEqual(['params/body.a.weight', 'params/body.a.bias', 'params/b.weight', 'x']);
    expect(s.outputNames).toEqual(['y']);
  });
});
