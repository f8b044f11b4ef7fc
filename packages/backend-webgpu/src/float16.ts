/**
 * IEEE 754 binary16 <-> binary32 conversion on the host, for uploads to and downloads from float16
 * storage buffers (Node 20 has no Float16Array). Encoding rounds to nearest, ties to even, like a GPU's
 * f32 -> f16 conversion and like Float16Array: values below half the smallest subnormal (2^-25) become
 * signed zero, subnormals keep every bit they can, magnitudes from 65520 up become infinity, infinities
 * stay infinities and a NaN stays a (quiet) NaN with its sign and the top of its payload. Decoding is
 * exact (every binary16 value is a binary32 value).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bit pattern nearest to `v` (after rounding `v` to float32, as a Float32Array would). */
export function float16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    // Infinity, or NaN: keep the payload's top 10 bits and force the quiet bit so it stays a NaN.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 127; // unbiased exponent; float32 subnormals land far below -25
  if (e >= -14) {
    // Normal range of binary16 (or overflow): drop 13 mantissa bits, round half to even. A carry out of
    // the mantissa bumps the exponent, which is exactly right, up to 0x7c00 (infinity) past 65504.
    if (e > 15) return sign | 0x7c00;
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  if (e < -25) return sign;
  // Subnormal result: the value is M * 2^(e-23) with M the 24-bit significand; in units of 2^-24 that is
  // M >> (-e - 1), rounded half to even. Rounding up from 0x3ff gives 0x400, the smallest normal.
  const m = mant | 0x800000;
  const shift = -e - 1; // 14..24
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/** The value of binary16 bit pattern `h` (0..0xffff). */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** Every binary16 value, indexed by bit pattern: decoding a buffer is one table lookup per element. */
let decodeTable: Float32Array | null = null;
function table(): Float32Array {
  if (decodeTable === null) {
    decodeTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) decodeTable[h] = float16Value(h);
  }
  return decodeTable;
}

/**
 * Encodes `src` as binary16 bits. The result has an even length (the last element padded with 0) because
 * GPU queue writes move whole 4-byte words.
 */
export function encodeFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length + (src.length & 1));
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  // Fast path for the common case (normal float16 range), the general routine for everything else.
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const exp = (x >>> 23) & 0xff;
    if (exp >= 113 && exp <= 142) {
      let h = ((exp - 112) << 10) | ((x >>> 13) & 0x3ff);
      const rest = x & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
      out[i] = ((x >>> 16) & 0x8000) | h;
    } else {
      out[i] = float16Bits(src[i]!);
    }
  }
  return out;
}

/** Decodes the first `n` binary16 values of `src` into a new Float32Array. */
export function decodeFloat16(src: Uint16Array, n: number): Float32Array {
  const t = table();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = t[src[i]!]!;
  return out;
}
