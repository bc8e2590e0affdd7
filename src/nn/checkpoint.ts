import { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { AdamWConfigSchema, type AdamWConfig } from './adamw.ts';
import type { ParamSet, ParamSpec } from './param_registry.ts';
import type { TrainState } from './train_state.ts';
import { readSafetensors, writeSafetensors, type F32Tensor } from './safetensors.ts';

/**
 * Training checkpoints as safetensors files (safetensors.ts: layout and data checksum). Tensors
 * are `params/<name>`, `adam_m/<name>`, `adam_v/<name>` (F32); `__metadata__` holds the format
 * tag, model name, step and optimizer config besides the checksum.
 */
export const CHECKPOINT_FORMAT = 'flowsteer.nn.checkpoint';
export const CHECKPOINT_VERSION = '1';

export class CheckpointError extends UserError {
  override name = 'CheckpointError';
}

export interface CheckpointInfo {
  readonly modelName: string;
  readonly optimizer: AdamWConfig;
  /** Parameter shapes, stored with each tensor (TrainState holds flat buffers). */
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

export interface LoadedCheckpoint {
  readonly state: TrainState;
  readonly optimizer: AdamWConfig;
}

const ROLES = ['params', 'adam_m', 'adam_v'] as const;

const MetadataSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  model: z.string(),
  step: z.string().regex(/^\d+$/, 'a non-negative integer'),
  optimizer: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256'),
});

/** Writes `state` to `path` atomically (temporary file, fsync, rename). */
export function saveCheckpoint(path: string, state: TrainState, info: CheckpointInfo): void {
  const shapes = new Map(info.params.map((p) => [p.name, [...p.shape]]));
  const tensors: Array<[string, F32Tensor]> = [];
  for (const role of ROLES) {
    const set = role === 'params' ? state.params : role === 'adam_m' ? state.m : state.v;
    for (const [name, data] of set) {
      const shape = shapes.get(name);
      if (!shape || shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`saveCheckpoint(${path}): '${name}' does not match the declared parameters`);
      tensors.push([`${role}/${name}`, { shape, data }]);
    }
  }
  const metadata: Omit<z.infer<typeof MetadataSchema>, 'sha256'> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: info.modelName,
    step: String(state.step),
    optimizer: JSON.stringify(info.optimizer),
  };
  writeSafetensors(path, tensors, metadata);
}

/**
 * Reads and validates a checkpoint for a model with the given parameters. Every failure is
 * a CheckpointError naming the file and what was wrong.
 */
export function loadCheckpoint(path: string, expected: { readonly modelName: string; readonly params: readonly ParamSpec[] }): LoadedCheckpoint {
  const fail = (what: string): never => {
    throw new CheckpointError(`${path}: ${what}`);
  };
  let meta: z.infer<typeof MetadataSchema> | undefined;
  const { tensors } = readSafetensors(path, {
    kind: 'flowsteer checkpoint',
    fail,
    checkMetadata: (raw) => {
      const parsed = MetadataSchema.safeParse(raw);
      if (!parsed.success) fail(`not a flowsteer checkpoint (metadata: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
      meta = parsed.data;
    },
  });
  const { model, optimizer: rawOptimizer, step } = meta!;
  if (model !== expected.modelName) fail(`checkpoint is for model '${model}', expected '${expected.modelName}'`);
  let optimizer: AdamWConfig;
  try {
    optimizer = Object.freeze(AdamWConfigSchema.parse(JSON.parse(rawOptimizer)));
  } catch {
    return fail('optimizer metadata is not a valid AdamW config');
  }

  const sets: Record<(typeof ROLES)[number], ParamSet> = { params: new Map(), adam_m: new Map(), adam_v: new Map() };
  const storedShapes = new Map<string, readonly number[]>();
  for (const [key, { shape, data }] of tensors) {
    storedShapes.set(key, shape);
    const slash = key.indexOf('/');
    const role = key.slice(0, slash) as (typeof ROLES)[number];
    if (slash < 0 || !ROLES.includes(role)) fail(`unexpected tensor '${key}'`);
    sets[role].set(key.slice(slash + 1), data);
  }
  for (const role of ROLES) {
    for (const s of expected.params) {
      const data = sets[role].get(s.name);
      const size = s.shape.reduce((a, b) => a * b, 1);
      if (!data) fail(`missing tensor '${role}/${s.name}'`);
      else if (data.length !== size || storedShapes.get(`${role}/${s.name}`)?.join(',') !== s.shape.join(',')) {
        fail(`tensor '${role}/${s.name}' has shape [${storedShapes.get(`${role}/${s.name}`)}] (${data.length} values), the model declares [${s.shape}]`);
      }
    }
    for (const name of sets[role].keys()) {
      if (!expected.params.some((s) => s.name === name)) fail(`tensor '${role}/${name}' is not a parameter of model '${expected.modelName}'`);
    }
  }
  // Rebuild maps in the model's declaration order.
  const ordered = (set: ParamSet): ParamSet => new Map(expected.params.map((s) => [s.name, set.get(s.name) as Float32Array]));
  return {
    state: { step: Number(step), params: ordered(sets.params), m: ordered(sets.adam_m), v: ordered(sets.adam_v) },
    optimizer,
  };
}
