import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic_write.ts';
import { GraphBuilder, ParamRegistry, Tape, attr, checkParamSet, trainStepIO, type Value } from '../nn/index.ts';
import {
  GRAPH_NAMES,
  MANIFEST_FILE,
  POLICY_FORMAT_VERSION,
  PolicyManifestSchema,
  expectedGraphSpecs,
  type NormalizationSpec,
  type PolicyManifest,
  type PolicyManifestInput,
} from '../policy/manifest.ts';
import type { PolicyConfig } from './config.ts';
import { eulerTimes } from './flow_matching.ts';
import { HEAD_SCOPE, POLICY_INPUTS, SUBGOAL_SCOPE, declarePolicyNetwork, observationInputSpecs, observationValues, type PolicyDims } from './model.ts';

/**
 * Exports the trained network as a policy bundle (docs/policy-format.md):
 *
 *   sample.onnx    observation + noise x_1 -> action x_0 (normalised), the K Euler steps of
 *                  the pi0 sampler unrolled: the encoder runs once, the head K times;
 *                  x <- x + dt * v(x, t_k), dt = -1/K, t_k accumulated in fp32 from 1.
 *   features.onnx  observation -> the encoder's embedding (B, F), for critics.
 *
 * Both graphs have a symbolic batch and the weights as initializers. Without `params` the
 * weights become `params/<name>` inputs instead (validation during training feeds the current
 * weights that way, without re-exporting).
 */

export interface GraphExportOptions {
  /** Weights stored in the graph; omitted, they are graph inputs `params/<name>`. */
  readonly params?: ReadonlyMap<string, Float32Array>;
  /** Euler steps unrolled. @default cfg.samplerSteps */
  readonly steps?: number;
}

/** Builds an inference tape whose parameters are initializers (or inputs) and declares the observation inputs. */
function inferenceGraph(cfg: PolicyConfig, dims: PolicyDims, params: ReadonlyMap<string, Float32Array> | undefined, options: { readonly encoderOnly?: boolean } = {}) {
  const registry = new ParamRegistry();
  const net = declarePolicyNetwork(registry, cfg, dims);
  // Training-only parameters (the subgoal head) are not part of the exported graphs.
  if (params) params = new Map([...params].filter(([name]) => !name.startsWith(`${SUBGOAL_SCOPE}.`)));
  if (params) checkParamSet(registry.specs, params, 'policy export');
  const graph = new GraphBuilder();
  const bound = new Map<string, Value>();
  for (const s of registry.specs) {
    if (options.encoderOnly && s.name.startsWith(`${HEAD_SCOPE}.`)) continue;
    const name = trainStepIO.param(s.name);
    const data = params?.get(s.name);
    if (data) graph.initializer(name, { dtype: 'float32', dims: s.shape, data });
    else graph.input(name, 'float32', s.shape);
    bound.set(s.name, { name, shape: s.shape, dtype: 'float32', requiresGrad: false });
  }
  const t = new Tape(graph, { params: bound, training: false });
  // Shapes carry a probe batch of 2; forward code never bakes dim 0 into constants.
  const probe = 2;
  const values: Record<string, Value> = {};
  for (const [name, spec] of Object.entries(observationInputSpecs(cfg, dims))) {
    graph.input(name, spec.dtype, ['batch', ...spec.shape]);
    values[name] = t.wrap(name, [probe, ...spec.shape], spec.dtype);
  }
  const features = net.encode(t, observationValues(values, dims));
  return { graph, t, net, features, probe };
}

/** ONNX bytes of the sampling graph (observation + `noise` -> `action`). */
export function buildSampleGraph(cfg: PolicyConfig, dims: PolicyDims, options: GraphExportOptions = {}): Uint8Array {
  const { graph, t, net, features, probe } = inferenceGraph(cfg, dims, options.params);
  const H = cfg.chunkSize;
  const A = dims.actionDim;
  const chunk = [probe, H, A];
  graph.input(POLICY_INPUTS.noise, 'float32', ['batch', H, A]);
  let x = t.wrap(POLICY_INPUTS.noise, chunk); // x_1 = noise, (B, H, A)
  // A (B) vector of the step's time: ConstantOfShape over the batch dim of the noise.
  const batchDim = t.emit('Slice', [t.emit('Shape', [x], { shape: [3], dtype: 'int64' }), t.constInt64([0]), t.constInt64([1])], { shape: [1], dtype: 'int64' });
  const { times, dt } = eulerTimes(options.steps ?? cfg.samplerSteps);
  const dtValue = t.scalar(dt);
  times.forEach((tk, k) => {
    const time = t.emit('ConstantOfShape', [batchDim], { shape: [probe], attrs: { value: attr.tensor({ dtype: 'float32', dims: [1], data: Float32Array.of(tk) }) } });
    const v = net.velocity(t, features, x, time); // (B, H, A)
    const step = t.emit('Mul', [v, dtValue], { shape: chunk });
    x = t.emit('Add', [x, step], { shape: chunk, ...(k === times.length - 1 ? { name: GRAPH_NAMES.action } : {}) });
  });
  graph.output(GRAPH_NAMES.action, 'float32', ['batch', H, A]);
  return graph.toBytes({ graphName: 'flowsteer_policy_sample', metadata: { 'flowsteer.graph': 'sample', 'flowsteer.sampler': `euler(${times.length}), pi0 time convention` } });
}

/** ONNX bytes of the features graph (observation -> `features` (B, F)). */
export function buildFeaturesGraph(cfg: PolicyConfig, dims: PolicyDims, options: Pick<GraphExportOptions, 'params'> = {}): Uint8Array {
  const { graph, features } = inferenceGraph(cfg, dims, options.params, { encoderOnly: true });
  // The encoder's last op is a Concat with a generated name; one Identity gives the contract name.
  const out = graph.node('Identity', [features.name], { outputs: [GRAPH_NAMES.features] })[0] as string;
  graph.output(out, 'float32', ['batch', features.shape[1] as number]);
  return graph.toBytes({ graphName: 'flowsteer_policy_features', metadata: { 'flowsteer.graph': 'features' } });
}

/** What the manifest needs beyond the network: names, rates, normalisation, tokenizer. */
export interface BundleInfo {
  readonly name: string;
  readonly task?: string;
  readonly fps: number;
  readonly stateNames: readonly string[];
  readonly actionNames: readonly string[];
  readonly normalization: { readonly state: NormalizationSpec; readonly action: NormalizationSpec };
  readonly vocab: readonly string[];
  readonly description?: string;
  /** Recommended chunk execution, written to the manifest's `execution`. */
  readonly execution?: { readonly nActionSteps?: number; readonly temporalEnsembleCoeff?: number };
  /** @default now */
  readonly created?: Date;
}

export const SAMPLE_FILE = 'sample.onnx';
export const FEATURES_FILE = 'features.onnx';

/** The manifest of a bundle exported from this network, validated against the contract's schema. */
export function buildManifest(cfg: PolicyConfig, dims: PolicyDims, featureDim: number, info: BundleInfo): PolicyManifest {
  const shape = {
    state_dim: dims.stateDim,
    action_dim: dims.actionDim,
    chunk_size: cfg.chunkSize,
    cameras: dims.cameras.map((c) => ({ name: c.name, height: c.height, width: c.width })),
    tokenizer: { type: 'word' as const, lowercase: true, vocab: [...info.vocab], max_length: cfg.language.maxLength },
    graphs: { features: { dim: featureDim } },
  };
  const specs = expectedGraphSpecs(shape);
  const manifest: PolicyManifestInput = {
    format_version: POLICY_FORMAT_VERSION,
    name: info.name,
    created: (info.created ?? new Date()).toISOString(),
    ...(info.task ? { task: info.task } : {}),
    ...(info.description ? { description: info.description } : {}),
    producer: 'flowsteer train (src/train)',
    fps: info.fps,
    ...shape,
    state_names: [...info.stateNames],
    action_names: [...info.actionNames],
    sampler: { type: 'euler', steps: cfg.samplerSteps, time_convention: 'pi0' },
    ...(info.execution
      ? {
          execution: {
            ...(info.execution.nActionSteps !== undefined ? { n_action_steps: info.execution.nActionSteps } : {}),
            ...(info.execution.temporalEnsembleCoeff !== undefined ? { temporal_ensemble_coeff: info.execution.temporalEnsembleCoeff } : {}),
          },
        }
      : {}),
    normalization: { 'observation.state': { ...info.normalization.state }, action: { ...info.normalization.action } },
    graphs: {
      sample: { file: SAMPLE_FILE, ...specs.sample },
      features: { file: FEATURES_FILE, ...specs.features, dim: featureDim },
    },
  };
  const parsed = PolicyManifestSchema.safeParse(manifest);
  if (!parsed.success) throw new Error(`policy export: the manifest fails its own schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Writes policy.json, sample.onnx and features.onnx into `dir` (each file atomically; the manifest last). */
export function writePolicyBundle(dir: string, cfg: PolicyConfig, dims: PolicyDims, params: ReadonlyMap<string, Float32Array>, info: BundleInfo): PolicyManifest {
  const registry = new ParamRegistry();
  const featureDim = declarePolicyNetwork(registry, cfg, dims).featureDim;
  const manifest = buildManifest(cfg, dims, featureDim, info);
  writeFileAtomic(join(dir, SAMPLE_FILE), buildSampleGraph(cfg, dims, { params }));
  writeFileAtomic(join(dir, FEATURES_FILE), buildFeaturesGraph(cfg, dims, { params }));
  writeJsonAtomic(join(dir, MANIFEST_FILE), manifest);
  return manifest;
}
