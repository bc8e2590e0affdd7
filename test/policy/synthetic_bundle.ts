import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { expectedGraphSpecs, type PolicyManifestInput } from '../../src/policy/manifest.ts';

const { onnx } = onnxProto;

/**
 * Test bundles written on the fly (nothing committed): an analytic sampling graph with a
 * constant velocity field, so one Euler pass gives x_0 = x_1 - c exactly (`action = noise - c`),
 * and a features graph `features = state @ W`. Graph inputs can be declared differently from
 * the manifest to provoke each validation error.
 */

export interface GraphInputDecl {
  name: string;
  dtype: 'float32' | 'int64' | 'int32' | 'float64';
  /** Strings are symbolic dims. */
  shape: Array<number | string>;
}

const DTYPE = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64, int32: onnx.TensorProto.DataType.INT32, float64: onnx.TensorProto.DataType.DOUBLE } as const;

function valueInfo(d: GraphInputDecl) {
  return onnx.ValueInfoProto.create({
    name: d.name,
    type: { tensorType: { elemType: DTYPE[d.dtype], shape: { dim: d.shape.map((s) => (typeof s === 'number' ? { dimValue: s } : { dimParam: s })) } } },
  });
}

function floatInit(name: string, dims: number[], values: ArrayLike<number>) {
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) });
}

function model(inputs: GraphInputDecl[], outputs: GraphInputDecl[], nodes: unknown[], initializer: unknown[]): Uint8Array {
  const graph = onnx.GraphProto.create({ name: 'synthetic', input: inputs.map(valueInfo), output: outputs.map(valueInfo), node: nodes as never, initializer: initializer as never });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'flowsteer-test', graph })).finish();
}

/** A tiny manifest: state 2, action 3, camera front 8x6 (height x width), H 4, L 5, identity normalisation. */
export function syntheticManifest(overrides: Partial<PolicyManifestInput> = {}): PolicyManifestInput {
  const base = {
    format_version: 1 as const,
    name: 'synthetic',
    created: '2025-01-01T00:00:00Z',
    fps: 20,
    chunk_size: 4,
    action_dim: 3,
    state_dim: 2,
    state_names: ['a.pos', 'b.pos'],
    action_names: ['a.target', 'b.target', 'gripper.target'],
    cameras: [{ name: 'front', height: 8, width: 6 }],
    sampler: { type: 'euler' as const, steps: 10, time_convention: 'pi0' as const },
    normalization: { 'observation.state': { mode: 'identity' as const }, action: { mode: 'identity' as const } },
    tokenizer: { type: 'word' as const, lowercase: true, vocab: ['<pad>', '<unk>', 'go'], max_length: 5 },
    graphs: { sample: { file: 'sample.onnx', inputs: [], outputs: [] }, features: { file: 'features.onnx', inputs: [], outputs: [], dim: 3 } },
    ...overrides,
  };
  const specs = expectedGraphSpecs(base as never);
  base.graphs = {
    sample: { ...base.graphs.sample, ...specs.sample },
    features: { ...base.graphs.features, ...specs.features },
  } as never;
  return base;
}

export interface SyntheticBundleOptions {
  manifest?: PolicyManifestInput;
  /** Rewrites the declared sample-graph inputs (default: exactly the manifest's). */
  sampleInputs?: (inputs: GraphInputDecl[]) => GraphInputDecl[];
  /** Constant velocity c, (H, A) flat. @default 0.25 * (index + 1) */
  velocity?: number[];
  /**
   * What the features graph computes: `state @ W`, or the first camera's image input flattened
   * to (B, 3*H*W), so `features()` shows exactly the float tensor the runtime fed (the manifest's
   * features dim must be 3*H*W then). @default 'state'
   */
  features?: 'state' | 'image';
}

/** Writes a synthetic bundle into a new temp directory and returns the directory. */
export function writeSyntheticBundle(options: SyntheticBundleOptions = {}): string {
  const manifest = options.manifest ?? syntheticManifest();
  const dir = mkdtempSync(join(tmpdir(), 'flowsteer-bundle-'));
  const H = manifest.chunk_size ?? 16;
  const A = manifest.action_dim;
  const S = manifest.state_dim;
  const F = manifest.graphs.features.dim;
  const toDecl = (s: { name: string; dtype: 'float32' | 'int64'; shape: readonly (number | string)[] }): GraphInputDecl => ({ name: s.name, dtype: s.dtype, shape: [...s.shape] });
  const declared = (options.sampleInputs ?? ((x) => x))(manifest.graphs.sample.inputs.map(toDecl));
  const noise = declared.find((d) => d.name === 'noise') ?? declared.at(-1)!;
  const c = options.velocity ?? Array.from({ length: H * A }, (_, i) => 0.25 * (i + 1));
  // One Euler pass over [1, 0] with constant v = c: x_0 = x_1 + (-1) * c.
  writeFileSync(
    join(dir, manifest.graphs.sample.file),
    model(declared, [{ name: 'action', dtype: 'float32', shape: ['B', H, A] }], [onnx.NodeProto.create({ opType: 'Sub', input: [noise.name, 'c'], output: ['action'] })], [floatInit('c', [H, A], c)]),
  );
  const W = Array.from({ length: S * F }, (_, i) => (i % 3) - 1);
  const camera = manifest.cameras[0];
  const [node, init] =
    options.features === 'image' && camera
      ? [
          onnx.NodeProto.create({ opType: 'Reshape', input: [`observation.images.${camera.name}`, 'flat'], output: ['features'] }),
          onnx.TensorProto.create({ name: 'flat', dims: [2], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(BigInt64Array.of(0n, -1n).buffer) }),
        ]
      : [onnx.NodeProto.create({ opType: 'MatMul', input: ['observation.state', 'W'], output: ['features'] }), floatInit('W', [S, F], W)];
  writeFileSync(join(dir, manifest.graphs.features.file), model(manifest.graphs.features.inputs.map(toDecl), [{ name: 'features', dtype: 'float32', shape: ['B', F] }], [node], [init]));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** Copies a bundle directory (e.g. a committed fixture) to a temp directory for mutation. */
export function copyBundle(src: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowsteer-bundle-'));
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
  return dir;
}

/** Reads, edits and rewrites `<dir>/policy.json`. */
export function editManifest(dir: string, edit: (m: Record<string, any>) => void): void {
  const path = join(dir, 'policy.json');
  const m = JSON.parse(readFileSync(path, 'utf8'));
  edit(m);
  writeFileSync(path, JSON.stringify(m, null, 2));
}
