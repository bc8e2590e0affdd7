import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { decodePngToRgb, encodeRgbPng, writeRgbPng } from '../../src/plot/png.ts';
import { depthToRgb, segmentationColour, segmentationToRgb, turbo } from '../../src/plot/colormap.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowsteer-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic pseudo-random bytes (every value 0..255 appears). */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('encodeRgbPng', () => {
  it.each([
    [1, 1],
    [7, 3],
    [64, 64],
  ])('round-trips %ix%i RGB through pngjs', (w, h) => {
    const rgb = noise(w * h * 3);
    const png = encodeRgbPng(rgb, w, h);
    expect([...png.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]); // PNG signature
    const decoded = PNG.sync.read(png);
    expect(decoded.width).toBe(w);
    expect(decoded.height).toBe(h);
    expect(decoded.colorType).toBe(2); // RGB, no alpha stored
    const back = decodePngToRgb(png);
    expect(Buffer.from(back.rgb).equals(Buffer.from(rgb))).toBe(true);
  });

  it('encodes a view into a larger buffer by its own bytes only', () => {
    const big = noise(100);
    const view = big.subarray(10, 10 + 2 * 2 * 3);
    expect(Buffer.from(decodePngToRgb(encodeRgbPng(view, 2, 2)).rgb).equals(Buffer.from(view))).toBe(true);
  });

  it('rejects a buffer of the wrong size, naming the expected size', () => {
    expect(() => encodeRgbPng(new Uint8Array(10), 2, 2)).toThrow(/expected 12 bytes/);
  });

  it('writeRgbPng writes a decodable file', () => {
    const path = join(dir, 'sub', 'frame.png');
    const rgb = noise(5 * 4 * 3);
    writeRgbPng(path, { width: 5, height: 4, rgb });
    expect(Buffer.from(decodePngToRgb(readFileSync(path)).rgb).equals(Buffer.from(rgb))).toBe(true);
  });
});

describe('colour maps', () => {
  it('depthToRgb: grey is white at near, black at far and beyond, noHit colour for Infinity', () => {
    const depth = new Float32Array([0.5, 1.0, 1.5, 3, Infinity, NaN]);
    const img = depthToRgb(depth, 6, 1, { near: 0.5, far: 1.5, colormap: 'grey', noHit: [1, 2, 3] });
    expect([...img.rgb]).toEqual([255, 255, 255, 128, 128, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 1, 2, 3]);
  });

  it('depthToRgb: turbo runs from red (near) through green to dark (far)', () => {
    const img = depthToRgb(new Float32Array([0, 1]), 2, 1, { near: 0, far: 1 });
    const [nr, ng, nb, fr, fg, fb] = img.rgb;
    expect(nr!).toBeGreaterThan(100);
    expect(nr!).toBeGreaterThan(5 * Math.max(ng!, nb!));
    expect(fr! + fg! + fb!).toBeLessThan(120);
    expect(turbo(0.5)[1]).toBeGreaterThan(200); // green in the middle
    expect(turbo(0.15)[2]).toBeGreaterThan(200); // blue on the far side
  });

  it('segmentationToRgb: the same id always gets the same colour, -1 is black, neighbours differ', () => {
    const img = segmentationToRgb(new Int32Array([-1, 0, 1, 2, 0]), 5, 1);
    expect([...img.rgb.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect([...img.rgb.subarray(3, 6)]).toEqual([...img.rgb.subarray(12, 15)]);
    expect([...img.rgb.subarray(3, 6)]).toEqual([...segmentationColour(0)]);
    for (let id = 0; id < 50; id++) {
      const a = segmentationColour(id);
      const b = segmentationColour(id + 1);
      expect(Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2])).toBeGreaterThan(60);
    }
  });
});
