import { describe, expect, it } from 'vitest';
import { tileImages } from '../../src/plot/image_strip.ts';
import type { RgbImage } from '../../src/plot/rgb_image.ts';

/** A w x h frame whose pixel (r, c) is [tag, r, c]: every source pixel is identifiable. */
function tagged(tag: number, w: number, h: number): RgbImage {
  const rgb = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) rgb.set([tag, r, c], (r * w + c) * 3);
  return { width: w, height: h, rgb };
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [...img.rgb.subarray(o, o + 3)];
}

describe('tileImages', () => {
  it('lays frames out in one row by default with 1 px separators', () => {
    const out = tileImages([tagged(1, 4, 3), tagged(2, 4, 3), tagged(3, 4, 3)]);
    expect([out.width, out.height]).toEqual([3 * 4 + 2, 3]);
    expect(pixel(out, 0, 0)).toEqual([1, 0, 0]);
    expect(pixel(out, 4, 1)).toEqual([255, 255, 255]); // separator
    expect(pixel(out, 5, 2)).toEqual([2, 2, 0]);
    expect(pixel(out, 13, 2)).toEqual([3, 2, 3]);
  });

  it('wraps into rows, scales by nearest neighbour and fills empty cells with the separator colour', () => {
    const frames = [1, 2, 3, 4, 5].map((t) => tagged(t, 3, 2));
    const out = tileImages(frames, { columns: 2, scale: 4, separator: 2, separatorColour: [9, 9, 9] });
    // 3 rows x 2 columns of 12x8 cells with 2 px gaps.
    expect([out.width, out.height]).toEqual([2 * 12 + 2, 3 * 8 + 2 * 2]);
    // Frame k sits at column k % 2, row floor(k / 2); source pixel (r, c) covers a 4x4 block.
    const cell = (k: number) => [(k % 2) * 14, Math.floor(k / 2) * 10] as const;
    for (let k = 0; k < 5; k++) {
      const [x0, y0] = cell(k);
      for (let y = 0; y < 8; y++) for (let x = 0; x < 12; x++) expect(pixel(out, x0 + x, y0 + y)).toEqual([k + 1, y >> 2, x >> 2]);
    }
    expect(pixel(out, 12, 0)).toEqual([9, 9, 9]);
    expect(pixel(out, 0, 8)).toEqual([9, 9, 9]);
    const [ex, ey] = cell(5); // empty sixth cell
    expect(pixel(out, ex + 5, ey + 5)).toEqual([9, 9, 9]);
  });

  it('with no separator, frames are adjacent', () => {
    const out = tileImages([tagged(1, 2, 2), tagged(2, 2, 2)], { separator: 0, columns: 1 });
    expect([out.width, out.height]).toEqual([2, 4]);
    expect(pixel(out, 1, 2)).toEqual([2, 0, 1]);
  });

  it('rejects frames of different sizes and bad options, naming them', () => {
    expect(() => tileImages([])).toThrow(/no frames/);
    expect(() => tileImages([tagged(1, 2, 2), tagged(2, 3, 2)])).toThrow(/frame 1 is 3x2, frame 0 is 2x2/);
    expect(() => tileImages([tagged(1, 2, 2)], { scale: 1.5 })).toThrow(/scale/);
    expect(() => tileImages([{ width: 2, height: 2, rgb: new Uint8Array(3) }])).toThrow(/frame 0: expected 12 bytes/);
  });
});
