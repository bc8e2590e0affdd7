import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic_write.ts';
import { UserError } from '../core/errors.ts';
import { AdamWConfigSchema, type AdamWConfig } from './adamw.ts';
import type { ParamSet, ParamSpec } from './param_registry.ts';
import type { TrainState } from './train_state.ts';

/**
 * Training checkpoints in the safetensors layout (so Python's `safetensors` can open them):
 *   u64 LE header length N | N bytes of JSON header (space-padded to 8) | raw little-endian data
 * Tensors are `params/<name>`, `adam_m/<name>`, `adam_v/<name>` (F32). `__metadata__`
 * (string values, as safetensors requires) holds the format tag, model name, step, optimizer
 * config and the SHA-256 of the data section, so truncation or bit rot is reported instead of
 * resuming from garbage.
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

const TensorEntrySchema = z.object({
  dtype: z.literal('F32'),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

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
  const entries: Record<string, z.infer<typeof TensorEntrySchema>> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const shapes = new Map(info.params.map((p) => [p.name, [...p.shape]]));
  for (const role of ROLES) {
    const set = role === 'params' ? state.params : role === 'adam_m' ? state.m : state.v;
    for (const [name, data] of set) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const shape = shapes.get(name);
      if (!shape || shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`saveCheckpoint(${path}): '${name}' does not match the declared parameters`);
      entries[`${role}/${name}`] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes.length] };
      chunks.push(bytes);
      offset += bytes.length;
    }
  }
  const body = Buffer.concat(chunks);
  const metadata: z.infer<typeof MetadataSchema> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: info.modelName,
    step: String(state.step),
    optimizer: JSON.stringify(info.optimizer),
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  let header = JSON.stringify({ __metadata__: metadata, ...entries });
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const headerBytes = Buffer.from(header, 'utf8');
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(headerBytes.length));
  writeFileAtomic(path, Buffer.concat([size, headerBytes, body]));
}

/**
 * Reads and validates a checkpoint for a model with the given parameters. Every failure is
 * a CheckpointError naming the file and what was wrong.
 */
export function loadCheckpoint(path: string, expected: { readonly modelName: string; readonly params: readonly ParamSpec[] }): LoadedCheckpoint {
  const fail = (what: string): never => {
    throw new CheckpointError(`${path}: ${what}`);
  };
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    return fail(`cannot read checkpoint (${(err as Error).message})`);
  }
  if (file.length < 8) fail(`not a flowsteer checkpoint (${file.length} bytes, too short for a header)`);
  const headerLength = file.readBigUInt64LE(0);
  if (headerLength > BigInt(file.length - 8) || headerLength < 2n) fail(`not a flowsteer checkpoint (header length ${headerLength} does not fit a ${file.length}-byte file)`);
  let header: unknown;
  try {
    header = JSON.parse(file.subarray(8, 8 + Number(headerLength)).toString('utf8'));
  } catch {
    return fail('not a flowsteer checkpoint (header is not JSON)');
  }
  if (typeof header !== 'object' || header === null) return fail('not a flowsteer checkpoint (header is not an object)');
  const { __metadata__: rawMeta, ...rawEntries } = header as Record<string, unknown>;
  const meta = MetadataSchema.safeParse(rawMeta);
  if (!meta.success) return fail(`not a flowsteer checkpoint (metadata: ${meta.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
  const body = file.subarray(8 + Number(headerLength));
  if (createHash('sha256').update(body).digest('hex') !== meta.data.sha256) fail('checksum mismatch: the file is corrupted or truncated');
  if (meta.data.model !== expected.modelName) fail(`checkpoint is for model '${meta.data.model}', expected '${expected.modelName}'`);
  let optimizer: AdamWConfig;
  try {
    optimizer = Object.freeze(AdamWConfigSchema.parse(JSON.parse(meta.data.optimizer)));
  } catch {
    return fail('optimizer metadata is not a valid AdamW config');
  }

  const sets: Record<(typeof ROLES)[number], ParamSet> = { params: new Map(), adam_m: new Map(), adam_v: new Map() };
  const storedShapes = new Map<string, readonly number[]>();
  for (const [key, raw] of Object.entries(rawEntries)) {
    const entry = TensorEntrySchema.safeParse(raw);
    if (!entry.success) fail(`tensor '${key}' has an invalid header entry`);
    const { data_offsets: [start, end], shape } = entry.data as z.infer<typeof TensorEntrySchema>;
    storedShapes.set(key, shape);
    if (end < start || end > body.length || (end - start) % 4 !== 0) fail(`tensor '${key}' has data offsets [${start}, ${end}] outside the ${body.length}-byte data section`);
    const slash = key.indexOf('/');
    const role = key.slice(0, slash) as (typeof ROLES)[number];
    if (slash < 0 || !ROLES.includes(role)) fail(`unexpected tensor '${key}'`);
    // Copy into an aligned buffer (the data section can start at any byte offset).
    const copy = new Uint8Array(end - start);
    copy.set(body.subarray(start, end));
    sets[role].set(key.slice(slash + 1), new Float32Array(copy.buffer));
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
    state: { step: Number(meta.data.step), params: ordered(sets.params), m: ordered(sets.adam_m), v: ordered(sets.adam_v) },
    optimizer,
  };
}
