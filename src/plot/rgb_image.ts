/**
 * An RGB image as every plot function takes and returns it: H*W*3 uint8, row-major, row 0 at
 * the top. `CameraFrame` from `src/core/observation.ts` is one, so frames go in directly.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** An RGB colour, 0..255 per channel. */
export type Rgb = readonly [number, number, number];

/** Checks that `rgb` holds width*height*3 bytes; `what` names the image in the error. */
export function assertRgbImage(image: RgbImage, what: string): void {
  const { width, height, rgb } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`${what}: expected ${width * height * 3} bytes (${width}x${height}x3), got ${rgb.length}`);
  }
}
