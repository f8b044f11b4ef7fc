/**
 * Small deterministic PRNGs. Only 32-bit integer operations (`Math.imul`, shifts, xor) and exact float64
 * arithmetic are used, so the same seed gives the same numbers on every JavaScript engine and platform.
 * Not cryptographic.
 */
import { OptionError } from './errors.js';

const TWO_32 = 4294967296;

/** Throws `OptionError` unless `seed` is an integer in [0, 2^32). */
export function checkSeed(seed: unknown, what = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= TWO_32) {
    throw new OptionError(`${what} must be an integer in [0, 2^32), got ${String(seed)}`);
  }
  return seed;
}

/** A 32-bit finaliser (Chris Wellons' lowbias32): a bijection on uint32 with good avalanche. */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The seed of stream `index` under `seed`: distinct indices give unrelated streams, so item `index` of a
 * seeded data set is the same whichever batch, order or process draws it.
 */
export function deriveSeed(seed: number, index: number): number {
  checkSeed(seed);
  checkSeed(index, 'index');
  // splitmix-style: a Weyl step per index, then two rounds of mixing.
  return mix32((mix32(seed) + Math.imul(index, 0x9e3779b9) + 0x6a09e667) >>> 0);
}

/** A seeded generator: mulberry32 (period 2^32, one 32-bit state). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = checkSeed(seed) >>> 0;
  }

  /** The next uint32. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1), a multiple of 2^-32. */
  next(): number {
    return this.nextUint32() / TWO_32;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n), n ≤ 2^32 (rejection sampling: no modulo bias). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_32) throw new OptionError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

/** A seeded permutation of 0..n-1 (Fisher–Yates), e.g. a training order per epoch. */
export function permutation(n: number, seed: number): Uint32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new OptionError(`permutation size must be an integer in [0, 2^32), got ${n}`);
  const rng = new Rng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}
