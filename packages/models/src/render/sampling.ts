/** The effective sampling locations drawn over the image: dots sized and coloured by weight. */
import { OptionError } from '../errors.js';
import { blend, colorOf, imageCanvas, rgbOf, toPng, unitInterval, type ColorMapName, type RenderImage, type RenderOptions } from './common.js';

export interface SamplingRenderOptions extends RenderOptions {
  /** Dot radius in output pixels for the smallest and the largest weight. Default [0.5, 1.5] x scale. */
  readonly radius?: readonly [number, number];
  /** Colour map of `weight / max weight`. Default 'hot'. */
  readonly colorMap?: ColorMapName;
  /** Dot opacity. Default 1. */
  readonly alpha?: number;
  /** The image's brightness under the dots (so they stand out). Default 0.6. */
  readonly dim?: number;
  /** Marks this location (e.g. the node's centre) with a cross. */
  readonly marker?: { readonly x: number; readonly y: number };
  /** The marker's colour. Default [0, 255, 0]. */
  readonly markerColor?: readonly [number, number, number];
}

/**
 * PNG bytes: the image (dimmed by `dim`) upscaled by `scale`, with a dot per point at its centre
 * `((x + 0.5) * scale, (y + 0.5) * scale)` (pixel coordinates, as the analyses return them), of radius
 * `r0 + (r1 - r0) * t` and colour `colorMap(t)`, `t = |weight| / max |weight|` (t = 1 for all when every
 * weight is 0); lighter dots are drawn first. A canvas pixel is covered when its centre is within the
 * radius (a dot always covers the pixel it is centred in).
 */
export function renderSamplingLocations(image: RenderImage, points: ReadonlyArray<{ readonly x: number; readonly y: number; readonly weight: number }>, options: SamplingRenderOptions = {}): Uint8Array {
  const canvas = imageCanvas(image, options);
  const s = canvas.scale;
  const dim = unitInterval(options.dim ?? 0.6, 'dim');
  const alpha = unitInterval(options.alpha ?? 1, 'alpha');
  const [r0, r1] = options.radius ?? [0.5 * s, 1.5 * s];
  if (!(r0 >= 0 && r1 >= r0)) throw new OptionError(`radius: expected [r0, r1] with 0 <= r0 <= r1, got [${r0}, ${r1}]`);
  for (let i = 0; i < canvas.data.length; i++) canvas.data[i] = Math.round(canvas.data[i]! * dim);
  const max = points.reduce((m, p) => Math.max(m, Math.abs(p.weight)), 0);
  const sorted = [...points].sort((a, b) => Math.abs(a.weight) - Math.abs(b.weight));
  for (const p of sorted) {
    const t = max > 0 ? Math.abs(p.weight) / max : 1;
    const r = r0 + (r1 - r0) * t;
    const color = colorOf(t, options.colorMap ?? 'hot');
    const cx = (p.x + 0.5) * s;
    const cy = (p.y + 0.5) * s;
    const ix = Math.floor(cx);
    const iy = Math.floor(cy);
    for (let py = Math.floor(cy - r - 1); py <= Math.ceil(cy + r + 1); py++) {
      for (let px = Math.floor(cx - r - 1); px <= Math.ceil(cx + r + 1); px++) {
        const inside = (px + 0.5 - cx) ** 2 + (py + 0.5 - cy) ** 2 <= r * r || (px === ix && py === iy);
        if (inside) blend(canvas, px, py, color, alpha);
      }
    }
  }
  if (options.marker) {
    const color = rgbOf(options.markerColor ?? [0, 255, 0], 'markerColor');
    const cx = Math.floor((options.marker.x + 0.5) * s);
    const cy = Math.floor((options.marker.y + 0.5) * s);
    for (let d = -s; d <= s; d++) {
      blend(canvas, cx + d, cy, color, 1);
      blend(canvas, cx, cy + d, color, 1);
    }
  }
  return toPng(canvas);
}
