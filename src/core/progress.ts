/**
 * Progress for long work: a single updating line on a TTY, periodic plain lines otherwise
 * (CI logs), always with rate and ETA. Writes to stderr so `--json` stdout stays clean.
 */
export interface ProgressOptions {
  /** Label printed before the counter. */
  label: string;
  /** Total units of work. */
  total: number;
  /** Unit name for the rate, @default 'it' */
  unit?: string;
  /** Minimum seconds between non-TTY lines, @default 5 */
  plainIntervalS?: number;
  /** Suppress all output (tests, --quiet), @default false */
  silent?: boolean;
}

export class Progress {
  readonly #opts: Required<ProgressOptions>;
  readonly #start = performance.now();
  #done = 0;
  #lastPrint = 0;
  #extra = '';
  readonly #tty = Boolean(process.stderr.isTTY);

  constructor(options: ProgressOptions) {
    this.#opts = { unit: 'it', plainIntervalS: 5, silent: false, ...options };
  }

  /** Advances by `n` units; `extra` is shown after the counter (e.g. a loss or success rate). */
  tick(n = 1, extra?: string): void {
    this.#done += n;
    if (extra !== undefined) this.#extra = extra;
    const now = performance.now();
    const interval = this.#tty ? 100 : this.#opts.plainIntervalS * 1000;
    if (this.#done >= this.#opts.total || now - this.#lastPrint >= interval) {
      this.#lastPrint = now;
      this.#print(now);
    }
  }

  /** Final line with the total time. */
  finish(extra?: string): void {
    if (extra !== undefined) this.#extra = extra;
    this.#print(performance.now(), true);
  }

  #print(now: number, final = false): void {
    if (this.#opts.silent) return;
    const { label, total, unit } = this.#opts;
    const elapsed = (now - this.#start) / 1000;
    const rate = elapsed > 0 ? this.#done / elapsed : 0;
    const eta = rate > 0 ? (total - this.#done) / rate : NaN;
    const width = 24;
    const filled = Math.round((Math.min(this.#done, total) / Math.max(total, 1)) * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const timing = final ? `${formatSeconds(elapsed)} total` : `ETA ${formatSeconds(eta)}`;
    const line = `${label} [${bar}] ${this.#done}/${total} ${rate.toFixed(1)} ${unit}/s ${timing}${this.#extra ? '  ' + this.#extra : ''}`;
    if (this.#tty) process.stderr.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
    else process.stderr.write(line + '\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
