/** An error caused by user input (file, flag, field): printed without a stack trace by the CLI. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Formats a zod error as `where: field.path: message` lines. */
export function describeZodIssues(where: string, issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  const lines = issues.map((i) => `  ${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
  return `${where}: invalid content\n${lines.join('\n')}`;
}
