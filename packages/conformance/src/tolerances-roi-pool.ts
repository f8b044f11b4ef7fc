/**
 * Tolerances of deform_roi_pool results, per tensor, the same for every backend. A value passes when
 * `|got - want| <= atol + rtol * |want|`, as for the convolution (`tolerances.ts`).
 *
 * Why these numbers. The suites feed inputs, masks and gradOutput of order 1 (normals, sigmoids), so a
 * float32 kernel's error is rounding: about eps32 = 6e-8 per accumulated term relative to the terms, plus
 * what a float32 sampling position (ulp up to 4e-6 at the coordinates the suites reach, |y| < 64) moves
 * the interpolation fractions by. The golden reference is float64 of float32-rounded inputs; the float64
 * reference of this package reproduces it to 1e-7 (float32 output rounding). The bounds below sit two
 * orders of magnitude above float32 rounding, while the bugs the suite is tested against (offsets read y
 * first, no half-pixel shift, the mask applied twice, no clamp at y <= 0, count not max(.., 1), a negated
 * gradient) fail by 1e-2 or more. `atol` grows linearly with the reduction size R of a value once R
 * exceeds 64, as for the convolution; below that the floor applies. A vectors case can override these per
 * tensor (`tolerance`).
 */
import type { RoiPoolGeometry, RoiPoolGradName } from '@dcnv2/core';
import { reductionScale, type Tolerance, type ToleranceRule } from './tolerances.js';
import { roiFrame } from './reference/deform-roi-pool-f64.js';
import type { RoiPoolTensorName } from './vectors.js';

/** A rule as for the convolution (atol before the offset lever, for grad_offset), and the lever. */
interface RoiToleranceRule extends ToleranceRule<RoiPoolGeometry> {
  /** grad_offset only: multiply atol by the largest gamma * RoI side (at least 1). */
  readonly lever: boolean;
}

export const ROI_POOL_TOLERANCE_RULES: Readonly<Record<RoiPoolTensorName, RoiToleranceRule>> = {
  // The mean of a bin's `count` samples times the mask: dividing by count keeps the rounding of the sum
  // at eps relative to the values whatever count is, so no reduction growth (R = 1).
  output: { atol: 1e-4, rtol: 1e-4, reduction: '1 (a mean of count samples)', size: () => 1, lever: false },
  // A pixel collects bilinear weights * mask * gradOutput / count from every bin whose samples come within
  // one pixel of it: at most 4 corners of every bin of every RoI (R*ph*pw*4 terms), each channel alone.
  grad_input: { atol: 1e-4, rtol: 1e-4, reduction: '4*R*ph*pw', size: (g) => 4 * g.rois * g.pooledH * g.pooledW, lever: false },
  // A sum over the C channels of gradOutput * mask / count * (image differences d(value)/dx): cancellation
  // in the differences, and a float32 sampling position moves the fractions that weight them (as for the
  // convolution's grad_offset, 5x the output's atol and 10x its rtol). The chain rule then multiplies the
  // whole value by gamma * roi_w (or roi_h), exactly, so the error grows with that lever too.
  grad_offset: { atol: 5e-4, rtol: 1e-3, reduction: 'C, times max(1, gamma*RoI side)', size: (g) => g.channels, lever: true },
  // A sum over the C channels of gradOutput * (mean of the bin's samples).
  grad_mask: { atol: 2e-4, rtol: 1e-4, reduction: 'C', size: (g) => g.channels, lever: false },
};

/** The largest gamma * max(|roi_w|, |roi_h|) over the RoIs, on the feature map: grad_offset's chain-rule factor. */
export function offsetLever(g: RoiPoolGeometry, rois: ArrayLike<number>): number {
  let lever = 0;
  for (let r = 0; r < g.rois; r++) {
    const f = roiFrame(g, rois, r);
    lever = Math.max(lever, Math.abs(g.gamma) * Math.max(Math.abs(f.roiW), Math.abs(f.roiH)));
  }
  return lever;
}

/** The suite's tolerance for one tensor of one RoI pooling problem (`rois` is needed for grad_offset). */
export function defaultRoiPoolTolerance(tensor: RoiPoolTensorName, g: RoiPoolGeometry, rois: ArrayLike<number>): Tolerance {
  const rule = ROI_POOL_TOLERANCE_RULES[tensor];
  let scale = reductionScale(rule, g);
  if (rule.lever) scale *= Math.max(1, offsetLever(g, rois));
  return { atol: rule.atol * scale, rtol: rule.rtol };
}

/** Default tolerance, with any field a vectors case overrides replaced. */
export function roiPoolCaseTolerance(tensor: RoiPoolTensorName, g: RoiPoolGeometry, rois: ArrayLike<number>, override?: Partial<Tolerance>): Tolerance {
  const d = defaultRoiPoolTolerance(tensor, g, rois);
  return { atol: override?.atol ?? d.atol, rtol: override?.rtol ?? d.rtol };
}

/** Maps the public API's gradient names to the tensor names of vectors files and rows. */
export function roiGradTensorName(grad: RoiPoolGradName): RoiPoolTensorName {
  return `grad_${grad}`;
}
