/**
 * Dispatch grids, checked against the device's `maxComputeWorkgroupsPerDimension` in one place: every
 * dispatch of the backend gets its grid here, and a grid that cannot be laid out within the limit is a
 * `LimitError` naming the limit, the argument and the kernel.
 */
import { LimitError } from '@dcnv2/core';

/** Workgroups along x, y and z of one dispatch. */
export interface Grid {
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

/** What a grid is checked against, and what a `LimitError` names. */
export interface GridLimit {
  /** The device's maxComputeWorkgroupsPerDimension. */
  readonly maxDim: number;
  /** The argument a refusal names (the tensor whose size makes the grid). */
  readonly argument: string;
  /** The kernel (entry point) the grid is for. */
  readonly kernel: string;
}

/** Most work items of one linear dispatch: linear ids are u32 and counts i32 uniforms in the shaders. */
export const MAX_LINEAR_ITEMS = 2 ** 31 - 1;

/** A grid of x * y * z workgroups, each axis at most maxComputeWorkgroupsPerDimension. */
export function checkedGrid(x: number, y: number, z: number, limit: GridLimit): Grid {
  const m = limit.maxDim;
  if (x > m || y > m || z > m) {
    throw new LimitError({
      argument: limit.argument,
      expected: `at most maxComputeWorkgroupsPerDimension = ${m} workgroups along an axis`,
      actual: `${Math.max(x, y, z)} workgroups of ${limit.kernel}`,
    });
  }
  return { x, y, z };
}

/**
 * The grid of a linear dispatch of `items` work items, `perWorkgroup` to a workgroup: rows of up to
 * maxComputeWorkgroupsPerDimension workgroups along x, stacked along y (a shader's linear id is
 * `id.y * rowStride + id.x`). Beyond maxComputeWorkgroupsPerDimension^2 workgroups, or MAX_LINEAR_ITEMS
 * items, a `LimitError`.
 */
export function linearGrid(items: number, perWorkgroup: number, limit: GridLimit): Grid {
  const m = limit.maxDim;
  const groups = Math.ceil(items / perWorkgroup);
  const x = Math.min(groups, m);
  const y = Math.ceil(groups / x);
  if (y > m || items > MAX_LINEAR_ITEMS) {
    throw new LimitError({
      argument: limit.argument,
      expected: `at most maxComputeWorkgroupsPerDimension^2 = ${m * m} workgroups (and 2^31 - 1 work items) per dispatch`,
      actual: `${items} work items of ${limit.kernel}`,
    });
  }
  return { x, y, z: 1 };
}

/** [base, count) pieces of `count` of at most maxComputeWorkgroupsPerDimension each: one axis split over dispatches. */
export function axisPieces(count: number, maxDim: number): Array<{ readonly base: number; readonly count: number }> {
  const pieces: Array<{ base: number; count: number }> = [];
  for (let base = 0; base < count; base += maxDim) pieces.push({ base, count: Math.min(maxDim, count - base) });
  return pieces;
}
