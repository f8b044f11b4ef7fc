/** The error-bounded saliency region over the image. */
import { OptionError } from '../errors.js';
import { blend, imageCanvas, rgbOf, toPng, unitInterval, type RenderImage, type RenderOptions } from './common.js';

export interface MaskRenderOptions extends RenderOptions {
  /** Tint of the region. Default [255, 64, 64]. */
  readonly color?: readonly [number, number, number];
  /** Opacity of the tint inside the region. Default 0.4. */
  readonly alpha?: number;
  /** Brightness outside the region. Default 0.3. */
  readonly dim?: number;
}

/**
 * PNG bytes: the image upscaled by `scale`; pixels inside the region (mask != 0) blended with `color` at
 * opacity `alpha`, pixels outside multiplied by `dim` (rounded). `mask` is H x W, row-major (a
 * `SaliencyResult.mask`).
 */
export function renderMask(image: RenderImage, mask: ArrayLike<number>, options: MaskRenderOptions = {}): Uint8Array {
  const canvas = imageCanvas(image, options);
  if (mask.length !== image.height * image.width) throw new OptionError(`mask: expected ${image.height * image.width} values (the image's height x width), got ${mask.length}`);
  const color = rgbOf(options.color ?? [255, 64, 64], 'color');
  const alpha = unitInterval(options.alpha ?? 0.4, 'alpha');
  const dim = unitInterval(options.dim ?? 0.3, 'dim');
  const s = canvas.scale;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const inside = mask[y * image.width + x] !== 0;
      for (let dy = 0; dy < s; dy++) {
        for (let dx = 0; dx < s; dx++) {
          if (inside) blend(canvas, x * s + dx, y * s + dy, color, alpha);
          else {
            const o = ((y * s + dy) * canvas.width + x * s + dx) * 3;
            for (let k = 0; k < 3; k++) canvas.data[o + k] = Math.round(canvas.data[o + k]! * dim);
          }
        }
      }
    }
  }
  return toPng(canvas);
}
