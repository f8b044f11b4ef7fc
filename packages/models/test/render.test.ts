/**
 * The PNG renderers (src/render): each returns PNG bytes that fast-png decodes to the upscaled size, with
 * pixel values computed here from the documented blending rules; typed errors for bad options.
 */
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { OptionError, colorOf, renderHeatmap, renderMask, renderSamplingLocations } from '../src/index.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// A 4 x 3 grey image: value (y * 3 + x) / 11.
const img = { data: Float32Array.from({ length: 12 }, (_, i) => i / 11), height: 4, width: 3 };
const grey = (y: number, x: number) => Math.round(((y * 3 + x) / 11) * 255);

function pixel(png: Uint8Array, px: number, py: number): number[] {
  const d = decode(png);
  const o = (py * d.width + px) * d.channels;
  return [...d.data.slice(o, o + d.channels)];
}

describe('colorOf', () => {
  it('anchors and interpolation', () => {
    expect(colorOf(0)).toEqual([68, 1, 84]);
    expect(colorOf(1)).toEqual([253, 231, 37]);
    expect(colorOf(2)).toEqual([253, 231, 37]);
    expect(colorOf(0, 'hot')).toEqual([0, 0, 0]);
    expect(colorOf(0.5, 'hot')).toEqual([255, 128, 0]);
    expect(colorOf(1, 'hot')).toEqual([255, 255, 255]);
    expect(() => colorOf(0.5, 'jet' as never)).toThrow(OptionError);
  });
});

describe('renderHeatmap', () => {
  it('decodes to the upscaled size; pixels blend the image with the colour of |h| / max |h|', () => {
    const heat = new Float32Array(12);
    heat[1 * 3 + 2] = 2;
    heat[3 * 3 + 0] = -1;
    const png = renderHeatmap(img, heat, { scale: 2, alpha: 0.5 });
    expect([...png.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    const d = decode(png);
    expect([d.width, d.height, d.channels, d.depth]).toEqual([6, 8, 3, 8]);
    const mix = (g: number, c: [number, number, number]) => c.map((v) => Math.round(0.5 * g + 0.5 * v));
    expect(pixel(png, 5, 3)).toEqual(mix(grey(1, 2), colorOf(1))); // h = 2: the maximum
    expect(pixel(png, 4, 2)).toEqual(mix(grey(1, 2), colorOf(1))); // same image pixel, other canvas pixel
    expect(pixel(png, 0, 7)).toEqual(mix(grey(3, 0), colorOf(0.5))); // |-1| / 2
    expect(pixel(png, 2, 0)).toEqual(mix(grey(0, 1), colorOf(0))); // h = 0
  });

  it('alpha 0 gives the grey image; refuses a heatmap of the wrong size and a bad scale', () => {
    const png = renderHeatmap(img, new Float32Array(12).fill(1), { scale: 1, alpha: 0 });
    for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++) expect(pixel(png, x, y)).toEqual([grey(y, x), grey(y, x), grey(y, x)]);
    expect(() => renderHeatmap(img, new Float32Array(11))).toThrow(OptionError);
    expect(() => renderHeatmap(img, new Float32Array(12), { scale: 0 })).toThrow(OptionError);
    expect(() => renderHeatmap(img, new Float32Array(12), { alpha: 2 })).toThrow(OptionError);
  });
});

describe('renderMask', () => {
  it('tints the region and dims the rest', () => {
    const mask = new Uint8Array(12);
    mask[2 * 3 + 1] = 1;
    const png = renderMask(img, mask, { scale: 3, color: [255, 0, 0], alpha: 0.5, dim: 0.5 });
    const d = decode(png);
    expect([d.width, d.height]).toEqual([9, 12]);
    const g = grey(2, 1);
    expect(pixel(png, 4, 7)).toEqual([Math.round(0.5 * g + 127.5), Math.round(0.5 * g), Math.round(0.5 * g)]);
    expect(pixel(png, 8, 11)).toEqual(Array(3).fill(Math.round(grey(3, 2) * 0.5)));
    expect(() => renderMask(img, mask, { color: [256, 0, 0] })).toThrow(OptionError);
  });

  it('RGB images and a value range', () => {
    const rgb = { data: Float32Array.from([-1, 0, 1, 1, 1, 1]), height: 1, width: 2, channels: 3 };
    const png = renderMask(rgb, [1, 0], { scale: 1, alpha: 0, dim: 1, range: [-1, 1] });
    expect(pixel(png, 0, 0)).toEqual([0, 128, 255]);
    expect(pixel(png, 1, 0)).toEqual([255, 255, 255]);
  });
});

describe('renderSamplingLocations', () => {
  it('dots at (x + 0.5, y + 0.5) * scale, coloured and sized by weight; the rest dimmed; a marker', () => {
    const points = [
      { x: 1, y: 2, weight: 4 },
      { x: 0, y: 0, weight: 2 },
    ];
    const png = renderSamplingLocations(img, points, { scale: 4, dim: 0.5, radius: [1, 2], marker: { x: 2, y: 3 } });
    const d = decode(png);
    expect([d.width, d.height]).toEqual([12, 16]);
    expect(pixel(png, 6, 10)).toEqual(colorOf(1, 'hot')); // centre of (1, 2): white
    expect(pixel(png, 7, 10)).toEqual(colorOf(1, 'hot')); // centre (7.5, 10.5) within radius 2 of (6, 10)
    expect(pixel(png, 7, 11)).toEqual(Array(3).fill(Math.round(grey(2, 1) * 0.5))); // (7.5, 11.5): 2.12 away
    expect(pixel(png, 2, 2)).toEqual(colorOf(0.5, 'hot')); // centre of (0, 0), weight 2 / 4
    expect(pixel(png, 0, 0)).toEqual(Array(3).fill(Math.round(grey(0, 0) * 0.5))); // outside radius 1.5
    expect(pixel(png, 10, 6)).toEqual(Array(3).fill(Math.round(grey(1, 2) * 0.5)));
    expect(pixel(png, 10, 14)).toEqual([0, 255, 0]); // the marker's centre, (2 + 0.5) * 4, (3 + 0.5) * 4
    expect(() => renderSamplingLocations(img, points, { radius: [2, 1] })).toThrow(OptionError);
  });

  it('fractional locations and no points', () => {
    const png = renderSamplingLocations(img, [{ x: 0.75, y: 1.25, weight: 0 }], { scale: 2, radius: [0, 0], dim: 1 });
    expect(pixel(png, 2, 3)).toEqual(colorOf(1, 'hot')); // all weights 0: t = 1; (0.75 + 0.5) * 2 = 2.5, (1.25 + 0.5) * 2 = 3.5
    const none = renderSamplingLocations(img, [], { scale: 1, dim: 1 });
    expect(pixel(none, 2, 3)).toEqual([grey(3, 2), grey(3, 2), grey(3, 2)]);
  });
});
