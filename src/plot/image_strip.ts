import { assertRgbImage, type Rgb, type RgbImage } from './rgb_image.ts';

export interface ImageStripOptions {
  /** Frames per row; the grid has ceil(n / columns) rows. @default all frames in one row */
  columns?: number;
  /** Integer nearest-neighbour scale-up, so that 64x64 camera frames are viewable. @default 1 */
  scale?: number;
  /** Separator width in output pixels between cells (0 for none). @default 1 */
  separator?: number;
  /** Colour of separators and of empty cells in the last row. @default [255, 255, 255] */
  separatorColour?: Rgb;
}

/**
 * Tiles equal-size frames into a grid, row-major (frame k in row floor(k / columns), column
 * k % columns), e.g. one episode's frames over time, or every camera of one step.
 * Output size: width = columns*W*scale + (columns-1)*separator, likewise for height.
 */
export function tileImages(frames: readonly RgbImage[], options: ImageStripOptions = {}): RgbImage {
  const first = frames[0];
  if (!first) throw new RangeError('tileImages: no frames');
  const { columns = frames.length, scale = 1, separator = 1, separatorColour = [255, 255, 255] } = options;
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`tileImages: columns must be a positive integer, got ${columns}`);
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`tileImages: scale must be a positive integer, got ${scale}`);
  if (!Number.isInteger(separator) || separator < 0) throw new RangeError(`tileImages: separator must be a non-negative integer, got ${separator}`);
  const { width: fw, height: fh } = first;
  frames.forEach((f, k) => {
    assertRgbImage(f, `tileImages: frame ${k}`);
    if (f.width !== fw || f.height !== fh) throw new RangeError(`tileImages: frame ${k} is ${f.width}x${f.height}, frame 0 is ${fw}x${fh}; frames must have equal size`);
  });

  const cols = Math.min(columns, frames.length);
  const rows = Math.ceil(frames.length / cols);
  const cellW = fw * scale;
  const cellH = fh * scale;
  const width = cols * cellW + (cols - 1) * separator;
  const height = rows * cellH + (rows - 1) * separator;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = separatorColour[0];
    rgb[i + 1] = separatorColour[1];
    rgb[i + 2] = separatorColour[2];
  }

  frames.forEach((f, k) => {
    const x0 = (k % cols) * (cellW + separator);
    const y0 = Math.floor(k / cols) * (cellH + separator);
    for (let y = 0; y < cellH; y++) {
      const srcRow = Math.floor(y / scale) * fw;
      let o = ((y0 + y) * width + x0) * 3;
      for (let x = 0; x < cellW; x++, o += 3) {
        const s = (srcRow + Math.floor(x / scale)) * 3;
        rgb[o] = f.rgb[s]!;
        rgb[o + 1] = f.rgb[s + 1]!;
        rgb[o + 2] = f.rgb[s + 2]!;
      }
    }
  });
  return { width, height, rgb };
}
