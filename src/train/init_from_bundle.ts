import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { UserError } from '../core/errors.ts';
import type { ParamSet, ParamSpec } from '../nn/index.ts';
import { readPolicyManifest, type NormalizationSpec, type PolicyManifest } from '../policy/manifest.ts';

/**
 * Fine-tuning from a policy bundle (`flowsteer train --init-from DIR`): the weights a bundle
 * exported by `flowsteer train` carries as ONNX initializers named `params/<parameter>`, read
 * back so a new run starts from them (LeRobot's `--policy.path`). The bundle's tokenizer and
 * normalisation stay with the weights: they are what the weights were trained against.
 */

const { onnx } = onnxProto;
const PARAM_PREFIX = 'params/';

export interface BundleWeights {
  readonly manifest: PolicyManifest;
  /** name -> (shape, values), merged over the sampling and features graphs. */
  readonly params: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;
}

/** Reads the `params/*` float initializers of a bundle's two graphs. */
export function readBundleWeights(dir: string): BundleWeights {
  const manifest = readPolicyManifest(dir);
  const params = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const graph of ['sample', 'features'] as const) {
    const file = join(dir, manifest.graphs[graph].file);
    let model: onnxProto.onnx.ModelProto;
    try {
      model = onnx.ModelProto.decode(readFileSync(file));
    } catch (err) {
      throw new UserError(`${file}: not a readable ONNX model (${(err as Error).message})`);
    }
    for (const init of model.graph?.initializer ?? []) {
      const name = init.name ?? '';
      if (!name.startsWith(PARAM_PREFIX) || init.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
      const shape = (init.dims ?? []).map(Number);
      const n = shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (init.rawData && init.rawData.length > 0) {
        // Copy: rawData is a view into the file buffer at an arbitrary (unaligned) offset.
        data = new Float32Array(new Uint8Array(init.rawData).buffer, 0, n);
      } else data = Float32Array.from(init.floatData ?? []);
      if (data.length !== n) throw new UserError(`${file}: initializer '${name}' holds ${data.length} values, its shape [${shape.join(', ')}] needs ${n}`);
      params.set(name.slice(PARAM_PREFIX.length), { shape, data });
    }
  }
  if (params.size === 0) throw new UserError(`policy bundle '${dir}': no '${PARAM_PREFIX}*' weights in its ONNX files (only bundles written by flowsteer train can seed a run)`);
  return { manifest, params };
}

/**
 * The model's parameters with every one the bundle has replaced by the bundle's values. Shapes
 * must match (same architecture); a bundle parameter the model lacks is an error (a different
 * config); model parameters the bundle lacks keep `fresh`'s values and are returned by name
 * (training-only heads are not exported).
 */
export function seedParamsFromBundle(specs: readonly ParamSpec[], fresh: ParamSet, weights: BundleWeights, dir: string): { params: ParamSet; freshNames: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const problems: string[] = [];
  for (const [name, w] of weights.params) {
    const spec = byName.get(name);
    if (!spec) problems.push(`'${name}' [${w.shape.join(', ')}] is not a parameter of this config's network`);
    else if (spec.shape.join(',') !== w.shape.join(',')) problems.push(`'${name}' is [${w.shape.join(', ')}] in the bundle, [${spec.shape.join(', ')}] in this config's network`);
  }
  if (problems.length) throw new UserError(`--init-from ${dir}: the bundle's weights do not fit the configured network (use the config it was trained with):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const params: ParamSet = new Map();
  const freshNames: string[] = [];
  for (const s of specs) {
    const w = weights.params.get(s.name);
    if (w) params.set(s.name, w.data.slice());
    else {
      params.set(s.name, fresh.get(s.name)!);
      freshNames.push(s.name);
    }
  }
  return { params, freshNames };
}

/** The bundle's normalisation in the trainer's form (modes and statistics as exported). */
export function bundleNormalization(m: PolicyManifest): { state: NormalizationSpec; action: NormalizationSpec } {
  return { state: m.normalization['observation.state'], action: m.normalization.action };
}
