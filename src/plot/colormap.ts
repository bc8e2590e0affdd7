import type { Rgb, RgbImage } from './rgb_image.ts';

/**
 * Colour maps that turn depth and segmentation frames into viewable RGB images. Visualisation
 * only: nothing downstream should learn from these colours.
 */

export interface DepthToRgbOptions {
  /** Depth (m) drawn at the near end of the map. */
  near: number;
  /** Depth (m) drawn at the far end of the map; values beyond are clamped. */
  far: number;
  /** @default 'turbo' (near dark red, through yellow, green, blue, to near-black far); 'grey' draws near white, far black. */
  colormap?: 'turbo' | 'grey';
  /** Colour of pixels with no hit (Infinity, NaN). @default [0, 0, 0] */
  noHit?: Rgb;
}

/** Depth (H*W metres, Infinity for no hit) to RGB. Near is warm/bright so close objects stand out. */
export function depthToRgb(depth: Float32Array, width: number, height: number, options: DepthToRgbOptions): RgbImage {
  const { near, far, colormap = 'turbo', noHit = [0, 0, 0] } = options;
  if (depth.length !== width * height) throw new RangeError(`depthToRgb: expected ${width * height} values (${width}x${height}), got ${depth.length}`);
  if (!(far > near)) throw new RangeError(`depthToRgb: far (${far}) must be greater than near (${near})`);
  const rgb = new Uint8Array(width * height * 3);
  const colour: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i]!;
    const o = 3 * i;
    if (!Number.isFinite(d)) {
      rgb[o] = noHit[0];
      rgb[o + 1] = noHit[1];
      rgb[o + 2] = noHit[2];
      continue;
    }
    const t = 1 - Math.min(1, Math.max(0, (d - near) / (far - near))); // 1 at near
    if (colormap === 'grey') {
      colour[0] = colour[1] = colour[2] = Math.round(255 * t);
    } else {
      turbo(t, colour);
    }
    rgb[o] = colour[0];
    rgb[o + 1] = colour[1];
    rgb[o + 2] = colour[2];
  }
  return { width, height, rgb };
}

/**
 * Google's Turbo colour map (dark blue -> cyan -> green -> yellow -> red), by its published
 * polynomial approximation (A. Mikhailov, 2019, Apache-2.0). Writes 0..255 into `out`.
 */
export function turbo(x: number, out: [number, number, number] = [0, 0, 0]): [number, number, number] {
  const t = Math.min(1, Math.max(0, x));
  const t2 = t * t;
  const t3 = t2 * t;
  const t4 = t2 * t2;
  const t5 = t4 * t;
  const r = 0.13572138 + 4.6153926 * t - 42.66032258 * t2 + 132.13108234 * t3 - 152.94239396 * t4 + 59.28637943 * t5;
  const g = 0.09140261 + 2.19418839 * t + 4.84296658 * t2 - 14.18503333 * t3 + 4.27729857 * t4 + 2.82956604 * t5;
  const b = 0.1066733 + 12.64194608 * t - 60.58204836 * t2 + 110.36276771 * t3 - 89.90310912 * t4 + 27.34824973 * t5;
  out[0] = Math.round(255 * Math.min(1, Math.max(0, r)));
  out[1] = Math.round(255 * Math.min(1, Math.max(0, g)));
  out[2] = Math.round(255 * Math.min(1, Math.max(0, b)));
  return out;
}

/**
 * A stable, well-separated colour per segmentation id: the hue steps by the golden ratio, so
 * neighbouring ids (bodies built one after another) get distant hues; the same id gets the same
 * colour in every frame, run and machine. -1 (no hit) is black.
 */
export function segmentationColour(id: number): Rgb {
  if (id < 0) return [0, 0, 0];
  const hue = (id * 0.6180339887498949 + 0.1) % 1;
  const value = id % 2 === 0 ? 0.95 : 0.75; // alternate brightness too, for large id counts
  return hsvToRgb(hue, 0.7, value);
}

/** Segmentation ids (H*W, -1 for none) to RGB with `segmentationColour`. */
export function segmentationToRgb(segmentation: Int32Array, width: number, height: number): RgbImage {
  if (segmentation.length !== width * height) {
    throw new RangeError(`segmentationToRgb: expected ${width * height} ids (${width}x${height}), got ${segmentation.length}`);
  }
  const rgb = new Uint8Array(width * height * 3);
  const cache = new Map<number, Rgb>();
  for (let i = 0; i < segmentation.length; i++) {
    const id = segmentation[i]!;
    let c = cache.get(id);
    if (!c) cache.set(id, (c = segmentationColour(id)));
    rgb[3 * i] = c[0];
    rgb[3 * i + 1] = c[1];
    rgb[3 * i + 2] = c[2];
  }
  return { width, height, rgb };
}

function hsvToRgb(h: number, s: number, v: number): Rgb {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table: ReadonlyArray<readonly [number, number, number]> = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  const [r, g, b] = table[i % 6]!;
  return [Math.round(255 * r), Math.round(255 * g), Math.round(255 * b)];
}
