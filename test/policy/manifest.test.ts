import { describe, it, expect } from 'vitest';
import { existsSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../../src/core/errors.ts';
import { loadPolicyBundle, readPolicyManifest } from '../../src/policy/manifest.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { copyBundle, editManifest, syntheticManifest, writeSyntheticBundle } from './synthetic_bundle.ts';

const TORCH = 'test/policy/fixtures/torch_policy';
const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
/** The CUDA provider library exists only where onnxruntime-node was installed with its download. */
const cudaInstalled = existsSync(join(ortDir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));

/** The UserError a bundle load throws (fails the test when it loads). */
function loadError(dir: string, options: Parameters<typeof loadPolicyBundle>[1] = {}): UserError {
  try {
    loadPolicyBundle(dir, options).dispose();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error(`expected loading ${dir} to fail`);
}

describe('policy bundle validation', () => {
  it('loads the committed PyTorch fixture and a synthetic bundle', () => {
    const b = loadPolicyBundle(TORCH);
    expect(b.manifest.chunk_size).toBe(16);
    expect(b.provider).toBe('cpu');
    b.dispose();
    loadPolicyBundle(writeSyntheticBundle()).dispose();
  });

  it('missing policy.json names the file', () => {
    const dir = copyBundle(TORCH);
    unlinkSync(join(dir, 'policy.json'));
    expect(loadError(dir).message).toMatch(/missing policy\.json/);
    expect(loadError(join(dir, 'nope')).message).toMatch(/not a directory/);
  });

  it('missing ONNX file names the file and the manifest field', () => {
    const dir = copyBundle(TORCH);
    unlinkSync(join(dir, 'features.onnx'));
    expect(loadError(dir).message).toMatch(/missing ONNX file 'features\.onnx' \(graphs\.features\.file/);
  });

  it('a corrupt ONNX file is reported with its path', () => {
    const dir = writeSyntheticBundle();
    writeFileSync(join(dir, 'sample.onnx'), 'not a model');
    expect(loadError(dir).message).toMatch(/sample\.onnx: ONNX Runtime cannot load the model/);
  });

  it('schema errors name the field: format version, names, normalisation arrays, unknown keys', () => {
    const cases: Array<[string, (m: Record<string, any>) => void, RegExp]> = [
      ['version', (m) => (m.format_version = 3), /format_version 3 is not supported \(this reader supports 1, 2\)/],
      ['execution in a version 1 manifest', (m) => ((m.format_version = 1), (m.execution = { n_action_steps: 8 })), /execution: needs format_version 2/],
      ['state names', (m) => m.state_names.pop(), /state_names: expected 7 names \(state_dim\), got 6/],
      ['norm length', (m) => m.normalization['observation.state'].mean.pop(), /normalization\.observation\.state\.mean: expected 7 values \(state_dim\), got 6/],
      ['norm missing array', (m) => delete m.normalization.action.std, /normalization\.action\.std: mode 'mean_std' needs 'std'/],
      ['unknown key', (m) => (m.chunk_sise = 8), /chunk_sise/],
      ['vocab', (m) => (m.tokenizer.vocab[1] = 'unk'), /tokenizer\.vocab\.1: must be '<unk>'/],
      ['execution longer than a chunk', (m) => ((m.format_version = 2), (m.execution = { n_action_steps: 17 })), /execution\.n_action_steps: must be <= chunk_size \(16\), got 17/],
      ['execution: ensembling with n > 1', (m) => ((m.format_version = 2), (m.execution = { n_action_steps: 4, temporal_ensemble_coeff: 0.01 })), /execution\.n_action_steps: temporal ensembling queries every step/],
    ];
    for (const [, edit, pattern] of cases) {
      const dir = copyBundle(TORCH);
      editManifest(dir, edit);
      expect(() => readPolicyManifest(dir)).toThrow(pattern);
      rmSync(dir, { recursive: true });
    }
  });

  it('graph specs in the manifest must follow the contract (wrong shape, wrong dtype, wrong names)', () => {
    const cases: Array<[(m: Record<string, any>) => void, RegExp]> = [
      // wrong shape: the manifest's image spec disagrees with its cameras
      [(m) => (m.graphs.sample.inputs[1].shape = ['B', 3, 32, 32]), /graphs\.sample\.inputs: 'observation\.images\.front' is float32 \[B, 3, 32, 32\], expected float32 \[B, 3, 64, 64\]/],
      // wrong dtype
      [(m) => (m.graphs.features.inputs[2].dtype = 'float32'), /graphs\.features\.inputs: 'task\.tokens' is float32 \[B, 8\], expected int64 \[B, 8\]/],
      // wrong name
      [(m) => (m.graphs.sample.inputs[4].name = 'x1'), /graphs\.sample\.inputs: missing 'noise'[\s\S]*unexpected 'x1'/],
      // features dim disagrees with its output
      [(m) => (m.graphs.features.dim = 31), /graphs\.features\.outputs: 'features' is float32 \[B, 32\], expected float32 \[B, 31\]/],
    ];
    for (const [edit, pattern] of cases) {
      const dir = copyBundle(TORCH);
      editManifest(dir, edit);
      expect(loadError(dir).message).toMatch(pattern);
      rmSync(dir, { recursive: true });
    }
  });

  it('the ONNX graph must match the manifest: names, dtypes, static shapes, dynamic batch', () => {
    const rename = writeSyntheticBundle({ sampleInputs: (ins) => ins.map((d) => (d.name === 'noise' ? { ...d, name: 'x1' } : d)) });
    const msg = loadError(rename).message;
    expect(msg).toMatch(/sample\.onnx does not match policy\.json graphs\.sample/);
    expect(msg).toMatch(/the graph has no input 'noise'/);
    expect(msg).toMatch(/the graph has an input 'x1' that policy\.json does not list/);

    const dtype = writeSyntheticBundle({ sampleInputs: (ins) => ins.map((d) => (d.name === 'task.tokens' ? { ...d, dtype: 'int32' } : d)) });
    expect(loadError(dtype).message).toMatch(/input 'task\.tokens' has dtype int32, manifest says int64/);

    const shape = writeSyntheticBundle({ sampleInputs: (ins) => ins.map((d) => (d.name === 'observation.images.front' ? { ...d, shape: ['B', 3, 6, 8] } : d)) });
    expect(loadError(shape).message).toMatch(/input 'observation\.images\.front' dim 2 is 6, manifest says 8 \(shape \[B, 3, 8, 6\]\)/);

    const rank = writeSyntheticBundle({ sampleInputs: (ins) => ins.map((d) => (d.name === 'observation.state' ? { ...d, shape: ['B', 1, 2] } : d)) });
    expect(loadError(rank).message).toMatch(/input 'observation\.state' has rank 3/);

    const fixedBatch = writeSyntheticBundle({ sampleInputs: (ins) => ins.map((d) => (d.name === 'task.mask' ? { ...d, shape: [1, 5] } : d)) });
    expect(loadError(fixedBatch).message).toMatch(/input 'task\.mask' has a fixed batch dim 1; dim 0 must be dynamic/);

    // A symbolic non-batch dim is accepted: the manifest fixes the size.
    const symbolic = writeSyntheticBundle({ sampleInputs: (ins) => ins.map((d) => (d.name === 'task.mask' ? { ...d, shape: ['B', 'L'] } : d)) });
    loadPolicyBundle(symbolic).dispose();
  });

  it('an unknown provider is an error', () => {
    expect(loadError(TORCH, { provider: 'tpu' }).message).toMatch(/unknown execution provider 'tpu'; expected one of: cpu, cuda/);
  });

  it.skipIf(cudaInstalled)('cuda falls back to cpu with one clear warning where the CUDA provider is missing', async () => {
    const warnings: string[] = [];
    const policy = await OnnxPolicy.load(TORCH, { provider: 'cuda', log: (m) => warnings.push(m) });
    // This machine kind has no CUDA provider libraries (ONNXRUNTIME_NODE_INSTALL=skip).
    expect(policy.provider).toBe('cpu');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/CUDA execution provider unavailable \(.+\); running on CPU/);
    policy.dispose();
  });

  it('the synthetic manifest helper produces a valid manifest', () => {
    const dir = writeSyntheticBundle({ manifest: syntheticManifest({ cameras: [] }) });
    expect(readPolicyManifest(dir).cameras).toEqual([]);
  });
});
