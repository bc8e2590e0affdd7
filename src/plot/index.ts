export type { RgbImage, Rgb } from './rgb_image.ts';
export { encodeRgbPng, writeRgbPng, decodePngToRgb } from './png.ts';
export { depthToRgb, segmentationToRgb, segmentationColour, turbo, type DepthToRgbOptions } from './colormap.ts';
export { tileImages, type ImageStripOptions } from './image_strip.ts';
export { renderLineChart, type LineChart, type LineChartOptions, type LineSeries } from './line_chart.ts';
export { RgbCanvas } from './canvas.ts';
