/**
 * The host-side binary16 converter against an independent model: the nearest binary16 value of a float32
 * computed with float64 arithmetic (scale by the binade's ulp, round half to even), over every binary16
 * pattern, every rounding boundary around them, the subnormal and overflow edges, and random float32 bit
 * patterns.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '@dcnv2/conformance';
import { decodeFloat16, encodeFloat16, float16Bits, float16Value } from '../src/float16.js';

/** The binary16 value nearest to `x` (a float32 value), ties to even, as a number (±Infinity past 65504). */
function nearestF16(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp; // exact: a power-of-two scaling of a float32
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  const v = r * ulp;
  return Math.sign(x) * (v > 65504 ? Infinity : v);
}

const bitsOf = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]!;
const fromBits = (b: number): number => new Float32Array(Uint32Array.of(b).buffer)[0]!;

/** Same value (NaN matching NaN, -0 distinct from 0); failures are collected, not asserted one by one (speed). */
const sameValue = (got: number, want: number): boolean => (Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want));
const show = (x: number, got: number, want: number): string => `x = ${x} (bits ${bitsOf(x).toString(16)}): got ${got}, want ${want}`;

describe('float16 converter', () => {
  it('decodes every pattern exactly and re-encodes it to itself (NaNs to a NaN)', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = float16Value(h);
      const back = float16Bits(v);
      const isNaN16 = (b: number) => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
      const ok = isNaN16(h) ? Number.isNaN(v) && isNaN16(back) : Math.fround(v) === v && back === h;
      if (!ok) bad.push(`${h.toString(16)} -> ${v} -> ${back.toString(16)}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(float16Value(0x3c00)).toBe(1);
    expect(float16Value(0x7bff)).toBe(65504);
    expect(float16Value(0x0001)).toBe(2 ** -24);
    expect(float16Value(0x0400)).toBe(2 ** -14);
    expect(Object.is(float16Value(0x8000), -0)).toBe(true);
    expect(float16Value(0xfc00)).toBe(-Infinity);
  });

  it('rounds every midpoint and its float32 neighbours to nearest, ties to even', () => {
    const bad: string[] = [];
    for (let h = 0; h < 0x7c00; h++) {
      const lo = float16Value(h);
      const hi = h === 0x7bff ? 65536 : float16Value(h + 1);
      const mid = (lo + hi) / 2; // exact in float32: one more bit than binary16
      if (Math.fround(mid) !== mid) bad.push(`midpoint ${mid} is not a float32`);
      for (const x of [mid, fromBits(bitsOf(mid) - 1), fromBits(bitsOf(mid) + 1)]) {
        for (const s of [x, -x]) {
          const got = float16Value(float16Bits(s));
          if (!sameValue(got, nearestF16(s))) bad.push(show(s, got, nearestF16(s)));
        }
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('handles the edges: overflow at 65520, the subnormal floor at 2^-25, infinities, NaN, signed zero', () => {
    expect(float16Bits(65504)).toBe(0x7bff);
    expect(float16Bits(65519.99)).toBe(0x7bff);
    expect(float16Bits(65520)).toBe(0x7c00);
    expect(float16Bits(-1e9)).toBe(0xfc00);
    expect(float16Bits(Infinity)).toBe(0x7c00);
    expect(float16Bits(-Infinity)).toBe(0xfc00);
    expect(float16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal: even (0)
    expect(float16Bits(fromBits(bitsOf(2 ** -25) + 1))).toBe(1);
    expect(float16Bits(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 ulps: even (2)
    expect(float16Bits(2 ** -26)).toBe(0);
    expect(float16Bits(-(2 ** -30))).toBe(0x8000);
    expect(float16Bits(1e-45)).toBe(0); // a float32 subnormal
    expect(float16Bits(-0)).toBe(0x8000);
    expect(float16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up out of the subnormals
    expect(float16Bits(NaN) & 0x7e00).toBe(0x7e00);
    expect(float16Bits(-NaN) & 0x7c00).toBe(0x7c00);
  });

  it('matches the model on random float32 bit patterns, one by one and through the array encoder', () => {
    const rng = new Rng(2024);
    const n = 200_000;
    const src = new Float32Array(n);
    const bits = new Uint32Array(src.buffer);
    for (let i = 0; i < n; i++) {
      // Half uniform over all patterns, half concentrated on the binary16 range (exponents 100..150).
      bits[i] = i % 2 === 0 ? rng.int(0, 0xffffffff) >>> 0 : (((rng.int(0, 1) << 31) | (rng.int(100, 150) << 23) | rng.int(0, 0x7fffff)) >>> 0);
    }
    const enc = encodeFloat16(src);
    expect(enc.length).toBe(n);
    const dec = decodeFloat16(enc, n);
    const bad: string[] = [];
    for (let i = 0; i < n; i++) {
      const want = nearestF16(src[i]!);
      if (enc[i] !== float16Bits(src[i]!)) bad.push(`array encoder differs at ${show(src[i]!, enc[i]!, float16Bits(src[i]!))}`);
      if (!sameValue(dec[i]!, want)) bad.push(show(src[i]!, dec[i]!, want));
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('pads odd lengths to whole 4-byte words and encodes subarrays at an offset', () => {
    const whole = Float32Array.of(9, 1, -2, 0.5);
    const enc = encodeFloat16(whole.subarray(1));
    expect(Array.from(enc)).toEqual([0x3c00, 0xc000, 0x3800, 0]);
    expect(Array.from(decodeFloat16(enc, 3))).toEqual([1, -2, 0.5]);
    expect(encodeFloat16(new Float32Array(0)).length).toBe(0);
  });
});
