/** The effective receptive field as a colour-mapped heatmap over the image. */
import { OptionError } from '../errors.js';
import { blend, colorOf, imageCanvas, toPng, unitInterval, type ColorMapName, type RenderImage, type RenderOptions } from './common.js';

export interface HeatmapRenderOptions extends RenderOptions {
  /** Opacity of the heatmap over the image. Default 0.6. */
  readonly alpha?: number;
  /** Default 'viridis'. */
  readonly colorMap?: ColorMapName;
}

/**
 * PNG bytes: the image upscaled by `scale`, each pixel blended with `colorMap(|h| / max |h|)` at opacity
 * `alpha` (`out = (1 - alpha) * image + alpha * colour`, rounded); an all-zero heatmap maps to t = 0.
 * `heatmap` is H x W, row-major, the image's size (an `ErfResult.heatmap`).
 */
export function renderHeatmap(image: RenderImage, heatmap: ArrayLike<number>, options: HeatmapRenderOptions = {}): Uint8Array {
  const canvas = imageCanvas(image, options);
  if (heatmap.length !== image.height * image.width) throw new OptionError(`heatmap: expected ${image.height * image.width} values (the image's height x width), got ${heatmap.length}`);
  const alpha = unitInterval(options.alpha ?? 0.6, 'alpha');
  let max = 0;
  for (let i = 0; i < heatmap.length; i++) max = Math.max(max, Math.abs(heatmap[i]!));
  const s = canvas.scale;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const color = colorOf(max > 0 ? Math.abs(heatmap[y * image.width + x]!) / max : 0, options.colorMap ?? 'viridis');
      for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) blend(canvas, x * s + dx, y * s + dy, color, alpha);
    }
  }
  return toPng(canvas);
}
