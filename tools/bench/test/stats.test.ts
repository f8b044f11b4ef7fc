import { describe, expect, it } from 'vitest';
import { gflopsPerSecond, median, quantileSorted, summarize } from '../src/stats.js';

describe('statistics', () => {
  it('takes the middle value of an odd sample and the mean of the middle two of an even one', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('interpolates quantiles between order statistics', () => {
    const s = [10, 20, 30, 40, 50];
    expect(quantileSorted(s, 0)).toBe(10);
    expect(quantileSorted(s, 1)).toBe(50);
    expect(quantileSorted(s, 0.25)).toBe(20);
    expect(quantileSorted([0, 10], 0.25)).toBe(2.5);
    expect(() => quantileSorted(s, 1.5)).toThrow(RangeError);
    expect(() => quantileSorted([], 0.5)).toThrow(RangeError);
  });

  it('summarises a sample: runs, median, min, max, mean, quartiles', () => {
    const s = summarize([4, 2, 8, 6, 100]);
    expect(s).toEqual({ runs: 5, median: 6, min: 2, max: 100, mean: 24, p25: 4, p75: 8 });
  });

  it('rejects empty and non-finite samples', () => {
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => summarize([1, Number.NaN])).toThrow(RangeError);
    expect(() => summarize([1, Infinity])).toThrow(RangeError);
  });

  it('converts flops and milliseconds to GFLOP/s', () => {
    expect(gflopsPerSecond(2e9, 1000)).toBe(2);
    expect(gflopsPerSecond(231e6, 77)).toBeCloseTo(3, 5);
  });
});
