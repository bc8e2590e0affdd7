import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic_write.ts';

/**
 * F32 tensors in the safetensors layout (Python's `safetensors` opens them):
 *   u64 LE header length N | N bytes of JSON header (space-padded to 8) | raw little-endian data
 * `__metadata__` (string values, as safetensors requires) always carries the SHA-256 of the data
 * section, so truncation or bit rot is reported instead of loading garbage. Used by training
 * checkpoints (checkpoint.ts) and the weight EMA (src/train/ema.ts).
 */

export interface F32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const TensorEntrySchema = z.object({
  dtype: z.literal('F32'),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

/** Writes the tensors, in iteration order, with `metadata` plus `sha256`, atomically (temporary file, fsync, rename). */
export function writeSafetensors(path: string, tensors: Iterable<readonly [string, F32Tensor]>, metadata: Readonly<Record<string, string>>): void {
  const entries: Record<string, z.infer<typeof TensorEntrySchema>> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    entries[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const body = Buffer.concat(chunks);
  let header = JSON.stringify({ __metadata__: { ...metadata, sha256: createHash('sha256').update(body).digest('hex') }, ...entries });
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const headerBytes = Buffer.from(header, 'utf8');
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(headerBytes.length));
  writeFileAtomic(path, Buffer.concat([size, headerBytes, body]));
}

export interface ReadSafetensorsOptions {
  /** What the file should be, for messages ("not a <kind> (...)"). */
  readonly kind: string;
  /** Throws the caller's error for `what` (prefixing the path is the caller's choice). */
  readonly fail: (what: string) => never;
  /** Checks `__metadata__` before the checksum (so a foreign file is named as such, not as corrupted). */
  readonly checkMetadata?: (metadata: unknown) => void;
}

/**
 * Reads a file written by `writeSafetensors`: header, metadata check, checksum, then every
 * tensor copied into an aligned buffer (the data section can start at any byte offset).
 */
export function readSafetensors(path: string, options: ReadSafetensorsOptions): { metadata: Record<string, unknown>; tensors: Map<string, F32Tensor> } {
  const { kind, fail } = options;
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    return fail(`cannot read ${kind} (${(err as Error).message})`);
  }
  if (file.length < 8) fail(`not a ${kind} (${file.length} bytes, too short for a header)`);
  const headerLength = file.readBigUInt64LE(0);
  if (headerLength > BigInt(file.length - 8) || headerLength < 2n) fail(`not a ${kind} (header length ${headerLength} does not fit a ${file.length}-byte file)`);
  let header: unknown;
  try {
    header = JSON.parse(file.subarray(8, 8 + Number(headerLength)).toString('utf8'));
  } catch {
    return fail(`not a ${kind} (header is not JSON)`);
  }
  if (typeof header !== 'object' || header === null) return fail(`not a ${kind} (header is not an object)`);
  const { __metadata__: metadata, ...rawEntries } = header as Record<string, unknown>;
  options.checkMetadata?.(metadata);
  const body = file.subarray(8 + Number(headerLength));
  const sha = (metadata as { sha256?: unknown } | undefined)?.sha256;
  if (sha !== createHash('sha256').update(body).digest('hex')) fail('checksum mismatch: the file is corrupted or truncated');
  const tensors = new Map<string, F32Tensor>();
  for (const [key, raw] of Object.entries(rawEntries)) {
    const entry = TensorEntrySchema.safeParse(raw);
    if (!entry.success) fail(`tensor '${key}' has an invalid header entry`);
    const { data_offsets: [start, end], shape } = entry.data as z.infer<typeof TensorEntrySchema>;
    if (end < start || end > body.length || (end - start) % 4 !== 0) fail(`tensor '${key}' has data offsets [${start}, ${end}] outside the ${body.length}-byte data section`);
    const copy = new Uint8Array(end - start);
    copy.set(body.subarray(start, end));
    tensors.set(key, { shape, data: new Float32Array(copy.buffer) });
  }
  return { metadata: metadata as Record<string, unknown>, tensors };
}
