
import { beforeAll, describe, expect, it } from 'vitest';

import {
  type GeometricPlacement,
  type ImageSet,
  OptionError,
  geometricBatches,
  geometricItem,
  geometricPlacement,
  geometricSet,
  permutation,
  renderPlaced,
} from '../src/index.js';
import { loadFashionMnist } from '../src/node/index.js';

const CANVAS = 64;

/** A synthetic 28x28 set: item i is a smooth blob whose position and size depend on i, label i % 10. */
function syntheticSet(count: number): ImageSet {
  const images = new Float32Array(count * 784);
  for (let i = 0; i < count; i++) {
    const cy = 8 + (i % 12);
    const cx = 10 + ((i * 5) % 9);
    const r = 3 + (i % 6);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const d = Math.sqrt((y - cy) ** 2 + (x - cx) ** 2);
        images[i * 784 + y * 28 + x] = d < r ? 1 - (0.5 * d) / r : 0;
      }
    }
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, count, height: 28, width: 28, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] };
}

/** FNV-1a over the 32-bit words of a Float32Array's bits (the same on little- and big-endian hosts). */
function hashFloats(a: Float32Array): string {
  const words = new Uint32Array(a.buffer, a.byteOffset, a.length);
  let h = 0x811c9dc5;
  for (const w of words) {
    for (let s = 0; s < 32; s += 8) {
      h ^= (w >>> s) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16).padStart(8, '0');
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const wa = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const wb = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
  return true;
}

/** Bounding box [x0, x1] x [y0, y1] (inclusive pixel indices) of the non-zero pixels of a size x size image. */
function nonZeroBox(img: Float32Array, offset: number, size: number) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, sum = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = img[offset + y * size + x];
      if (v !== 0) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        sum += v;
      }
    }
  }
  return { x0, x1, y0, y1, sum };
}

/**
 * Checks one rendered item against its placement: the box inside the canvas, every non-zero pixel's centre
 * inside the box, the mass box where the source's mass box maps to (within a source pixel and a canvas
 * pixel), and the mass the source's times scale^2 (nothing cut off).
 */
function checkPlacedItem(src: ImageSet, index: number, image: Float32Array, offset: number, p: GeometricPlacement, massTolerance: number): number {
  expect(p.width).toBeCloseTo(p.scale * src.width, 12);
  expect(p.height).toBeCloseTo(p.scale * src.height, 12);
  expect(p.x).toBeGreaterThanOrEqual(0);
  expect(p.y).toBeGreaterThanOrEqual(0);
  expect(p.x + p.width).toBeLessThanOrEqual(CANVAS);
  expect(p.y + p.height).toBeLessThanOrEqual(CANVAS);
  const out = nonZeroBox(image, offset, CANVAS);
  const source = nonZeroBox(src.images, index * 784, 28);
  // Every non-zero pixel's centre lies in the recorded box.
  expect(out.x0 + 0.5).toBeGreaterThanOrEqual(p.x);
  expect(out.x1 + 0.5).toBeLessThan(p.x + p.width);
  expect(out.y0 + 0.5).toBeGreaterThanOrEqual(p.y);
  expect(out.y1 + 0.5).toBeLessThan(p.y + p.height);
  // The mass box is the source's mass box mapped by the placement: source pixel centre c -> x + s (c + 1/2).
  const tol = p.scale + 1;
  expect(Math.abs(out.x0 + 0.5 - (p.x + p.scale * (source.x0 + 0.5)))).toBeLessThanOrEqual(tol);
  expect(Math.abs(out.x1 + 0.5 - (p.x + p.scale * (source.x1 + 0.5)))).toBeLessThanOrEqual(tol);
  expect(Math.abs(out.y0 + 0.5 - (p.y + p.scale * (source.y0 + 0.5)))).toBeLessThanOrEqual(tol);
  expect(Math.abs(out.y1 + 0.5 - (p.y + p.scale * (source.y1 + 0.5)))).toBeLessThanOrEqual(tol);
  // All of the mass is on the canvas: the total is the source's times s^2 (bilinear, no antialiasing).
  const deviation = Math.abs(out.sum / (source.sum * p.scale * p.scale) - 1);
  expect(deviation).toBeLessThan(massTolerance);
  return deviation;
}

describe('renderPlaced: bilinear resampling into the box', () => {
  const src = syntheticSet(1);
  const ramp = new Float32Array(784).map((_, i) => (i % 28) + 100 * Math.floor(i / 28));

  it('scale 1 at integer position: an exact copy', () => {
    const out = new Float32Array(CANVAS * CANVAS);
    renderPlaced(src.images, 0, 28, 28, { scale: 1, x: 10, y: 20, width: 28, height: 28 }, CANVAS, out, 0);
    for (let y = 0; y < CANVAS; y++) {
      for (let x = 0; x < CANVAS; x++) {
        const inside = x >= 10 && x < 38 && y >= 20 && y < 48;
        expect(out[y * CANVAS + x]).toBe(inside ? src.images[(y - 20) * 28 + (x - 10)] : 0);
      }
    }
  });

  it('scale 1 at a half-pixel position: averages of neighbours, edges clamped', () => {
    const out = new Float32Array(CANVAS * CANVAS);
    renderPlaced(ramp, 0, 28, 28, { scale: 1, x: 10.5, y: 0, width: 28, height: 28 }, CANVAS, out, 0);
    // Pixel centres in [10.5, 38.5): columns 10..37. Row 3: values 300 + column.
    expect(out[3 * CANVAS + 9]).toBe(0);
    expect(out[3 * CANVAS + 10]).toBe(300); // u = -0.5, clamped to the first column
    expect(out[3 * CANVAS + 11]).toBe(300.5); // between columns 0 and 1
    expect(out[3 * CANVAS + 37]).toBe(326.5);
    expect(out[3 * CANVAS + 38]).toBe(0);
  });

  it('scale 1.5: column X samples u = (X + 1/2) / 1.5 - 1/2', () => {
    const out = new Float32Array(CANVAS * CANVAS);
    renderPlaced(ramp, 0, 28, 28, { scale: 1.5, x: 0, y: 0, width: 42, height: 42 }, CANVAS, out, 0);
    // Row 0 holds the column index. X = 0 -> u = -1/6, clamped to 0; X = 2 -> u = 7/6; X = 41 -> u = 27.17,
    // clamped to 27.
    expect(out[0]).toBe(0);
    expect(out[2]).toBeCloseTo(7 / 6, 5);
    expect(out[3]).toBeCloseTo(11 / 6, 5);
    expect(out[41]).toBe(27);
    expect(out[42]).toBe(0);
  });
});

describe('geometric variant (synthetic source)', () => {
  const src = syntheticSet(300);

  it('same seed: identical bytes and placements; different seed: different', () => {
    for (const index of [0, 1, 17, 299]) {
      const a = geometricItem(src, index, { seed: 1 });
      const b = geometricItem(src, index, { seed: 1 });
      expect(bitsEqual(a.image, b.image)).toBe(true);
      expect(a.placement).toEqual(b.placement);
      expect(a.label).toBe(index % 10);
      const c = geometricItem(src, index, { seed: 2 });
      expect(bitsEqual(a.image, c.image)).toBe(false);
      expect(c.placement.scale).not.toBe(a.placement.scale);
    }
  });

  it('pins the bytes of 20 items under seed 1 (same on every platform; a change here changes the data set)', () => {
    const set = geometricSet(src, { seed: 1, end: 20 });
    expect(hashFloats(set.images)).toBe(PINNED_SYNTHETIC_HASH);
    expect([...set.placements.scale.subarray(0, 3)]).toEqual(PINNED_SYNTHETIC_SCALES);
  });

  it('batches: item (seed, index) is the same whatever the batch size, range or order', () => {
    const reference = Array.from({ length: 50 }, (_, i) => geometricItem(src, 100 + i, { seed: 7 }));
    for (const batchSize of [1, 7, 50, 64]) {
      const batches = [...geometricBatches({ source: src, seed: 7, batchSize, start: 100, end: 150 })];
      expect(batches.map((b) => b.count)).toEqual(
        Array.from({ length: Math.ceil(50 / batchSize) }, (_, k) => Math.min(batchSize, 50 - k * batchSize)),
      );
      let k = 0;
      for (const batch of batches) {
        expect(batch.canvas).toBe(CANVAS);
        expect(batch.images.length).toBe(batch.count * CANVAS * CANVAS);
        for (let i = 0; i < batch.count; i++, k++) {
          expect(batch.indices[i]).toBe(100 + k);
          expect(batch.labels[i]).toBe(reference[k].label);
          expect(bitsEqual(batch.images.subarray(i * 4096, (i + 1) * 4096), reference[k].image)).toBe(true);
          expect(batch.placements.scale[i]).toBe(reference[k].placement.scale);
          expect(batch.placements.x[i]).toBe(reference[k].placement.x);
          expect(batch.placements.y[i]).toBe(reference[k].placement.y);
        }
      }
    }
    const order = permutation(300, 3);
    const [shuffled] = [...geometricBatches({ source: src, seed: 7, batchSize: 300, indices: order })];
    for (let i = 0; i < 300; i += 37) {
      expect(shuffled.indices[i]).toBe(order[i]);
      expect(bitsEqual(shuffled.images.subarray(i * 4096, (i + 1) * 4096), geometricItem(src, order[i], { seed: 7 }).image)).toBe(true);
    }
  });

  it('the placed item lies inside the canvas and inside its recorded box; mass box and mass match the scale', () => {
    const [batch] = [...geometricBatches({ source: src, seed: 11, batchSize: 300 })];
    let worst = 0;
    for (let i = 0; i < 300; i++) {
      const p = {
        scale: batch.placements.scale[i], x: batch.placements.x[i], y: batch.placements.y[i],
        width: batch.placements.width[i], height: batch.placements.height[i],
      };
      worst = Math.max(worst, checkPlacedItem(src, i, batch.images, i * 4096, p, 0.06));
    }
    // Measured: worst 4.8% (a small disk shrunk to 0.6x aliases); the mean is far lower.
    expect(worst).toBeGreaterThan(0);
  });

  it('scale is uniform over [0.6, 1.6) and positions cover the canvas', () => {
    const n = 20000;
    const bins = new Array<number>(10).fill(0);
    const posBins = new Array<number>(10).fill(0);
    let min = Infinity, max = -Infinity, minLeft = Infinity, maxRight = -Infinity, sum = 0;
    for (let i = 0; i < n; i++) {
      const p = geometricPlacement(i, { seed: 5 }, 28);
      min = Math.min(min, p.scale);
      max = Math.max(max, p.scale);
      sum += p.scale;
      bins[Math.floor((p.scale - 0.6) * 10)]++;
      posBins[Math.floor((p.x / (CANVAS - p.width)) * 10)]++;
      minLeft = Math.min(minLeft, p.x);
      maxRight = Math.max(maxRight, p.x + p.width);
    }
    expect(min).toBeGreaterThanOrEqual(0.6);
    expect(max).toBeLessThan(1.6);
    expect(min).toBeLessThan(0.601);
    expect(max).toBeGreaterThan(1.599);
    expect(sum / n).toBeCloseTo(1.1, 2);
    for (const b of bins) expect(Math.abs(b - n / 10)).toBeLessThan(200); // sd ~42
    for (const b of posBins) expect(Math.abs(b - n / 10)).toBeLessThan(200);
    expect(minLeft).toBeLessThan(0.05);
    expect(maxRight).toBeGreaterThan(CANVAS - 0.05);
  });

  it('canvas and scale options', () => {
    const item = geometricItem(src, 3, { seed: 1, canvas: 40, scale: [1, 1] });
    expect(item.image.length).toBe(1600);
    expect(item.placement.scale).toBe(1);
    expect(item.placement.x + 28).toBeLessThanOrEqual(40);
    expect(geometricItem(src, 3, { seed: 1, canvas: 45 }).image.length).toBe(45 * 45);
  });

  it('refuses bad options with OptionError, at the call', () => {
    expect(() => geometricItem(src, 0, { seed: 1, canvas: 44 })).toThrow(/scaled by up to 1.6 does not fit a 44x44 canvas/);
    expect(() => geometricItem(src, 0, { seed: 1, scale: [1.6, 0.6] })).toThrow(OptionError);
    expect(() => geometricItem(src, 0, { seed: 1, scale: [0, 1] })).toThrow(OptionError);
    expect(() => geometricItem(src, 300, { seed: 1 })).toThrow(/index must be an integer in \[0, 300\)/);
    expect(() => geometricItem(src, 0, { seed: -1 })).toThrow(OptionError);
    expect(() => geometricBatches({ source: src, seed: 1, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => geometricBatches({ source: src, seed: 1, batchSize: 4, start: 10, end: 5 })).toThrow(OptionError);
    expect(() => geometricBatches({ source: src, seed: 1, batchSize: 4, indices: [0, 300] })).toThrow(OptionError);
    expect(() => geometricBatches({ source: { ...src, count: 301 }, seed: 1, batchSize: 4 })).toThrow(/source holds/);
  });
});

describe('geometric Fashion-MNIST (Debian files)', () => {
  let test: ImageSet;
  beforeAll(async () => {
    test = await loadFashionMnist({ split: 'test', limit: 2000 });
  });

  it('2000 test items: inside the canvas and their boxes, mass boxes and masses match the placement', () => {
    // Bilinear resampling without antialiasing keeps the mass only on average: shrinking a detailed item
    // aliases (measured: worst 8.6%, mean 0.66% on these 2000 items under seed 2024).
    let total = 0;
    let n = 0;
    for (const batch of geometricBatches({ source: test, seed: 2024, batchSize: 256 })) {
      for (let i = 0; i < batch.count; i++) {
        const p = {
          scale: batch.placements.scale[i], x: batch.placements.x[i], y: batch.placements.y[i],
          width: batch.placements.width[i], height: batch.placements.height[i],
        };
        total += checkPlacedItem(test, batch.indices[i], batch.images, i * 4096, p, 0.12);
        n++;
        expect(batch.labels[i]).toBe(test.labels[batch.indices[i]]);
      }
    }
    expect(n).toBe(2000);
    expect(total / n).toBeLessThan(0.015);
  });

  it('pins the bytes of the first 20 geometric test items under seed 1', () => {
    expect(hashFloats(geometricSet(test, { seed: 1, end: 20 }).images)).toBe(PINNED_REAL_HASH);
  });
});

const PINNED_SYNTHETIC_HASH = 'ab5180d0';
const PINNED_SYNTHETIC_SCALES = [0.7224668647628277, 1.3158227127511055, 1.5618388989474625];
const PINNED_REAL_HASH = 'bf4740a6';
