/**
 * NaN and Inf in any tensor propagate exactly as torchvision's formulas evaluated directly would: the
 * NaN/Inf positions of every output and gradient equal the reference's, never an exception, never a 0
 * where arithmetic gives NaN, and never a NaN from a corner outside the image (it is not read).
 */
import type { ConvGradRequest } from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/index.js';
import { allGrads, geometryOf, makeCase, rng, runBackend, worstViolation, type ConvCase } from './helpers.js';
import { deformConv2dBackwardF64, deformConv2dF64 } from '@dcnv2/conformance';

const be = createCpuBackend();
const tiny = createCpuBackend({ tilePixels: 3, workspaceBytes: 800 });
const tol = { atol: 2e-5, rtol: 1e-4 };

/** Compares everything with the reference; worstViolation requires identical NaN / +-Inf positions. */
function compareAll(c: ConvCase, want?: ConvGradRequest): ReturnType<typeof runBackend> {
  const g = geometryOf(c);
  const w = want ?? allGrads(g);
  const t = { input: c.input.data, weight: c.weight.data, offset: c.offset.data, mask: c.mask?.data ?? null, bias: c.bias?.data ?? null };
  const ref = deformConv2dBackwardF64(g, t, c.gradOutput.data);
  const out = deformConv2dF64(g, t);
  let last!: ReturnType<typeof runBackend>;
  for (const b of [be, tiny]) {
    const got = runBackend(b, c, w);
    expect(worstViolation(got.output, out, tol), 'output').toBeNull();
    for (const k of ['input', 'offset', 'mask', 'weight', 'bias'] as const) {
      if (ref[k] !== null) expect(worstViolation(got.grads[k]!, ref[k]!, tol), `grad ${k}`).toBeNull();
    }
    last = got;
  }
  return last;
}

const count = (a: Float32Array, f: (v: number) => boolean) => a.reduce((n, v) => n + (f(v) ? 1 : 0), 0);

const base = { N: 1, Cin: 4, H: 7, W: 8, Cout: 3, kh: 3, kw: 3, pads: [1, 1, 1, 1] as [number, number, number, number], offsetGroups: 2 };

describe('NaN and Inf propagation', () => {
  it('a NaN input pixel reaches exactly the outputs whose samples read it', () => {
    const c = makeCase({ ...base, offsetScale: 1 }, 1);
    c.input.data[1 * 56 + 3 * 8 + 4] = NaN; // channel 1, row 3, col 4
    const got = compareAll(c);
    const nan = count(got.output, Number.isNaN);
    expect(nan).toBeGreaterThan(0);
    expect(nan).toBeLessThan(got.output.length); // local, not everywhere
  });

  it('Inf and -Inf input pixels: Inf, -Inf or NaN as the sums dictate', () => {
    const c = makeCase({ ...base, offsetScale: 2 }, 2);
    c.input.data[5] = Infinity;
    c.input.data[56 + 20] = -Infinity;
    c.input.data[3 * 56 + 55] = Infinity;
    const got = compareAll(c);
    expect(count(got.output, (v) => !Number.isFinite(v))).toBeGreaterThan(0);
  });

  it('NaN / Inf in offsets: NaN coordinates give NaN samples, infinite ones fall outside (0)', () => {
    const c = makeCase({ ...base, offsetScale: 2 }, 3);
    const HoWo = 7 * 8;
    c.offset.data[0 * HoWo + 10] = NaN; // dy of tap 0, group 0
    c.offset.data[3 * HoWo + 20] = Infinity; // dx of tap 1
    c.offset.data[4 * HoWo + 30] = -Infinity; // dy of tap 2
    c.offset.data[(18 + 7) * HoWo + 40] = NaN; // dx of tap 3, group 1
    compareAll(c);
  });

  it('NaN / Inf in the mask, including samples outside the image (mask * 0 is NaN) and integer coordinates', () => {
    const c = makeCase({ ...base, offsetScale: 9, integerOffsets: true }, 4);
    const m = c.mask!.data;
    for (let i = 0; i < m.length; i += 7) m[i] = i % 3 === 0 ? NaN : i % 3 === 1 ? Infinity : -Infinity;
    compareAll(c);
  });

  it('an out-of-range sample with a NaN mask makes the output NaN', () => {
    // 1x1 kernel, one channel, offset far outside: the sample is 0, and NaN * 0 = NaN.
    const c = makeCase({ N: 1, Cin: 1, H: 3, W: 3, Cout: 1, kh: 1, kw: 1 }, 5);
    c.offset.data.fill(100);
    c.mask!.data[4] = NaN;
    const got = compareAll(c);
    expect(Number.isNaN(got.output[4])).toBe(true);
    expect(count(got.output, Number.isNaN)).toBe(1);
  });

  it('Inf mask at an integer coordinate stays Inf (the weight-0 corner is not folded into the mask)', () => {
    const c = makeCase({ N: 1, Cin: 1, H: 3, W: 3, Cout: 1, kh: 1, kw: 1, bias: false }, 6);
    c.offset.data.fill(0);
    c.input.data.fill(2);
    c.weight.data[0] = 1;
    c.mask!.data.fill(1);
    c.mask!.data[4] = Infinity;
    const got = compareAll(c);
    expect(got.output[4]).toBe(Infinity);
    expect(got.output[0]).toBe(2);
  });

  it('NaN pixels outside every sample footprint do not leak through zero weights', () => {
    // Integer offsets: each sample reads one pixel with weight 1 and in-image neighbours with weight 0
    // (torchvision reads those, so a NaN there does propagate) but never reads outside the image.
    const c = makeCase({ N: 1, Cin: 2, H: 5, W: 5, Cout: 2, kh: 3, kw: 3, pads: [1, 1, 1, 1], offsetScale: 4, integerOffsets: true }, 7);
    c.input.data[12] = NaN;
    c.input.data[25 + 24] = NaN; // bottom-right pixel of channel 1
    compareAll(c);
  });

  it('NaN / Inf in weight, bias and gradOutput', () => {
    const c = makeCase({ ...base, Cout: 4, offsetScale: 2 }, 8);
    c.weight.data[7] = NaN;
    c.weight.data[40] = Infinity;
    c.bias!.data[2] = -Infinity;
    const go = c.gradOutput.data;
    go[3] = NaN;
    go[60] = Infinity;
    go[100] = -Infinity;
    compareAll(c);
  });

  it('random sparse NaN / Inf everywhere, across geometries and tilings, never throws', () => {
    const r = rng(11);
    const specials = [NaN, Infinity, -Infinity];
    for (let trial = 0; trial < 12; trial++) {
      const c = makeCase({ N: 1 + (trial % 2), Cin: 4, H: 5 + (trial % 3), W: 6, Cout: 2, kh: 2 + (trial % 2), kw: 3, pads: [1, 0, 1, 1], groups: 2, offsetGroups: 2, offsetScale: 3, integerOffsets: trial % 3 === 0 }, 100 + trial);
      for (const t of [c.input, c.offset, c.mask!, c.weight, c.bias!, c.gradOutput]) {
        for (let i = 0; i < t.data.length; i++) if (r() < 0.02) t.data[i] = specials[Math.floor(r() * 3)];
      }
      compareAll(c);
    }
  });
});
