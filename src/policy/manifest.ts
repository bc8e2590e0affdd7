import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { z } from 'zod';
import { KEYS, imageKey } from '../core/keys.ts';
import { UserError, describeZodIssues } from '../core/errors.ts';
import { OrtSession, type OrtSessionOptions, type ProviderName, type ValueInfo } from './ort_session.ts';

/**
 * `policy.json`, the manifest of a policy bundle (docs/policy-format.md, format version 1).
 * The manifest fixes every tensor the graphs take and give; `expectedGraphSpecs` derives those
 * lists from the other fields so a producer cannot describe one thing and ship another.
 */

/** The version writers write. Version 2 added the optional `execution` recommendation. */
export const POLICY_FORMAT_VERSION = 2;
/** Versions this reader reads (docs/policy-format.md, "Versioning"). */
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1, 2];
export const MANIFEST_FILE = 'policy.json';
/** The dynamic batch dimension in tensor specs. */
export const BATCH_DIM = 'B';
/** Graph tensor names fixed by the contract (besides `observation.state` / `observation.images.<cam>`). */
export const GRAPH_NAMES = { tokens: 'task.tokens', mask: 'task.mask', noise: 'noise', action: KEYS.action, features: 'features' } as const;
/** Reserved vocabulary entries. */
export const PAD_ID = 0;
export const UNK_ID = 1;

const finite = z.number().finite();
const positiveInt = z.number().int().positive();

export const NormalizationSpecSchema = z
  .strictObject({
    mode: z.enum(['mean_std', 'min_max', 'identity']).describe('LeRobot normalisation mode'),
    mean: z.array(finite).optional().describe('mean_std: per-dimension mean'),
    std: z.array(finite.nonnegative()).optional().describe('mean_std: per-dimension std (>= 0)'),
    min: z.array(finite).optional().describe('min_max: per-dimension minimum'),
    max: z.array(finite).optional().describe('min_max: per-dimension maximum'),
  })
  .superRefine((n, ctx) => {
    const need = n.mode === 'mean_std' ? (['mean', 'std'] as const) : n.mode === 'min_max' ? (['min', 'max'] as const) : ([] as const);
    for (const k of need) if (!n[k]) ctx.addIssue({ code: 'custom', path: [k], message: `mode '${n.mode}' needs '${k}'` });
    if (n.min && n.max) n.min.forEach((lo, i) => n.max![i] !== undefined && n.max![i]! < lo && ctx.addIssue({ code: 'custom', path: ['max', i], message: `max ${n.max![i]} < min ${lo}` }));
  });
export type NormalizationSpec = z.infer<typeof NormalizationSpecSchema>;

export const TensorSpecSchema = z.strictObject({
  name: z.string().min(1).describe('graph input/output name'),
  dtype: z.enum(['float32', 'int64']).describe('element type'),
  shape: z
    .tuple([z.literal(BATCH_DIM)], positiveInt)
    .describe(`["${BATCH_DIM}", ...static dims]: dim 0 is the dynamic batch`),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

const GraphSpecSchema = z.strictObject({
  file: z
    .string()
    .min(1)
    .refine((f) => !isAbsolute(f) && !normalize(f).startsWith('..'), 'must be a path inside the bundle directory')
    .describe('ONNX file, relative to the bundle directory'),
  inputs: z.array(TensorSpecSchema).describe('graph inputs, see docs/policy-format.md'),
  outputs: z.array(TensorSpecSchema).describe('graph outputs'),
});

export const PolicyManifestSchema = z
  .strictObject({
    format_version: z.union([z.literal(1), z.literal(2)]).describe('bundle format version (docs/policy-format.md); 2 adds `execution`'),
    name: z.string().min(1).describe('policy name'),
    created: z.iso.datetime({ offset: true }).describe('ISO 8601 creation time'),
    task: z.string().min(1).optional().describe('task registry name the policy was trained on'),
    description: z.string().optional().describe('free text'),
    producer: z.string().optional().describe('what wrote the bundle (free text)'),
    fps: z.number().positive().describe('control rate the policy was trained at (Hz)'),
    chunk_size: positiveInt.default(16).describe('H: actions per predicted chunk (pi0 uses 50; 16 suits 20 Hz tasks)'),
    action_dim: positiveInt.describe('A: action dimension'),
    state_dim: positiveInt.describe('S: proprio state dimension'),
    state_names: z.array(z.string().min(1)).describe('observation.state names, length S'),
    action_names: z.array(z.string().min(1)).describe('action names, length A'),
    cameras: z
      .array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'), height: positiveInt, width: positiveInt }))
      .describe('cameras in graph input order; images are float32 [B, 3, height, width] in [0, 1]'),
    sampler: z
      .strictObject({
        type: z.literal('euler').describe('ODE integrator unrolled in the sampling graph'),
        steps: positiveInt.default(10).describe('K Euler steps (pi0: 10)'),
        time_convention: z.literal('pi0').describe('t = 1 noise, t = 0 data; v = noise - action; dt = -1/K'),
      })
      .describe('how sample.onnx integrates the flow'),
    normalization: z
      .strictObject({ [KEYS.state]: NormalizationSpecSchema, [KEYS.action]: NormalizationSpecSchema })
      .describe('per-feature normalisation (images are always [0, 1])'),
    tokenizer: z
      .strictObject({
        type: z.literal('word'),
        lowercase: z.boolean().default(true),
        vocab: z.array(z.string().min(1)).min(2).describe('index = token id; 0 = <pad>, 1 = <unk>'),
        max_length: positiveInt.describe('L: tokens per instruction (pad/truncate)'),
      })
      .describe('instruction tokenizer'),
    execution: z
      .strictObject({
        n_action_steps: positiveInt.optional().describe('actions executed per chunk before querying again (receding horizon), <= chunk_size'),
        temporal_ensemble_coeff: z.number().finite().nonnegative().optional().describe('ACT temporal ensembling coefficient m (query every step)'),
      })
      .optional()
      .describe("the producer's recommended chunk execution (measured with it); runtimes use it unless the user sets their own. Absent: the runtime's default (n = H/2)"),
    graphs: z.strictObject({
      sample: GraphSpecSchema.describe('observation + noise -> normalised action chunk'),
      features: GraphSpecSchema.extend({ dim: positiveInt.describe('F: feature dimension') }).describe('observation -> features'),
    }),
  })
  .superRefine((m, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (m.execution && m.format_version < 2) issue(['execution'], `needs format_version 2 (the manifest says ${m.format_version})`);
    if (m.state_names.length !== m.state_dim) issue(['state_names'], `expected ${m.state_dim} names (state_dim), got ${m.state_names.length}`);
    if (m.action_names.length !== m.action_dim) issue(['action_names'], `expected ${m.action_dim} names (action_dim), got ${m.action_names.length}`);
    const cams = m.cameras.map((c) => c.name);
    cams.forEach((c, i) => cams.indexOf(c) !== i && issue(['cameras', i, 'name'], `duplicate camera '${c}'`));
    const dims = { [KEYS.state]: m.state_dim, [KEYS.action]: m.action_dim } as const;
    for (const [feature, dim] of Object.entries(dims)) {
      const spec = m.normalization[feature as keyof typeof m.normalization];
      for (const k of ['mean', 'std', 'min', 'max'] as const) {
        const arr = spec[k];
        if (arr && arr.length !== dim) issue(['normalization', feature, k], `expected ${dim} values (${feature === KEYS.state ? 'state_dim' : 'action_dim'}), got ${arr.length}`);
      }
    }
    if (m.execution?.n_action_steps !== undefined && m.execution.n_action_steps > m.chunk_size)
      issue(['execution', 'n_action_steps'], `must be <= chunk_size (${m.chunk_size}), got ${m.execution.n_action_steps}`);
    if (m.execution?.temporal_ensemble_coeff !== undefined && m.execution.n_action_steps !== undefined && m.execution.n_action_steps !== 1)
      issue(['execution', 'n_action_steps'], `temporal ensembling queries every step: give 1 or leave it out, got ${m.execution.n_action_steps}`);
    const vocab = m.tokenizer.vocab;
    if (vocab[PAD_ID] !== '<pad>') issue(['tokenizer', 'vocab', PAD_ID], `must be '<pad>', got '${vocab[PAD_ID]}'`);
    if (vocab[UNK_ID] !== '<unk>') issue(['tokenizer', 'vocab', UNK_ID], `must be '<unk>', got '${vocab[UNK_ID]}'`);
    const seen = new Map<string, number>();
    vocab.forEach((w, i) => (seen.has(w) ? issue(['tokenizer', 'vocab', i], `duplicate word '${w}' (also id ${seen.get(w)})`) : seen.set(w, i)));
    // The graph tensor lists must be exactly what the other fields imply.
    const expected = expectedGraphSpecs(m);
    for (const graph of ['sample', 'features'] as const) {
      for (const side of ['inputs', 'outputs'] as const) {
        for (const problem of diffSpecs(expected[graph][side], m.graphs[graph][side])) issue(['graphs', graph, side], problem);
      }
    }
  });
export type PolicyManifest = z.infer<typeof PolicyManifestSchema>;
/** What a producer writes (defaults may be omitted). */
export type PolicyManifestInput = z.input<typeof PolicyManifestSchema>;

type ManifestShape = Pick<PolicyManifest, 'state_dim' | 'action_dim' | 'chunk_size' | 'cameras' | 'tokenizer'> & { graphs: { features: { dim: number } } };

/** The graph inputs/outputs the contract requires, derived from the manifest's other fields. */
export function expectedGraphSpecs(m: ManifestShape): Record<'sample' | 'features', { inputs: TensorSpec[]; outputs: TensorSpec[] }> {
  const L = m.tokenizer.max_length;
  const observation: TensorSpec[] = [
    { name: KEYS.state, dtype: 'float32', shape: [BATCH_DIM, m.state_dim] },
    ...m.cameras.map((c): TensorSpec => ({ name: imageKey(c.name), dtype: 'float32', shape: [BATCH_DIM, 3, c.height, c.width] })),
    { name: GRAPH_NAMES.tokens, dtype: 'int64', shape: [BATCH_DIM, L] },
    { name: GRAPH_NAMES.mask, dtype: 'float32', shape: [BATCH_DIM, L] },
  ];
  const chunk = [BATCH_DIM, m.chunk_size, m.action_dim] as TensorSpec['shape'];
  return {
    sample: {
      inputs: [...observation, { name: GRAPH_NAMES.noise, dtype: 'float32', shape: chunk }],
      outputs: [{ name: GRAPH_NAMES.action, dtype: 'float32', shape: chunk }],
    },
    features: {
      inputs: observation,
      outputs: [{ name: GRAPH_NAMES.features, dtype: 'float32', shape: [BATCH_DIM, m.graphs.features.dim] }],
    },
  };
}

export const formatSpec = (s: Pick<TensorSpec, 'dtype' | 'shape'>): string => `${s.dtype} [${s.shape.join(', ')}]`;

/** Differences between the expected and the declared tensor lists, one message each. */
function diffSpecs(expected: TensorSpec[], actual: TensorSpec[]): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((s) => [s.name, s]));
  for (const e of expected) {
    const a = byName.get(e.name);
    if (!a) problems.push(`missing '${e.name}' ${formatSpec(e)}`);
    else if (formatSpec(a) !== formatSpec(e)) problems.push(`'${e.name}' is ${formatSpec(a)}, expected ${formatSpec(e)}`);
  }
  const names = new Set(expected.map((e) => e.name));
  for (const a of actual) if (!names.has(a.name)) problems.push(`unexpected '${a.name}' (expected only: ${expected.map((e) => e.name).join(', ')})`);
  return problems;
}

/**
 * Reads and validates `<dir>/policy.json` and checks that the graph files exist. Does not open
 * the ONNX files (`loadPolicyBundle` does).
 */
export function readPolicyManifest(dir: string): PolicyManifest {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`policy bundle '${dir}': not a directory`);
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new UserError(`policy bundle '${dir}': missing ${MANIFEST_FILE} (the manifest, see docs/policy-format.md)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const version = (raw as { format_version?: unknown } | null)?.format_version;
  if (version !== undefined && !SUPPORTED_FORMAT_VERSIONS.includes(version as number))
    throw new UserError(`${path}: format_version ${JSON.stringify(version)} is not supported (this reader supports ${SUPPORTED_FORMAT_VERSIONS.join(', ')})`);
  const parsed = PolicyManifestSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(describeZodIssues(path, parsed.error.issues));
  const manifest = parsed.data;
  for (const graph of ['sample', 'features'] as const) {
    const file = join(dir, manifest.graphs[graph].file);
    if (!existsSync(file)) throw new UserError(`policy bundle '${dir}': missing ONNX file '${manifest.graphs[graph].file}' (graphs.${graph}.file in ${MANIFEST_FILE})`);
  }
  return deepFreeze(manifest);
}

/** A validated bundle with both graphs open. */
export interface PolicyBundle {
  readonly dir: string;
  readonly manifest: PolicyManifest;
  readonly sample: OrtSession;
  readonly features: OrtSession;
  /** The execution provider actually running the graphs (after any CUDA fallback). */
  readonly provider: ProviderName;
  dispose(): void;
}

/**
 * Loads a policy bundle: validates `policy.json`, opens both ONNX graphs (the features graph on
 * the provider the sampling graph got, so a CUDA fallback warns once) and checks each graph's
 * inputs and outputs against the manifest. Errors are `UserError`s naming file and field.
 */
export function loadPolicyBundle(dir: string, options: OrtSessionOptions = {}): PolicyBundle {
  const manifest = readPolicyManifest(dir);
  const sample = OrtSession.open(join(dir, manifest.graphs.sample.file), options);
  let features: OrtSession | undefined;
  try {
    features = OrtSession.open(join(dir, manifest.graphs.features.file), { ...options, provider: sample.provider });
    checkGraphAgainstManifest(sample, manifest.graphs.sample, 'sample');
    checkGraphAgainstManifest(features, manifest.graphs.features, 'features');
  } catch (err) {
    sample.dispose();
    features?.dispose();
    throw err;
  }
  const opened = features;
  return {
    dir,
    manifest,
    sample,
    features: opened,
    provider: sample.provider,
    dispose() {
      sample.dispose();
      opened.dispose();
    },
  };
}

/**
 * Compares what the ONNX graph declares (ORT's input/output metadata) with the manifest's tensor
 * specs: names, element types, ranks, static dims; dim 0 must be symbolic (dynamic batch).
 * Symbolic non-batch dims are accepted; extra graph outputs are ignored, extra inputs are not.
 */
function checkGraphAgainstManifest(session: OrtSession, spec: { file: string; inputs: TensorSpec[]; outputs: TensorSpec[] }, graph: 'sample' | 'features'): void {
  const problems: string[] = [];
  const compare = (kind: 'input' | 'output', declared: readonly ValueInfo[], wanted: TensorSpec[]) => {
    const byName = new Map(declared.map((d) => [d.name, d]));
    for (const w of wanted) {
      const d = byName.get(w.name);
      if (!d) {
        problems.push(`the graph has no ${kind} '${w.name}' (manifest: ${formatSpec(w)}); graph ${kind}s: ${declared.map((x) => x.name).join(', ') || 'none'}`);
        continue;
      }
      if (d.dtype !== w.dtype) problems.push(`${kind} '${w.name}' has dtype ${d.dtype}, manifest says ${w.dtype}`);
      if (d.shape.length !== w.shape.length) {
        problems.push(`${kind} '${w.name}' has rank ${d.shape.length} [${d.shape.join(', ')}], manifest says [${w.shape.join(', ')}]`);
        continue;
      }
      if (typeof d.shape[0] === 'number') problems.push(`${kind} '${w.name}' has a fixed batch dim ${d.shape[0]}; dim 0 must be dynamic (export with a dynamic batch axis)`);
      for (let i = 1; i < w.shape.length; i++) {
        const got = d.shape[i];
        if (typeof got === 'number' && got !== w.shape[i]) problems.push(`${kind} '${w.name}' dim ${i} is ${got}, manifest says ${w.shape[i]} (shape [${w.shape.join(', ')}])`);
      }
    }
    if (kind === 'input') {
      const names = new Set(wanted.map((w) => w.name));
      for (const d of declared) if (!names.has(d.name)) problems.push(`the graph has an input '${d.name}' that policy.json does not list (it could not be fed)`);
    }
  };
  compare('input', session.inputs, spec.inputs);
  compare('output', session.outputs, spec.outputs);
  if (problems.length) throw new UserError(`${session.file} does not match ${MANIFEST_FILE} graphs.${graph}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
