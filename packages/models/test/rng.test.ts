import { describe, expect, it } from 'vitest';

import { OptionError, Rng, checkSeed, deriveSeed, mix32, permutation } from '../src/index.js';

describe('Rng (mulberry32)', () => {
  it('matches the reference mulberry32 (the widely published JavaScript version, transcribed here)', () => {
    function reference(a: number) {
      return () => {
        let t = (a += 0x6d2b79f5);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }
    for (const seed of [0, 1, 42, 0xdeadbeef, 0xffffffff]) {
      const ours = new Rng(seed);
      const ref = reference(seed);
      for (let i = 0; i < 1000; i++) expect(ours.next()).toBe(ref());
    }
  });

  it('pins its first outputs (a change here changes every generated data set)', () => {
    const rng = new Rng(1);
    const first = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
    expect(first).toEqual(PINNED_RNG_1);
    expect([mix32(0), mix32(1), deriveSeed(0, 0), deriveSeed(7, 123)]).toEqual(PINNED_MIX);
  });

  it('same seed, same stream; different seeds, different streams', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const c = new Rng(124);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('next is in [0, 1), int(n) in [0, n) and roughly uniform', () => {
    const rng = new Rng(9);
    const counts = new Array<number>(7).fill(0);
    let inRange = true;
    for (let i = 0; i < 70000; i++) {
      const u = rng.next();
      inRange &&= u >= 0 && u < 1;
      counts[rng.int(7)]++;
    }
    expect(inRange).toBe(true);
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400); // ~4 sigma
  });

  it('derived seeds are distinct for neighbouring indices and seeds', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 20; s++) for (let i = 0; i < 5000; i++) seen.add(deriveSeed(s, i));
    expect(seen.size).toBe(100000);
  });

  it('permutation is a seeded permutation', () => {
    const p = permutation(1000, 5);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...permutation(1000, 5)]).toEqual([...p]);
    expect([...permutation(1000, 6)]).not.toEqual([...p]);
  });

  it('rejects seeds that are not uint32', () => {
    for (const bad of [-1, 0.5, 2 ** 32, Number.NaN, '1', undefined]) {
      expect(() => checkSeed(bad)).toThrow(OptionError);
    }
    expect(() => new Rng(-1)).toThrow(OptionError);
    expect(() => deriveSeed(1, -1)).toThrow(/index must be an integer/);
  });
});

const PINNED_RNG_1 = [2693262067, 11749833, 2265367787];
const PINNED_MIX = [0, 1753845952, 2074702303, 3199684171];
