import { PNG } from 'pngjs';
import { writeFileAtomic } from '../core/atomic_write.ts';
import { assertRgbImage, type RgbImage } from './rgb_image.ts';

/** Encodes an RGB image as an 8-bit RGB PNG (no alpha channel: camera images have none). */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Buffer {
  assertRgbImage({ rgb, width, height }, 'encodeRgbPng');
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
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
