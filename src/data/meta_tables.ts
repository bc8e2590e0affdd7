import { z } from 'zod';
import type { SchemaElement } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { FlawLabelSchema } from '../core/episode.ts';

/**
 * The two small metadata tables of a LeRobot v3 dataset, written and validated here so the
 * writer and the reader share one definition:
 *
 * - `meta/tasks.parquet`: `task_index` (int64) and `task` (string). LeRobot reads it with
 *   `pd.read_parquet` and looks tasks up by `tasks.iloc[i].name`, i.e. it needs `task` to be the
 *   pandas index: the `pandas` key-value metadata declares `index_columns: ["task"]`. Without it
 *   pandas gives a RangeIndex and LeRobot silently uses the number as the task text.
 * - `meta/episodes/chunk-000/file-000.parquet`: one row per episode with LeRobot's columns plus
 *   flowsteer's extras under the `flowsteer/` prefix (LeRobot ignores unknown columns).
 */

const opt = (name: string, type: SchemaElement['type'], converted?: SchemaElement['converted_type']): SchemaElement => ({
  name,
  repetition_type: 'OPTIONAL',
  type,
  ...(converted ? { converted_type: converted } : {}),
});
const stringList = (name: string): SchemaElement[] => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  opt('element', 'BYTE_ARRAY', 'UTF8'),
];

// ---------------------------------------------------------------- tasks

/** What pyarrow writes for `pd.DataFrame({"task_index": [...]}, index=pd.Index([...], name="task"))`. */
function pandasMetadata(): string {
  return JSON.stringify({
    index_columns: ['task'],
    column_indexes: [{ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } }],
    columns: [
      { name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null },
      { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
    ],
    creator: { library: 'flowsteer', version: '0.1.0' },
    pandas_version: '2.2.3',
  });
}

/** `meta/tasks.parquet` bytes; `tasks[i]` is the text of task_index i. */
export function tasksParquet(tasks: readonly string[]): Uint8Array {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'task_index', data: tasks.map((_, i) => BigInt(i)) },
      { name: 'task', data: [...tasks] },
    ],
    schema: [{ name: 'schema', num_children: 2 }, opt('task_index', 'INT64'), opt('task', 'BYTE_ARRAY', 'UTF8')],
    kvMetadata: [{ key: 'pandas', value: pandasMetadata() }],
  });
  return new Uint8Array(buf);
}

// ---------------------------------------------------------------- episodes

/** One row of `meta/episodes/*.parquet` as flowsteer writes it. */
export interface EpisodeRow {
  episode_index: number;
  tasks: string[];
  length: number;
  'data/chunk_index': number;
  'data/file_index': number;
  /** Global `index` of the episode's first frame. */
  dataset_from_index: number;
  /** Global `index` one past the episode's last frame. */
  dataset_to_index: number;
  'meta/episodes/chunk_index': number;
  'meta/episodes/file_index': number;
  'flowsteer/task_name': string;
  'flowsteer/seed': number;
  'flowsteer/success': boolean;
  /** JSON array of FlawLabel: a string column keeps the table flat for pandas and DuckDB. */
  'flowsteer/flaws': string;
}

const INT64_COLUMNS = [
  'episode_index',
  'length',
  'data/chunk_index',
  'data/file_index',
  'dataset_from_index',
  'dataset_to_index',
  'meta/episodes/chunk_index',
  'meta/episodes/file_index',
] as const;

/** `meta/episodes/chunk-000/file-000.parquet` bytes. */
export function episodesParquet(rows: readonly EpisodeRow[]): Uint8Array {
  const col = <K extends keyof EpisodeRow>(k: K) => rows.map((r) => r[k]);
  const int = (k: keyof EpisodeRow) => rows.map((r) => BigInt(r[k] as number));
  const schema: SchemaElement[] = [
    opt('episode_index', 'INT64'),
    ...stringList('tasks'),
    ...INT64_COLUMNS.slice(1).map((k) => opt(k, 'INT64')),
    opt('flowsteer/task_name', 'BYTE_ARRAY', 'UTF8'),
    opt('flowsteer/seed', 'INT64'),
    opt('flowsteer/success', 'BOOLEAN'),
    opt('flowsteer/flaws', 'BYTE_ARRAY', 'UTF8'),
  ];
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'episode_index', data: int('episode_index') },
      { name: 'tasks', data: col('tasks') },
      ...INT64_COLUMNS.slice(1).map((k) => ({ name: k, data: int(k) })),
      { name: 'flowsteer/task_name', data: col('flowsteer/task_name') },
      { name: 'flowsteer/seed', data: int('flowsteer/seed') },
      { name: 'flowsteer/success', data: col('flowsteer/success') },
      { name: 'flowsteer/flaws', data: col('flowsteer/flaws') },
    ],
    schema: [{ name: 'schema', num_children: 13 }, ...schema],
  });
  return new Uint8Array(buf);
}

// ---------------------------------------------------------------- reading

/** INT64 columns come back as bigint (hyparquet); INT32 ones, from other writers, as number. */
const int = z
  .union([z.bigint(), z.number()])
  .transform((v) => Number(v))
  .pipe(z.number().int().nonnegative());

const flawsJson = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array of flaw labels' });
      return z.NEVER;
    }
  })
  .pipe(z.array(FlawLabelSchema));

/**
 * An episodes-table row as read back. The `flowsteer/` columns are optional so that LeRobot
 * datasets written by other tools (with the same features) read too.
 */
export const EpisodeRowSchema = z
  .object({
    episode_index: int,
    tasks: z.array(z.string().min(1)).min(1),
    length: int.pipe(z.number().positive()),
    'data/chunk_index': int,
    'data/file_index': int,
    dataset_from_index: int,
    dataset_to_index: int,
    'flowsteer/task_name': z.string().nullish(),
    'flowsteer/seed': z.union([z.bigint(), z.number()]).transform((v) => Number(v)).pipe(z.number().int()).nullish(),
    'flowsteer/success': z.boolean().nullish(),
    'flowsteer/flaws': flawsJson.nullish(),
  })
  .superRefine((r, ctx) => {
    if (r.dataset_to_index - r.dataset_from_index !== r.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['dataset_to_index'],
        message: `expected dataset_to_index - dataset_from_index == length (${r.length}), got ${r.dataset_to_index} - ${r.dataset_from_index}`,
      });
    }
    for (const [i, f] of (r['flowsteer/flaws'] ?? []).entries()) {
      if (f.end > r.length) ctx.addIssue({ code: 'custom', path: ['flowsteer/flaws', i, 'end'], message: `expected <= length (${r.length}), got ${f.end}` });
    }
  });
export type ReadEpisodeRow = z.infer<typeof EpisodeRowSchema>;
