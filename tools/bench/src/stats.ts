/**
 * Summary statistics of timed runs. The median is the headline number because run times on a shared machine are
 * skewed to the right (GC pauses, another process's burst): one slow run moves the mean but not the median.
 */

export interface Summary {
  readonly runs: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** 25th and 75th percentiles (linear interpolation between order statistics). */
  readonly p25: number;
  readonly p75: number;
}

/** Quantile `q` in [0, 1] of an ascending array, interpolating linearly (q = 0.5 on an even count averages the middle two). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}

/** Summary of a non-empty sample of finite numbers. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summary of an empty sample');
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`non-finite sample ${v}`);
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    runs: sorted.length,
    median: quantileSorted(sorted, 0.5),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
    p25: quantileSorted(sorted, 0.25),
    p75: quantileSorted(sorted, 0.75),
  };
}

/** GFLOP/s of `flops` floating-point operations done in `ms` milliseconds. */
export function gflopsPerSecond(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
