import { GLYPH_ADVANCE, GLYPH_WIDTH, glyphFor } from './font5x7.ts';
import type { Rgb, RgbImage } from './rgb_image.ts';

/**
 * A minimal RGB raster with the few primitives charts need (rectangles, thick lines, bitmap
 * text), all integer arithmetic so the same input gives the same bytes everywhere.
 * Drawing outside the image, or outside the clip rectangle when one is set, is dropped.
 */
export class RgbCanvas implements RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  #clip = { x0: 0, y0: 0, x1: 0, y1: 0 }; // inclusive-exclusive

  constructor(width: number, height: number, background: Rgb) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new RangeError(`RgbCanvas: width and height must be positive integers, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.rgb = new Uint8Array(width * height * 3);
    this.clearClip();
    this.fillRect(0, 0, width, height, background);
  }

  /** Restricts drawing to [x0, x1) x [y0, y1) (intersected with the image). */
  setClip(x0: number, y0: number, x1: number, y1: number): void {
    this.#clip = { x0: Math.max(0, x0), y0: Math.max(0, y0), x1: Math.min(this.width, x1), y1: Math.min(this.height, y1) };
  }

  clearClip(): void {
    this.#clip = { x0: 0, y0: 0, x1: this.width, y1: this.height };
  }

  setPixel(x: number, y: number, c: Rgb): void {
    const clip = this.#clip;
    if (x < clip.x0 || y < clip.y0 || x >= clip.x1 || y >= clip.y1) return;
    const o = (y * this.width + x) * 3;
    this.rgb[o] = c[0];
    this.rgb[o + 1] = c[1];
    this.rgb[o + 2] = c[2];
  }

  /** Fills [x, x+w) x [y, y+h). */
  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) this.setPixel(xx, yy, c);
  }

  /** One-pixel outline of [x, x+w) x [y, y+h). */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.fillRect(x, y, w, 1, c);
    this.fillRect(x, y + h - 1, w, 1, c);
    this.fillRect(x, y, 1, h, c);
    this.fillRect(x + w - 1, y, 1, h, c);
  }

  /**
   * Bresenham line between integer points, stamped with a `thickness` x `thickness` square;
   * both end points are drawn (so a polyline passes through every vertex pixel).
   */
  line(xa: number, ya: number, xb: number, yb: number, c: Rgb, thickness = 1): void {
    let x = Math.round(xa);
    let y = Math.round(ya);
    const x1 = Math.round(xb);
    const y1 = Math.round(yb);
    const dx = Math.abs(x1 - x);
    const dy = -Math.abs(y1 - y);
    const sx = x < x1 ? 1 : -1;
    const sy = y < y1 ? 1 : -1;
    const off = Math.floor((thickness - 1) / 2);
    let err = dx + dy;
    for (;;) {
      this.fillRect(x - off, y - off, thickness, thickness, c);
      if (x === x1 && y === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }

  /** Draws `text` with its top-left corner at (x, y), each font pixel a `scale` x `scale` block. */
  text(x: number, y: number, text: string, c: Rgb, scale = 1): void {
    let cx = x;
    for (const ch of text) {
      const glyph = glyphFor(ch);
      for (let row = 0; row < glyph.length; row++) {
        const bits = glyph[row]!;
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (bits & (1 << (GLYPH_WIDTH - 1 - col))) this.fillRect(cx + col * scale, y + row * scale, scale, scale, c);
        }
      }
      cx += GLYPH_ADVANCE * scale;
    }
  }
}
