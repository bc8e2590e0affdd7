import type { SchemaElement, SchemaTree } from 'hyparquet';
import type { Feature } from './features.ts';

/**
 * How each LeRobot feature is laid out in parquet, in the shapes pyarrow itself writes (all
 * fields nullable, 3-level LISTs), so pyarrow / HF `datasets` / DuckDB read our files with the
 * types LeRobot expects:
 *
 * | feature                     | parquet                                   | arrow                       |
 * |-----------------------------|-------------------------------------------|-----------------------------|
 * | float32 [N], N > 1          | LIST of FLOAT                             | list<element: float>        |
 * | float32 / int64 / bool [1]  | FLOAT / INT64 / BOOLEAN                   | float / int64 / bool        |
 * | image [H, W, 3]             | group {bytes: BYTE_ARRAY, path: UTF8}     | struct<bytes: binary, path: string> |
 *
 * Shape [1] is a plain scalar because LeRobot's `get_hf_features_from_features` maps it to
 * `datasets.Value`, not a sequence.
 */

export type ColumnKind = 'vector' | 'float32' | 'int64' | 'bool' | 'image';

const SCALARS = new Map<string, ColumnKind>([
  ['float32', 'float32'],
  ['int64', 'int64'],
  ['bool', 'bool'],
]);

/** The column layout of a feature; throws for dtypes flowsteer does not store. */
export function columnKind(key: string, ft: Feature): ColumnKind {
  if (ft.dtype === 'image') return 'image';
  const isScalar = ft.shape.length === 1 && ft.shape[0] === 1;
  if (isScalar) {
    const kind = SCALARS.get(ft.dtype);
    if (kind) return kind;
  } else if (ft.dtype === 'float32' && ft.shape.length === 1) {
    return 'vector';
  }
  throw new Error(`feature ${key}: dtype ${ft.dtype} with shape ${JSON.stringify(ft.shape)} is not supported`);
}

const PHYSICAL = { float32: 'FLOAT', int64: 'INT64', bool: 'BOOLEAN' } as const;

/** Flat, depth-first schema elements of one column (what hyparquet-writer takes). */
function columnSchema(name: string, kind: ColumnKind): SchemaElement[] {
  switch (kind) {
    case 'vector':
      return [
        { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'OPTIONAL', type: 'FLOAT' },
      ];
    case 'image':
      return [
        { name, repetition_type: 'OPTIONAL', num_children: 2 },
        { name: 'bytes', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY' },
        { name: 'path', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
      ];
    default:
      return [{ name, repetition_type: 'OPTIONAL', type: PHYSICAL[kind] }];
  }
}

/** The full parquet schema (root first) for a features table, in its key order. */
export function parquetSchemaFor(features: Record<string, Feature>): SchemaElement[] {
  const keys = Object.keys(features);
  const schema: SchemaElement[] = [{ name: 'schema', num_children: keys.length }];
  for (const key of keys) schema.push(...columnSchema(key, columnKind(key, features[key]!)));
  return schema;
}

/**
 * HF `datasets` features (datasets >= 4 serialisation, the version LeRobot v3 requires; the same
 * JSON `Dataset.to_parquet` writes) for the parquet `huggingface` key-value metadata. With it,
 * plain `datasets.load_dataset("parquet")` decodes the image structs to PIL images. Vectors still
 * come back as variable-length lists there (datasets only applies a metadata feature whose arrow
 * type matches the file's, and parquet has no fixed-size list without pyarrow's ARROW:schema);
 * LeRobot passes its features from info.json and gets fixed_size_list, as the golden file shows.
 */
export function hfFeaturesFor(features: Record<string, Feature>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, ft] of Object.entries(features)) {
    const kind = columnKind(key, ft);
    if (kind === 'image') out[key] = { _type: 'Image' };
    else if (kind === 'vector') out[key] = { feature: { dtype: 'float32', _type: 'Value' }, length: ft.shape[0], _type: 'List' };
    else out[key] = { dtype: ft.dtype, _type: 'Value' };
  }
  return out;
}

const isList = (n: SchemaTree) => n.element.converted_type === 'LIST' || n.element.logical_type?.type === 'LIST';
const describe = (n: SchemaTree) =>
  n.children.length ? `group(${n.children.map((c) => c.element.name).join(', ')})` : `${n.element.type ?? '?'}${n.element.converted_type ? ` (${n.element.converted_type})` : ''}`;

/**
 * Checks a parquet column against the layout its feature needs. Returns what is wrong, or
 * undefined when it fits. Accepts the 2-level legacy LIST and REQUIRED fields too: other writers
 * (pyarrow with fixed_size_list, Spark) differ in these details only.
 */
export function checkColumn(node: SchemaTree | undefined, kind: ColumnKind): string | undefined {
  if (!node) return 'column missing';
  switch (kind) {
    case 'vector': {
      let leaf: SchemaTree | undefined = isList(node) ? node.children[0] : undefined;
      while (leaf && leaf.children.length === 1) leaf = leaf.children[0];
      if (!leaf || leaf.children.length || leaf.element.type !== 'FLOAT') return `expected LIST of FLOAT (list<float>), got ${describe(node)}`;
      return undefined;
    }
    case 'image': {
      const bytes = node.children.find((c) => c.element.name === 'bytes');
      if (!bytes || bytes.element.type !== 'BYTE_ARRAY') return `expected struct<bytes: binary, path: string>, got ${describe(node)}`;
      return undefined;
    }
    default: {
      const want = PHYSICAL[kind];
      if (node.children.length || node.element.type !== want) return `expected ${want}, got ${describe(node)}`;
      return undefined;
    }
  }
}
