/**
 * Composition of the figure (platform-free): RGB images, decoding the renderers' PNGs into them, a grid
 * of equally sized tiles with gaps, column and row labels in a tiny built-in 5×7 bitmap font, and PNG
 * encoding (fast-png; no canvas, no DOM).
 */
import { decode, encode } from 'fast-png';
import { OptionError } from '../errors.js';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export type Rgb = readonly [number, number, number];

/** A `width` × `height` image filled with `color`. */
export function rgbImage(width: number, height: number, color: Rgb = [255, 255, 255]): RgbImage {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new OptionError(`rgbImage: expected positive integer width and height, got ${width} x ${height}`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(color, i * 3);
  return { width, height, data };
}

/** PNG bytes (8-bit grey, grey + alpha, RGB or RGBA; alpha composited over white) as an RGB image. */
export function decodeRgb(png: Uint8Array): RgbImage {
  const d = decode(png);
  if (d.depth !== 8) throw new OptionError(`decodeRgb: expected an 8-bit PNG, got depth ${d.depth}`);
  if (d.palette !== undefined) throw new OptionError('decodeRgb: palette PNGs are not supported');
  const c = d.channels;
  const src = d.data;
  const out = new Uint8Array(d.width * d.height * 3);
  for (let i = 0; i < d.width * d.height; i++) {
    const grey = c <= 2;
    const a = c === 2 || c === 4 ? src[i * c + c - 1]! / 255 : 1;
    for (let k = 0; k < 3; k++) {
      const v = src[i * c + (grey ? 0 : k)]!;
      out[i * 3 + k] = Math.round(a * v + (1 - a) * 255);
    }
  }
  return { width: d.width, height: d.height, data: out };
}

/** The image as PNG bytes (8-bit RGB). */
export function encodeRgb(image: RgbImage): Uint8Array {
  return encode({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 });
}

/** Copies `src` into `dst` with its top-left corner at (x, y); what falls outside `dst` is clipped. */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const sx0 = Math.max(0, -x);
    const sx1 = Math.min(src.width, dst.width - x);
    if (sx1 <= sx0) continue;
    dst.data.set(src.data.subarray((sy * src.width + sx0) * 3, (sy * src.width + sx1) * 3), (dy * dst.width + x + sx0) * 3);
  }
}

// A 5×7 font: each glyph 7 rows of 5 bits (bit 4 = leftmost column). Upper case only; lower case is drawn
// as upper case.
const GLYPHS: Readonly<Record<string, readonly number[]>> = {
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  D: [0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
  H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
  R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04],
  Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '.': [0, 0, 0, 0, 0, 0x0c, 0x0c],
  ',': [0, 0, 0, 0, 0x0c, 0x04, 0x08],
  ':': [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
  '-': [0, 0, 0, 0x1f, 0, 0, 0],
  '/': [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
  '%': [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
  '(': [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
  ')': [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
  '=': [0, 0, 0x1f, 0, 0x1f, 0, 0],
  '?': [0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
};

/** Glyph cell: 5 columns and 1 of spacing, 7 rows. */
export const FONT_WIDTH = 6;
export const FONT_HEIGHT = 7;

/** Width in pixels of `text` drawn at `scale` (the last glyph's spacing column not counted). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * FONT_WIDTH - 1) * scale;
}

/**
 * Draws `text` with its top-left corner at (x, y), each font pixel a `scale` × `scale` square of `color`.
 * Letters are drawn upper case; a character the font lacks is drawn as '?'. Clipped at the image's edges.
 */
export function drawText(image: RgbImage, x: number, y: number, text: string, color: Rgb = [0, 0, 0], scale = 1): void {
  if (!Number.isInteger(scale) || scale < 1) throw new OptionError(`drawText: scale must be a positive integer, got ${scale}`);
  [...text.toUpperCase()].forEach((ch, i) => {
    const rows = GLYPHS[ch] ?? GLYPHS['?']!;
    for (let r = 0; r < FONT_HEIGHT; r++) {
      for (let c = 0; c < 5; c++) {
        if (((rows[r]! >> (4 - c)) & 1) === 0) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x + (i * FONT_WIDTH + c) * scale + dx;
            const py = y + r * scale + dy;
            if (px >= 0 && py >= 0 && px < image.width && py < image.height) image.data.set(color, (py * image.width + px) * 3);
          }
        }
      }
    }
  });
}

export interface GridOptions {
  /** Pixels between tiles and around the grid. Default 4. */
  readonly gap?: number;
  readonly background?: Rgb;
  /** One label per column, centred above it. */
  readonly columnLabels?: readonly string[];
  /** One label per row, left of it, vertically centred. */
  readonly rowLabels?: readonly string[];
  /** A line of text above everything, left-aligned. */
  readonly title?: string;
  /** Font scale of labels and title. Default 1. */
  readonly textScale?: number;
  readonly textColor?: Rgb;
}

/** Where `composeGrid` put things, for tests and callers that draw more. */
export interface GridLayout {
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Left edge of each column's tiles. */
  readonly columnX: readonly number[];
  /** Top edge of each row's tiles. */
  readonly rowY: readonly number[];
}

/**
 * The tiles (`tiles[row][column]`, all the same size, every row as long) on a background: the title (if
 * any) on top, then the column labels, then the rows, each with its label on the left; `gap` pixels
 * between and around everything. Returns the image and where each row and column starts.
 */
export function composeGrid(tiles: ReadonlyArray<ReadonlyArray<RgbImage>>, options: GridOptions = {}): { image: RgbImage; layout: GridLayout } {
  const rows = tiles.length;
  const cols = tiles[0]?.length ?? 0;
  if (rows === 0 || cols === 0) throw new OptionError('composeGrid: expected at least one row and one column of tiles');
  const tw = tiles[0]![0]!.width;
  const th = tiles[0]![0]!.height;
  for (const [r, row] of tiles.entries()) {
    if (row.length !== cols) throw new OptionError(`composeGrid: row ${r} has ${row.length} tiles, row 0 has ${cols}`);
    for (const [c, t] of row.entries()) {
      if (t.width !== tw || t.height !== th) throw new OptionError(`composeGrid: tile [${r}][${c}] is ${t.width} x ${t.height}, tile [0][0] is ${tw} x ${th}`);
    }
  }
  const gap = options.gap ?? 4;
  const s = options.textScale ?? 1;
  if (!Number.isInteger(gap) || gap < 0) throw new OptionError(`composeGrid: gap must be a non-negative integer, got ${gap}`);
  const { columnLabels, rowLabels, title } = options;
  if (columnLabels !== undefined && columnLabels.length !== cols) throw new OptionError(`composeGrid: ${columnLabels.length} column labels for ${cols} columns`);
  if (rowLabels !== undefined && rowLabels.length !== rows) throw new OptionError(`composeGrid: ${rowLabels.length} row labels for ${rows} rows`);
  const lineH = FONT_HEIGHT * s;
  const titleH = title ? lineH + gap : 0;
  const headH = columnLabels ? lineH + gap : 0;
  const labelW = rowLabels ? Math.max(...rowLabels.map((l) => textWidth(l, s))) + gap : 0;
  const columnX = Array.from({ length: cols }, (_, c) => gap + labelW + c * (tw + gap));
  const rowY = Array.from({ length: rows }, (_, r) => gap + titleH + headH + r * (th + gap));
  const width = Math.max(gap + labelW + cols * (tw + gap), title ? gap + textWidth(title, s) + gap : 0);
  const height = gap + titleH + headH + rows * (th + gap);
  const image = rgbImage(width, height, options.background ?? [255, 255, 255]);
  const ink = options.textColor ?? [0, 0, 0];
  if (title) drawText(image, gap, gap, title, ink, s);
  columnLabels?.forEach((l, c) => drawText(image, columnX[c]! + Math.floor((tw - textWidth(l, s)) / 2), gap + titleH, l, ink, s));
  rowLabels?.forEach((l, r) => drawText(image, gap, rowY[r]! + Math.floor((th - lineH) / 2), l, ink, s));
  tiles.forEach((row, r) => row.forEach((t, c) => blit(image, t, columnX[c]!, rowY[r]!)));
  return { image, layout: { tileWidth: tw, tileHeight: th, columnX, rowY } };
}
