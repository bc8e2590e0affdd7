import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { renderLineChart } from '../../src/plot/line_chart.ts';
import { encodeRgbPng } from '../../src/plot/png.ts';
import type { RgbImage } from '../../src/plot/rgb_image.ts';

function pixel(img: RgbImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [...img.rgb.subarray(o, o + 3)];
}

const RED = [220, 20, 20] as const;
const BLUE = [20, 20, 220] as const;

describe('renderLineChart', () => {
  const loss = Array.from({ length: 100 }, (_, i) => 2 * Math.exp(-i / 25) + 0.1);
  const chart = renderLineChart({
    title: 'Loss',
    xLabel: 'step',
    yLabel: 'loss',
    series: [
      { name: 'train', y: loss, colour: RED },
      { name: 'val', x: [0, 50, 99], y: [2.2, 0.5, 0.3], colour: BLUE },
    ],
  });

  it('encodes to a valid PNG of the requested size', () => {
    const png = PNG.sync.read(encodeRgbPng(chart.rgb, chart.width, chart.height));
    expect([png.width, png.height]).toEqual([640, 400]);
  });

  it('draws every data point of every series in its colour', () => {
    loss.forEach((y, i) => expect(pixel(chart, ...chart.toPixel(i, y)!), `train[${i}]`).toEqual([...RED]));
    // The val series is drawn after train, so its vertices are never covered.
    for (const [x, y] of [
      [0, 2.2],
      [50, 0.5],
      [99, 0.3],
    ] as const) {
      expect(pixel(chart, ...chart.toPixel(x, y)!)).toEqual([...BLUE]);
    }
  });

  it('maps the data into the plot area, larger y higher up', () => {
    const { left, right, top, bottom } = chart.plotArea;
    const [x0, yHigh] = chart.toPixel(0, loss[0]!)!;
    const [x1, yLow] = chart.toPixel(99, loss[99]!)!;
    expect(x0).toBe(left);
    expect(x1).toBe(right - 1);
    expect(yHigh).toBeLessThan(yLow);
    expect(yHigh).toBeGreaterThanOrEqual(top);
    expect(yLow).toBeLessThan(bottom);
  });

  it('draws text (title, labels, legend) outside the plot area', () => {
    const { top } = chart.plotArea;
    let ink = 0;
    for (let y = 0; y < top - 1; y++) for (let x = 0; x < chart.width; x++) if (pixel(chart, x, y)[0]! < 128) ink++;
    expect(ink).toBeGreaterThan(50); // title and y label
  });

  it('leaves gaps at NaN and, on a log axis, at values <= 0', () => {
    const c = renderLineChart({ series: [{ name: 'a', y: [1, NaN, 3, 4], colour: RED }], width: 300, height: 200 });
    const [xa, ya] = c.toPixel(0, 1)!;
    const [xb, yb] = c.toPixel(2, 3)!;
    const mid = pixel(c, Math.round((xa + xb) / 2), Math.round((ya + yb) / 2));
    expect(mid).not.toEqual([...RED]);
    const log = renderLineChart({ series: [{ name: 'a', y: [1, 0.1, 0, 0.001], colour: RED }], logY: true, width: 300, height: 200 });
    expect(log.toPixel(2, 0)).toBeNull();
    const [, y1] = log.toPixel(0, 1)!;
    const [, y01] = log.toPixel(1, 0.1)!;
    const [, y0001] = log.toPixel(3, 0.001)!;
    expect(y01 - y1).toBeCloseTo((y0001 - y1) / 3, -0.5); // decades are evenly spaced (to a pixel)
  });

  it('gives the same bytes for the same input', () => {
    const again = renderLineChart({
      title: 'Loss',
      xLabel: 'step',
      yLabel: 'loss',
      series: [
        { name: 'train', y: loss, colour: RED },
        { name: 'val', x: [0, 50, 99], y: [2.2, 0.5, 0.3], colour: BLUE },
      ],
    });
    expect(Buffer.from(again.rgb).equals(Buffer.from(chart.rgb))).toBe(true);
  });

  it('rejects mismatched x and y lengths, naming the series', () => {
    expect(() => renderLineChart({ series: [{ name: 'sr', x: [0, 1], y: [1] }] })).toThrow(/series "sr"/);
  });
});
