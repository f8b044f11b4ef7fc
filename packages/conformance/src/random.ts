/**
 * A small seeded PRNG, so that every randomised suite is reproducible from one `--seed`: the same seed
 * gives the same cases on every machine and runtime (no Math.random anywhere in the suites).
 */

/** 32-bit FNV-1a of a string: turns suite and case labels into independent sub-seeds. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: tiny, fast, well-distributed enough for test data (not for cryptography). */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** An independent generator for a named purpose: `Rng.derive(seed, 'fuzz')` does not depend on what other suites drew. */
  static derive(seed: number, label: string): Rng {
    return new Rng((Math.trunc(seed) ^ hashString(label)) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer uniform in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `n` standard normals as float32. */
  normals(n: number, scale = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal() * scale;
    return a;
  }
}

/** A seeded uniform [0, 1) source as a plain function (tests that only need numbers, not a generator object). */
export function uniformSource(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** A row-major float32 tensor of `(next() + shift) * scale` values: uniform in [shift, shift + 1) * scale. */
export function uniformTensor(shape: readonly number[], next: () => number, scale = 1, shift = -0.5): { shape: number[]; data: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (next() + shift) * scale;
  return { shape: [...shape], data };
}
