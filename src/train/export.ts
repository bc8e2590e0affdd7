import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic_write.ts';
import { GraphBuilder, ParamRegistry, Tape, checkParamSet, gelu, linear, reshape, sinusoidalEmbedding, trainStepIO, type Value } from '../nn/index.ts';
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
 *                  the pi0 sampler unrolled: the encoder runs once, the head K times (its
 *                  observation and time inputs precomputed, see `factoredHead`);
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
  return { graph, t, net, features, probe, bound };
}

/**
 * The flow head v(x_t, t_k | o) of model.ts (`velocity`) for the K known times, with its first
 * layer factored so the Euler loop recomputes only what changes:
 *
 *   fc0([f, x, sincos(t)]) = x W_x^T + (f W_f^T) + (sincos(t_k) W_t^T + b),  W = [W_f | W_x | W_t]
 *
 * f W_f^T (B, hidden) is computed once per call; sincos(t_k) W_t^T + b is a (1, hidden) constant
 * per step (ONNX Runtime folds the Slices of the initializer and this Gemm at load); each step
 * keeps a (B, H*A) x (H*A, hidden) Gemm instead of (B, F + H*A + T) x (F + H*A + T, hidden).
 * ONNX Runtime profiler, B = 64, default architecture (F = 384, H*A = 112, T = 64, hidden 512),
 * one thread: the first layer's Gemms took 4.9 ms per call as 10 x [64, 560] x [560, 512], and
 * 1.1 ms as one [64, 384] x [384, 512] plus 10 x [64, 112] x [112, 512]. The weights stay
 * the training parameters `params/head.fc<i>.*` (the torch mirror loads them by name); only the
 * order of the fp32 sums changes. The layers after the first repeat model.ts's head (Linear, GELU
 * between layers, none after the last); export.test.ts holds the two to the training graph's Euler
 * loop (1e-5), so a change to one that the other misses fails there.
 */
function factoredHead(t: Tape, bound: ReadonlyMap<string, Value>, cfg: PolicyConfig, features: Value, chunkValues: number, times: readonly number[], probe: number) {
  const param = (name: string): Value => {
    const v = bound.get(`${HEAD_SCOPE}.${name}`);
    if (!v) throw new Error(`policy export: head parameter '${HEAD_SCOPE}.${name}' missing`);
    return v;
  };
  const layers: Array<{ weight: Value; bias: Value }> = [];
  for (let i = 0; bound.has(`${HEAD_SCOPE}.fc${i}.weight`); i++) layers.push({ weight: param(`fc${i}.weight`), bias: param(`fc${i}.bias`) });
  const [first, ...rest] = layers;
  if (!first || rest.length === 0) throw new Error(`policy export: the head needs at least two layers, found ${layers.length}`);
  const F = features.shape[1] as number;
  const T = cfg.head.timeDim;
  const [hidden, inWidth] = first.weight.shape as [number, number];
  const HA = inWidth - F - T;
  if (HA !== chunkValues) throw new Error(`policy export: head.fc0 takes ${inWidth} inputs; features ${F} + chunk ${chunkValues} + time ${T} expected`);
  const columns = (from: number, to: number) =>
    t.emit('Slice', [first.weight, t.constInt64([from]), t.constInt64([to]), t.constInt64([1])], { shape: [hidden, to - from] }); // (hidden, to - from)
  const wF = columns(0, F);
  const wX = columns(F, F + HA);
  const wT = columns(F + HA, inWidth);
  const fromFeatures = linear(t, features, wF); // (B, hidden), once
  const fromTime = times.map((tk) => linear(t, sinusoidalEmbedding(t, t.constFloat([tk], [1]), T), wT, first.bias)); // (1, hidden) each, constant
  return {
    /** v(x, t_k | o), (B, H*A) flat -> (B, H*A) */
    velocity(xFlat: Value, k: number): Value {
      const c = t.emit('Add', [fromFeatures, fromTime[k] as Value], { shape: [probe, hidden] }); // (B, hidden)
      let z = t.emit('Gemm', [xFlat, wX, c], { shape: [probe, hidden], attrs: { transB: { kind: 'int', value: 1 } } });
      for (const fc of rest) z = linear(t, gelu(t, z), fc.weight, fc.bias);
      return z;
    },
  };
}

/** ONNX bytes of the sampling graph (observation + `noise` -> `action`). */
export function buildSampleGraph(cfg: PolicyConfig, dims: PolicyDims, options: GraphExportOptions = {}): Uint8Array {
  const { graph, t, features, probe, bound } = inferenceGraph(cfg, dims, options.params);
  const H = cfg.chunkSize;
  const A = dims.actionDim;
  graph.input(POLICY_INPUTS.noise, 'float32', ['batch', H, A]);
  // The Euler loop runs on x flattened to (B, H*A), the head's layout; reshaped back at the end.
  let x = reshape(t, t.wrap(POLICY_INPUTS.noise, [probe, H, A]), [0, H * A]); // x_1 = noise
  const { times, dt } = eulerTimes(options.steps ?? cfg.samplerSteps);
  const head = factoredHead(t, bound, cfg, features, H * A, times, probe);
  const dtValue = t.scalar(dt);
  times.forEach((_tk, k) => {
    const step = t.emit('Mul', [head.velocity(x, k), dtValue], { shape: x.shape });
    x = t.emit('Add', [x, step], { shape: x.shape });
  });
  graph.node('Reshape', [x.name, t.constInt64([0, H, A])], { outputs: [GRAPH_NAMES.action] });
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
  /** Recommended chunk execution, the manifest's `execution` as is. */
  readonly execution?: PolicyManifest['execution'];
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
    ...(info.execution ? { execution: { ...info.execution } } : {}),
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
