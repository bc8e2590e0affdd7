import { PNG } from 'pngjs';
import { writeFileAtomic } from '../core/atomic_write.ts';
import { assertRgbImage, type RgbImage } from './rgb_image.ts';

/**
 * Encoder settings, measured on flat-shaded renders like the simulator's (Node 20, 2 shared cores):
 * pngjs's default adaptive filter tries all 5 PNG filters on every row; always using Paeth (4) was
 * 2-3x faster and no larger (224x224: ~2.5 ms / 1100 B vs ~6 ms / 1446 B; 96x96: 0.5 ms / 456 B
 * vs 2.3 ms / 506 B). zlib level 6 (zlib's default) instead of pngjs's 9: same size here.
 * Datasets store every camera frame through this, so it is on the recording hot path.
 */
const FILTER_PAETH = 4;
const DEFLATE_LEVEL = 6;

/** Encodes an RGB image as an 8-bit RGB PNG (no alpha channel: camera images have none). */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Buffer {
  assertRgbImage({ rgb, width, height }, 'encodeRgbPng');
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: DEFLATE_LEVEL, filterType: FILTER_PAETH });
}

/** Writes an image (a CameraFrame, a strip, a chart) as PNG, atomically. */
export function writeRgbPng(path: string, image: RgbImage): void {
  writeFileAtomic(path, encodeRgbPng(image.rgb, image.width, image.height));
}

/** Decodes any PNG into RGB (alpha dropped, 16-bit reduced to 8), e.g. for tests and datasets. */
export function decodePngToRgb(png: Uint8Array): RgbImage {
  const decoded = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  const { width, height, data } = decoded; // RGBA, 8 bit per channel after pngjs' conversion
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = data[j]!;
    rgb[i + 1] = data[j + 1]!;
    rgb[i + 2] = data[j + 2]!;
  }
  return { width, height, rgb };
}
