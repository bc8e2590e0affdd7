import { RgbCanvas } from './canvas.ts';
import { GLYPH_HEIGHT, textWidth } from './font5x7.ts';
import type { Rgb, RgbImage } from './rgb_image.ts';

/**
 * Dependency-free line charts (loss curves, success rates) rasterised to RGB, so that training
 * and evaluation reports are plain PNG files with no plotting stack. Deterministic: the same
 * series give the same bytes.
 */

export interface LineSeries {
  /** Legend label. */
  name: string;
  /** Values; NaN, +-Infinity (and, with logY, values <= 0) leave a gap in the line. */
  y: ArrayLike<number>;
  /** Abscissae, same length as y. @default 0, 1, 2, ... */
  x?: ArrayLike<number>;
  /** @default the next colour of the Tableau-10 palette */
  colour?: Rgb;
}

export interface LineChartOptions {
  series: readonly LineSeries[];
  title?: string;
  /** Drawn under the x axis. */
  xLabel?: string;
  /** Drawn horizontally above the y axis (the bitmap font does not rotate). */
  yLabel?: string;
  /** @default 640 */
  width?: number;
  /** @default 400 */
  height?: number;
  /** Fixed x axis range. @default the data's range */
  xRange?: readonly [number, number];
  /** Fixed y axis range, e.g. [0, 1] for success rates. @default the data's range plus 5% */
  yRange?: readonly [number, number];
  /** Logarithmic y axis (loss curves). @default false */
  logY?: boolean;
  /** Line thickness in pixels. @default 2 */
  lineWidth?: number;
}

/** The chart image plus the mapping from data to pixels (what tests and overlays need). */
export interface LineChart extends RgbImage {
  /** Plot area in pixels, [left, right) x [top, bottom). */
  readonly plotArea: { left: number; top: number; right: number; bottom: number };
  /** Pixel (column, row) where the data point (x, y) is drawn; null where y cannot be drawn (logY and y <= 0, NaN). */
  toPixel(x: number, y: number): [number, number] | null;
}

const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];
const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
const TICK = 4;
const PAD = 8;
const TITLE_SCALE = 2;

export function renderLineChart(options: LineChartOptions): LineChart {
  const { series, title, xLabel, yLabel, width = 640, height = 400, logY = false, lineWidth = 2 } = options;
  if (series.length === 0) throw new RangeError('renderLineChart: no series');
  series.forEach((s, k) => {
    if (s.x && s.x.length !== s.y.length) throw new RangeError(`renderLineChart: series "${s.name}" (${k}) has ${s.x.length} x values but ${s.y.length} y values`);
  });
  const fy = logY ? (v: number) => (v > 0 ? Math.log10(v) : NaN) : (v: number) => v;

  // Data ranges (in axis space: log10 for logY).
  let [xMin, xMax] = options.xRange ?? finiteRange(series.map((s) => xValues(s)));
  let [yMin, yMax] = options.yRange ? [fy(options.yRange[0]), fy(options.yRange[1])] : finiteRange(series.map((s) => mapArray(s.y, fy)));
  if (!(xMax > xMin)) [xMin, xMax] = widen(xMin);
  if (!(yMax > yMin)) [yMin, yMax] = widen(yMin);
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) throw new RangeError(`renderLineChart: yRange ${String(options.yRange)} is not drawable${logY ? ' on a log axis' : ''}`);
  if (!options.yRange) {
    const pad = 0.05 * (yMax - yMin);
    yMin -= pad;
    yMax += pad;
  }
  const xTicks = niceTicks(xMin, xMax, Math.max(2, Math.floor(width / 100)));
  const yTicks = logY ? logTicks(yMin, yMax, Math.max(2, Math.floor(height / 60))) : niceTicks(yMin, yMax, Math.max(2, Math.floor(height / 60)));

  // Layout: margins sized from the text they hold.
  const yTickWidth = Math.max(...yTicks.map((t) => textWidth(t.label)));
  const legendWidth = Math.max(...series.map((s) => textWidth(s.name))) + 14 + 6 + 2 * PAD;
  const left = PAD + yTickWidth + 3 + TICK;
  const right = width - legendWidth;
  const top = PAD + (title ? GLYPH_HEIGHT * TITLE_SCALE + PAD : 0) + (yLabel ? GLYPH_HEIGHT + PAD : 0);
  const bottom = height - (PAD + TICK + 3 + GLYPH_HEIGHT + (xLabel ? GLYPH_HEIGHT + PAD : 0));
  if (right - left < 20 || bottom - top < 20) throw new RangeError(`renderLineChart: ${width}x${height} leaves no room for the plot area`);

  // Pixel rows grow downwards; the last column/row of the area is right-1 / bottom-1.
  const px = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (right - 1 - left);
  const py = (yAxis: number) => bottom - 1 - ((yAxis - yMin) / (yMax - yMin)) * (bottom - 1 - top);
  const toPixel = (x: number, y: number): [number, number] | null => {
    const ya = fy(y);
    return Number.isFinite(x) && Number.isFinite(ya) ? [Math.round(px(x)), Math.round(py(ya))] : null;
  };

  const c = new RgbCanvas(width, height, WHITE);
  // Grid and ticks.
  for (const t of xTicks) {
    const x = Math.round(px(t.value));
    c.fillRect(x, top, 1, bottom - top, GRID);
    c.fillRect(x, bottom, 1, TICK, INK);
    c.text(x - Math.floor(textWidth(t.label) / 2), bottom + TICK + 3, t.label, INK);
  }
  for (const t of yTicks) {
    const y = Math.round(py(t.value));
    c.fillRect(left, y, right - left, 1, GRID);
    c.fillRect(left - TICK, y, TICK, 1, INK);
    c.text(left - TICK - 3 - textWidth(t.label), y - Math.floor(GLYPH_HEIGHT / 2), t.label, INK);
  }
  // Series, clipped to the plot area; the frame is drawn after so lines never cover it.
  c.setClip(left, top, right, bottom);
  series.forEach((s, k) => {
    const colour = s.colour ?? PALETTE[k % PALETTE.length]!;
    const xs = xValues(s);
    let prev: [number, number] | null = null;
    for (let i = 0; i < s.y.length; i++) {
      const p = toPixel(xs[i]!, s.y[i]!);
      if (p && prev) c.line(prev[0], prev[1], p[0], p[1], colour, lineWidth);
      else if (p) c.line(p[0], p[1], p[0], p[1], colour, lineWidth); // isolated points stay visible
      prev = p;
    }
  });
  c.clearClip();
  c.strokeRect(left - 1, top - 1, right - left + 2, bottom - top + 2, INK);

  // Text around the plot.
  if (title) c.text(Math.max(PAD, Math.floor((width - textWidth(title, TITLE_SCALE)) / 2)), PAD, title, INK, TITLE_SCALE);
  if (yLabel) c.text(PAD, top - PAD - GLYPH_HEIGHT, yLabel, INK);
  if (xLabel) c.text(Math.floor((left + right - textWidth(xLabel)) / 2), height - PAD - GLYPH_HEIGHT, xLabel, INK);
  series.forEach((s, k) => {
    const colour = s.colour ?? PALETTE[k % PALETTE.length]!;
    const y = top + PAD + k * (GLYPH_HEIGHT + 5);
    c.line(right + PAD, y + 3, right + PAD + 13, y + 3, colour, lineWidth);
    c.text(right + PAD + 14 + 6, y, s.name, INK);
  });

  return { width, height, rgb: c.rgb, plotArea: { left, top, right, bottom }, toPixel };
}

interface Tick {
  /** Position in axis space (log10 of the value for log axes). */
  value: number;
  label: string;
}

/** Ticks at 1, 2 or 5 times a power of ten, about `target` of them inside [lo, hi]. */
function niceTicks(lo: number, hi: number, target: number): Tick[] {
  const step = niceStep((hi - lo) / target);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: Tick[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) {
    const value = k * step;
    ticks.push({ value, label: formatNumber(value, decimals) });
  }
  return ticks;
}

/**
 * Log axis (lo, hi are log10): whole decades when the range spans several, 1-2-5 per decade when
 * it spans one or two, else nice linear values.
 */
function logTicks(lo: number, hi: number, target: number): Tick[] {
  if (hi - lo < 1) {
    return niceTicks(10 ** lo, 10 ** hi, target)
      .map((t) => ({ value: Math.log10(t.value), label: t.label }))
      .filter((t) => Number.isFinite(t.value));
  }
  const decadeStep = Math.max(1, Math.round(niceStep((hi - lo) / target)));
  const mantissas = hi - lo < 3 ? [1, 2, 5] : [1];
  const ticks: Tick[] = [];
  for (let e = Math.floor(lo / decadeStep) * decadeStep; e <= hi + 1e-9; e += decadeStep) {
    for (const m of mantissas) {
      const value = e + Math.log10(m);
      if (value >= lo - 1e-9 && value <= hi + 1e-9) ticks.push({ value, label: formatPower(m, e) });
    }
  }
  return ticks;
}

/** m * 10^e as plain decimals in the readable range, else "me<e>". */
function formatPower(m: number, e: number): string {
  if (e >= -3 && e <= 5) return String(Number((m * 10 ** e).toPrecision(1)));
  return `${m}e${e}`;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** Fixed decimals for ordinary magnitudes, exponent notation for very large or small ones. */
function formatNumber(v: number, decimals: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || decimals > 4) return v.toExponential(1).replace('e+', 'e');
  return v.toFixed(decimals);
}

function xValues(s: LineSeries): ArrayLike<number> {
  return s.x ?? Array.from({ length: s.y.length }, (_, i) => i);
}

function mapArray(a: ArrayLike<number>, f: (v: number) => number): number[] {
  return Array.from(a, f);
}

function finiteRange(arrays: ReadonlyArray<ArrayLike<number>>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

/** A range around a single value (constant series). */
function widen(v: number): [number, number] {
  const d = v === 0 ? 1 : Math.abs(v) * 0.1;
  return [v - d, v + d];
}
