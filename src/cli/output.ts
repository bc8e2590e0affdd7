import { UserError } from '../core/errors.ts';

/** Prints rows as an aligned plain-text table. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Parses an integer flag with a clear error naming the flag. */
export function parseIntFlag(flag: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new UserError(`${flag} expects an integer >= ${min}, got '${value}'`);
    return n;
  };
}

/** Runs a command body, printing UserErrors without a stack and exiting non-zero. */
export async function runCommand(body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof UserError) {
      console.error(`error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}
