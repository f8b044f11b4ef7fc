/**
 * What the PNG renderers share: the image as an RGB canvas (upscaled by an integer factor, nearest
 * neighbour), colour maps, blending and PNG encoding with fast-png (platform-free: no canvas, no DOM).
 */
import { encode } from 'fast-png';
import { OptionError } from '../errors.js';

/** An image to draw on: values row-major HWC, 1 channel (grey) or 3 (RGB), mapped from `range` to 0..255. */
export interface RenderImage {
  readonly data: ArrayLike<number>;
  readonly height: number;
  readonly width: number;
  /** 1 (default) or 3. */
  readonly channels?: number;
}

export interface RenderOptions {
  /** Integer upscaling factor of the output (each image pixel becomes scale x scale). Default 4. */
  readonly scale?: number;
  /** The image values mapped to black and white. Default [0, 1]; values outside are clamped. */
  readonly range?: readonly [number, number];
}

/** Colour maps by name: 'viridis' (default; dark blue to yellow) and 'hot' (black, red, yellow, white). */
export type ColorMapName = 'viridis' | 'hot';

const MAPS: Record<ColorMapName, ReadonlyArray<readonly [number, number, number]>> = {
  // viridis at t = 0, 1/8, ..., 1 (matplotlib's values, rounded).
  viridis: [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]],
  hot: [[0, 0, 0], [255, 0, 0], [255, 255, 0], [255, 255, 255]],
};

/** The colour of `t` in [0, 1] (clamped) under a map: linear between its evenly spaced anchors, rounded. */
export function colorOf(t: number, map: ColorMapName = 'viridis'): [number, number, number] {
  const anchors = MAPS[map];
  if (anchors === undefined) throw new OptionError(`colorMap: expected 'viridis' or 'hot', got ${String(map)}`);
  const u = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (anchors.length - 1);
  const i = Math.min(Math.floor(u), anchors.length - 2);
  const f = u - i;
  const a = anchors[i]!;
  const b = anchors[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + f * (b[c]! - a[c]!))) as [number, number, number];
}

/** An RGB canvas (`data` row-major, 3 bytes per pixel). */
export interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly scale: number;
  readonly data: Uint8Array;
}

export function scaleOf(options: RenderOptions): number {
  const scale = options.scale ?? 4;
  if (!Number.isInteger(scale) || scale < 1 || scale > 64) throw new OptionError(`scale: expected an integer in [1, 64], got ${scale}`);
  return scale;
}

/** The image upscaled by `scale` (nearest neighbour) as an RGB canvas. */
export function imageCanvas(image: RenderImage, options: RenderOptions): Canvas {
  const scale = scaleOf(options);
  const { height: h, width: w } = image;
  const c = image.channels ?? 1;
  if (!Number.isInteger(h) || h < 1 || !Number.isInteger(w) || w < 1) throw new OptionError(`image: expected positive integer height and width, got ${h} x ${w}`);
  if (c !== 1 && c !== 3) throw new OptionError(`image.channels: expected 1 or 3, got ${c}`);
  if (image.data.length !== h * w * c) throw new OptionError(`image.data: expected ${h * w * c} values, got ${image.data.length}`);
  const [lo, hi] = options.range ?? [0, 1];
  if (!(hi > lo)) throw new OptionError(`range: expected [lo, hi] with hi > lo, got [${lo}, ${hi}]`);
  const byte = (v: number) => Math.round(Math.min(Math.max((v - lo) / (hi - lo), 0), 1) * 255);
  const W = w * scale;
  const H = h * scale;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const rgb = c === 1 ? [byte(image.data[p]!), byte(image.data[p]!), byte(image.data[p]!)] : [0, 1, 2].map((k) => byte(image.data[p * 3 + k]!));
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const o = ((y * scale + dy) * W + x * scale + dx) * 3;
          data[o] = rgb[0]!;
          data[o + 1] = rgb[1]!;
          data[o + 2] = rgb[2]!;
        }
      }
    }
  }
  return { width: W, height: H, scale, data };
}

/** Blends `color` over the canvas pixel (px, py) with opacity `alpha`, rounding. Outside: nothing. */
export function blend(canvas: Canvas, px: number, py: number, color: readonly [number, number, number], alpha: number): void {
  if (px < 0 || py < 0 || px >= canvas.width || py >= canvas.height) return;
  const o = (py * canvas.width + px) * 3;
  for (let k = 0; k < 3; k++) canvas.data[o + k] = Math.round((1 - alpha) * canvas.data[o + k]! + alpha * color[k]!);
}

/** The canvas as PNG bytes (8-bit RGB). */
export function toPng(canvas: Canvas): Uint8Array {
  return encode({ width: canvas.width, height: canvas.height, data: canvas.data, channels: 3, depth: 8 });
}

export function unitInterval(v: number, name: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new OptionError(`${name}: expected a number in [0, 1], got ${String(v)}`);
  return v;
}

export function rgbOf(v: unknown, name: string): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) throw new OptionError(`${name}: expected [r, g, b] of integers in 0..255, got ${JSON.stringify(v)}`);
  return [v[0], v[1], v[2]];
}
