import { z } from 'zod';
import type { Feature } from './features.ts';

/**
 * Per-feature statistics in LeRobot's `meta/stats.json` shape (`compute_stats.py`): for every
 * feature `{min, max, mean, std, count, q01, q10, q50, q90, q99}`, each a per-dimension array.
 * Normalisation layers read `mean/std` (MEAN_STD), `min/max` (MIN_MAX) or `q01/q99` (QUANTILES).
 *
 * - Vectors and scalars: arrays of length D (scalars have D = 1), `std` is the population std
 *   (numpy's default, ddof = 0), quantiles are exact with numpy's default linear interpolation.
 * - Images: per channel, shape [3, 1, 1], values scaled to [0, 1] as LeRobot does; `count` is the
 *   number of images. Pixels are uint8, so a 256-bin histogram per channel gives exact
 *   min/max/mean/std/quantiles over every pixel at O(1) memory, no subsampling needed.
 * - Booleans are counted as 0/1.
 */

export const QUANTILES = { q01: 0.01, q10: 0.1, q50: 0.5, q90: 0.9, q99: 0.99 } as const;
type QuantileKey = keyof typeof QUANTILES;

export type NestedNumbers = number | NestedNumbers[];
const NestedNumbersSchema: z.ZodType<NestedNumbers> = z.lazy(() => z.union([z.number(), z.array(NestedNumbersSchema)]));

export const FeatureStatsSchema = z.object({
  min: z.array(NestedNumbersSchema),
  max: z.array(NestedNumbersSchema),
  mean: z.array(NestedNumbersSchema),
  std: z.array(NestedNumbersSchema),
  count: z.array(z.number().int().nonnegative()).length(1),
  q01: z.array(NestedNumbersSchema).optional(),
  q10: z.array(NestedNumbersSchema).optional(),
  q50: z.array(NestedNumbersSchema).optional(),
  q90: z.array(NestedNumbersSchema).optional(),
  q99: z.array(NestedNumbersSchema).optional(),
});
export type FeatureStats = z.infer<typeof FeatureStatsSchema>;
export const DatasetStatsSchema = z.record(z.string(), FeatureStatsSchema);
export type DatasetStats = z.infer<typeof DatasetStatsSchema>;

/** numpy.quantile(sorted, q) with the default 'linear' method. `sorted` must be ascending. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

/** A Float64Array that doubles when full: one per vector dimension. */
class GrowableColumn {
  #data = new Float64Array(256);
  #length = 0;
  push(v: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = v;
  }
  values(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}

function vectorStats(columns: GrowableColumn[]): FeatureStats {
  const out = { min: [], max: [], mean: [], std: [], q01: [], q10: [], q50: [], q90: [], q99: [] } as Record<
    'min' | 'max' | 'mean' | 'std' | QuantileKey,
    number[]
  >;
  let count = 0;
  for (const col of columns) {
    const v = Float64Array.from(col.values()).sort();
    count = v.length;
    let sum = 0;
    for (const x of v) sum += x;
    const mean = sum / v.length;
    let ss = 0;
    for (const x of v) ss += (x - mean) * (x - mean);
    out.min.push(v[0]!);
    out.max.push(v[v.length - 1]!);
    out.mean.push(mean);
    out.std.push(Math.sqrt(ss / v.length));
    for (const [k, q] of Object.entries(QUANTILES) as [QuantileKey, number][]) out[k].push(quantileSorted(v, q));
  }
  return { ...out, count: [count] };
}

/** Exact stats of uint8 values from their histogram, scaled to [0, 1]. */
function histogramStats(hist: Float64Array): Record<'min' | 'max' | 'mean' | 'std' | QuantileKey, number> {
  let n = 0;
  let sum = 0;
  let min = -1;
  let max = -1;
  for (let v = 0; v < 256; v++) {
    const c = hist[v]!;
    if (c === 0) continue;
    if (min < 0) min = v;
    max = v;
    n += c;
    sum += v * c;
  }
  const mean = sum / n;
  let ss = 0;
  for (let v = 0; v < 256; v++) ss += hist[v]! * (v - mean) * (v - mean);
  // The k-th smallest pixel value (0-based) read off the cumulative histogram.
  const valueAtRank = (k: number): number => {
    let cum = 0;
    for (let v = 0; v < 256; v++) {
      cum += hist[v]!;
      if (cum > k) return v;
    }
    return max;
  };
  const quantile = (q: number): number => {
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const a = valueAtRank(lo);
    const b = valueAtRank(Math.min(lo + 1, n - 1));
    return a + (b - a) * (pos - lo);
  };
  const s = (x: number) => x / 255;
  const out = { min: s(min), max: s(max), mean: s(mean), std: s(Math.sqrt(ss / n)) } as Record<'min' | 'max' | 'mean' | 'std' | QuantileKey, number>;
  for (const [k, q] of Object.entries(QUANTILES) as [QuantileKey, number][]) out[k] = s(quantile(q));
  return out;
}

/**
 * Accumulates stats frame by frame so a recorder never keeps raw frames for them: vectors keep
 * their values (exact quantiles need them; a few floats per frame), images keep 3 histograms.
 */
export class StatsAccumulator {
  #vectors = new Map<string, GrowableColumn[]>();
  #images = new Map<string, { hist: Float64Array[]; count: number }>();

  constructor(features: Record<string, Feature>) {
    for (const [key, ft] of Object.entries(features)) {
      if (ft.dtype === 'image') this.#images.set(key, { hist: [0, 1, 2].map(() => new Float64Array(256)), count: 0 });
      else if (ft.dtype !== 'video' && ft.dtype !== 'string') {
        this.#vectors.set(key, Array.from({ length: ft.shape.reduce((a, b) => a * b, 1) }, () => new GrowableColumn()));
      }
    }
  }

  /** One frame's value of a numeric feature (a scalar or a flat vector; booleans as 0/1). */
  add(key: string, value: number | boolean | bigint | ArrayLike<number>): void {
    const cols = this.#vectors.get(key);
    if (!cols) throw new Error(`stats: unknown numeric feature "${key}"`);
    if (typeof value === 'object') {
      if (value.length !== cols.length) throw new Error(`stats: ${key} expected ${cols.length} values, got ${value.length}`);
      for (let d = 0; d < cols.length; d++) cols[d]!.push(value[d]!);
    } else {
      cols[0]!.push(Number(value));
    }
  }

  /** One H*W*3 RGB uint8 image. */
  addImage(key: string, rgb: Uint8Array): void {
    const acc = this.#images.get(key);
    if (!acc) throw new Error(`stats: unknown image feature "${key}"`);
    const [r, g, b] = acc.hist as [Float64Array, Float64Array, Float64Array];
    for (let i = 0; i + 2 < rgb.length; i += 3) {
      r[rgb[i]!]!++;
      g[rgb[i + 1]!]!++;
      b[rgb[i + 2]!]!++;
    }
    acc.count++;
  }

  /** The stats.json object. Features that received no values are left out. */
  finish(): DatasetStats {
    const stats: DatasetStats = {};
    for (const [key, cols] of this.#vectors) {
      if (cols[0]!.values().length > 0) stats[key] = vectorStats(cols);
    }
    for (const [key, { hist, count }] of this.#images) {
      if (count === 0) continue;
      const perChannel = hist.map(histogramStats);
      const field = (k: 'min' | 'max' | 'mean' | 'std' | QuantileKey) => perChannel.map((c) => [[c[k]]]); // (3, 1, 1)
      stats[key] = {
        min: field('min'),
        max: field('max'),
        mean: field('mean'),
        std: field('std'),
        count: [count],
        q01: field('q01'),
        q10: field('q10'),
        q50: field('q50'),
        q90: field('q90'),
        q99: field('q99'),
      };
    }
    return stats;
  }
}
