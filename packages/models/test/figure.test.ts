/**
 * The figure command (src/figure): the composition on tiny synthetic tiles (sizes, where each tile and
 * label lands, PNG round trips), the ERF mass radius, and the command's `main` on one image with the
 * shipped models (a few seconds here; skipped with a printed reason if it took over 30 s).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { decode, encode } from 'fast-png';
import { describe, expect, it } from 'vitest';

import { OptionError } from '../src/index.js';
import { FONT_HEIGHT, blit, composeGrid, decodeRgb, drawText, encodeRgb, rgbImage, textWidth, type RgbImage } from '../src/figure/compose.js';
import { massRadius } from '../src/figure/figure.js';

const px = (img: RgbImage, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('compose', () => {
  it('rgbImage fills; blit places and clips', () => {
    const dst = rgbImage(5, 4, [10, 20, 30]);
    expect(px(dst, 4, 3)).toEqual([10, 20, 30]);
    const src = rgbImage(2, 2, [200, 0, 0]);
    src.data.set([0, 200, 0], 3); // (1, 0) green
    blit(dst, src, 3, 2);
    expect(px(dst, 3, 2)).toEqual([200, 0, 0]);
    expect(px(dst, 4, 2)).toEqual([0, 200, 0]);
    expect(px(dst, 4, 3)).toEqual([200, 0, 0]);
    expect(px(dst, 2, 2)).toEqual([10, 20, 30]);
    blit(dst, src, -1, -1); // only src (1, 1) lands, at (0, 0)
    expect(px(dst, 0, 0)).toEqual([200, 0, 0]);
    expect(px(dst, 1, 0)).toEqual([10, 20, 30]);
    expect(() => rgbImage(0, 3)).toThrow(OptionError);
  });

  it('decodeRgb reads grey, RGB and RGBA (over white); encodeRgb round-trips', () => {
    const grey = decodeRgb(encode({ width: 2, height: 1, data: new Uint8Array([0, 128]), channels: 1, depth: 8 }));
    expect([grey.width, grey.height, ...grey.data]).toEqual([2, 1, 0, 0, 0, 128, 128, 128]);
    const rgba = decodeRgb(encode({ width: 1, height: 1, data: new Uint8Array([0, 0, 0, 128]), channels: 4, depth: 8 }));
    expect([...rgba.data]).toEqual([127, 127, 127]);
    const img = rgbImage(3, 2, [1, 2, 3]);
    img.data.set([250, 5, 6], 9);
    const back = decodeRgb(encodeRgb(img));
    expect(back).toEqual({ width: 3, height: 2, data: img.data });
    expect(decode(encodeRgb(img)).channels).toBe(3);
  });

  it('drawText draws the 5x7 glyphs at the scale, clipped', () => {
    expect(textWidth('AB')).toBe(11);
    expect(textWidth('AB', 2)).toBe(22);
    expect(textWidth('')).toBe(0);
    const img = rgbImage(12, 9);
    drawText(img, 1, 1, 'T', [255, 0, 0]);
    // 'T': top row all five columns, then the middle column.
    for (let x = 1; x <= 5; x++) expect(px(img, x, 1)).toEqual([255, 0, 0]);
    expect(px(img, 3, 7)).toEqual([255, 0, 0]);
    expect(px(img, 2, 7)).toEqual([255, 255, 255]);
    expect(px(img, 6, 1)).toEqual([255, 255, 255]);
    const big = rgbImage(12, 16);
    drawText(big, 0, 0, 't', [0, 0, 0], 2); // lower case drawn upper case
    expect(px(big, 9, 1)).toEqual([0, 0, 0]);
    expect(px(big, 10, 1)).toEqual([255, 255, 255]);
    expect(px(big, 4, 13)).toEqual([0, 0, 0]);
    drawText(big, 8, 12, 'WW'); // clipped, no throw
    expect(() => drawText(big, 0, 0, 'A', [0, 0, 0], 0)).toThrow(OptionError);
  });

  it('composeGrid: size, tile placement, labels', () => {
    const tile = (v: number): RgbImage => rgbImage(4, 3, [v, v, v]);
    const tiles = [[tile(10), tile(20)], [tile(30), tile(40)], [tile(50), tile(60)]];
    const plain = composeGrid(tiles, { gap: 2, background: [255, 0, 255] });
    expect([plain.image.width, plain.image.height]).toEqual([2 + 2 * (4 + 2), 2 + 3 * (3 + 2)]);
    expect(plain.layout.columnX).toEqual([2, 8]);
    expect(plain.layout.rowY).toEqual([2, 7, 12]);
    expect(px(plain.image, 0, 0)).toEqual([255, 0, 255]);
    expect(px(plain.image, 2, 2)).toEqual([10, 10, 10]);
    expect(px(plain.image, 5, 4)).toEqual([10, 10, 10]);
    expect(px(plain.image, 6, 4)).toEqual([255, 0, 255]);
    expect(px(plain.image, 8, 7)).toEqual([40, 40, 40]);
    expect(px(plain.image, 11, 14)).toEqual([60, 60, 60]);

    const labelled = composeGrid(tiles, { gap: 2, columnLabels: ['A', 'B'], rowLabels: ['X', 'YY', 'Z'], title: 'T' });
    const labelW = textWidth('YY') + 2;
    const top = 2 + (FONT_HEIGHT + 2) * 2; // title line, then the column labels
    expect(labelled.layout.columnX).toEqual([2 + labelW, 2 + labelW + 6]);
    expect(labelled.layout.rowY).toEqual([top, top + 5, top + 10]);
    expect([labelled.image.width, labelled.image.height]).toEqual([2 + labelW + 12, top + 15]);
    expect(px(labelled.image, labelled.layout.columnX[1]!, labelled.layout.rowY[2]!)).toEqual([60, 60, 60]);
    // The title 'T' at (gap, gap): its top row is ink.
    expect(px(labelled.image, 2, 2)).toEqual([0, 0, 0]);
    // Some ink in each column label's line and each row label's area.
    const ink = (x0: number, y0: number, x1: number, y1: number) => {
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (px(labelled.image, x, y)[0] === 0) return true;
      return false;
    };
    expect(ink(labelled.layout.columnX[0]!, 2 + FONT_HEIGHT + 2, labelled.layout.columnX[0]! + 4, top)).toBe(true);
    expect(ink(2, labelled.layout.rowY[1]!, 2 + labelW, labelled.layout.rowY[1]! + 3)).toBe(true);

    expect(() => composeGrid([])).toThrow(OptionError);
    expect(() => composeGrid([[tile(1)], [tile(1), tile(2)]])).toThrow(OptionError);
    expect(() => composeGrid([[tile(1), rgbImage(3, 3)]])).toThrow(OptionError);
    expect(() => composeGrid([[tile(1)]], { columnLabels: ['a', 'b'] })).toThrow(OptionError);
  });
});

describe('massRadius', () => {
  it('the smallest disc around the centre holding the fraction of |map|', () => {
    const map = new Float32Array(25);
    map[12] = 2; // centre (2, 2)
    map[2 * 5 + 4] = -1; // (2, 4): distance 2
    map[0] = 1; // (0, 0): distance 2.83
    expect(massRadius(map, 5, 5, 2, 2, 0.5)).toBe(0);
    expect(massRadius(map, 5, 5, 2, 2, 0.75)).toBe(2);
    expect(massRadius(map, 5, 5, 2, 2, 0.9)).toBeCloseTo(Math.SQRT2 * 2, 6);
    expect(massRadius(new Float32Array(4), 2, 2, 0, 0, 0.5)).toBe(0);
  });
});

describe('the figure command', () => {
  it('main renders one image with the shipped models (skipped if over 30 s here)', async () => {
    const { main } = await import('../src/figure/cli.js');
    const out = await mkdtemp(join(tmpdir(), 'dcnv2-figure-'));
    try {
      const t0 = performance.now();
      const summary = await main({ images: 1, seed: 1, out, log: false });
      const seconds = (performance.now() - t0) / 1000;
      if (seconds > 30) {
        console.log(`figure command test: skipped, main took ${seconds.toFixed(1)} s (> 30 s) on this machine`);
        return;
      }
      const png = decode(await readFile(join(out, 'figure-0.png')));
      expect(png.channels).toBe(3);
      expect(png.width).toBeGreaterThan(3 * 192);
      expect(png.height).toBeGreaterThan(3 * 192);
      const json = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
      expect(json.images).toHaveLength(1);
      expect(summary.images[0]!.index).toBe(0);
      expect(summary.images[0]!.label).toBe('Ankle boot');
      for (const kind of ['regular', 'DCNv1', 'DCNv2']) {
        const m = summary.images[0]!.models[kind]!;
        expect(m.node.layer).toBe('conv5');
        expect(m.predicted).toBeGreaterThanOrEqual(0);
        expect(m.sampling.paths).toBeGreaterThan(0);
        expect(m.sampling.paths).toBeLessThanOrEqual(81);
        expect(m.erf.r50).toBeGreaterThan(0);
        expect(m.erf.r90).toBeGreaterThanOrEqual(m.erf.r50);
        expect(m.saliency.relativeError).toBeLessThanOrEqual(m.saliency.epsilon);
      }
      // The regular network's level is the undeformed 7 x 7 grid of 81 paths with masks 1.
      expect(summary.images[0]!.models['regular']!.sampling.paths).toBe(81);
      expect(summary.images[0]!.models['regular']!.sampling.points).toBe(49);
      expect(summary.images[0]!.models['regular']!.sampling.meanMask).toBe(1);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
