/**
 * Tolerances of deform_conv2d results, per tensor, the same for every backend. A value passes when
 * `|got - want| <= atol + rtol * |want|`.
 *
 * Why these numbers. A float32 kernel accumulates in another order than torchvision (or than the float64
 * reference), so its error is rounding, about eps32 = 6e-8 per accumulated term relative to the size of
 * the terms. With the data the suites use (inputs, offsets' image gradients and gradOutput of order 1,
 * weights of order 1/sqrt(fan-in)), torchvision's own float32-vs-float64 gap on the golden cases is
 * 1e-7..2e-6 for outputs and most gradients and up to 8e-6 for grad_weight, the longest reduction
 * (`check.f32_vs_f64_maxabs`), and the float64 reference uses at most 5% of these bounds on the golden
 * set. The bounds sit one to two orders of magnitude above that, which still leaves every kernel bug we
 * know of (a misplaced tap, a swapped dy/dx, a clamped border, a wrong sign, a wrong derivative at
 * integer coordinates) failing by 1e-2 or more. `atol` grows linearly with the number of terms a value
 * sums (its reduction size R) once R exceeds 64, because the worst-case rounding of a float32 sum grows
 * with R; below 64 terms the floor applies. A vectors file can override them per case (`tolerance`) for
 * data of another scale.
 */
import type { ConvGeometry } from '@dcnv2/core';

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

export const CONV_TENSORS = ['output', 'grad_input', 'grad_offset', 'grad_mask', 'grad_weight', 'grad_bias'] as const;
export type ConvTensorName = (typeof CONV_TENSORS)[number];

/** Reduction size at which atol starts to grow. */
const REDUCTION_FLOOR = 64;

interface ToleranceRule {
  /** atol for reductions of up to 64 terms. */
  readonly atol: number;
  readonly rtol: number;
  /** What R is for this tensor, in words (for the README and reports). */
  readonly reduction: string;
  readonly size: (g: ConvGeometry) => number;
}

export const TOLERANCE_RULES: Readonly<Record<ConvTensorName, ToleranceRule>> = {
  // A dot product of Cin/groups*kh*kw modulated samples with weights: the classic float32 reduction.
  output: {
    atol: 1e-4,
    rtol: 1e-4,
    reduction: 'Cin/groups*kh*kw',
    size: (g) => (g.inChannels / g.groups) * g.kernelH * g.kernelW,
  },
  // Each column gradient sums Cout/groups terms and is scattered to up to 4 bilinear corners of every
  // tap that lands near a pixel, so a pixel collects about Cout/groups*kh*kw*4 terms.
  grad_input: {
    atol: 1e-4,
    rtol: 1e-4,
    reduction: '4*(Cout/groups)*kh*kw',
    size: (g) => 4 * (g.outChannels / g.groups) * g.kernelH * g.kernelW,
  },
  // The coordinate gradient is a difference of neighbouring pixels (cancellation) times a column
  // gradient (a Cout/groups reduction), summed over the Cin/offsetGroups channels sharing the offset;
  // and a float32 kernel computes the sampling position y = base + dy with an ulp of up to 1e-6 at these
  // image sizes, which moves the interpolation fractions that weight those differences. Hence 5x the
  // output's atol and 10x its rtol.
  grad_offset: {
    atol: 5e-4,
    rtol: 1e-3,
    reduction: '(Cin/offsetGroups)*(Cout/groups)',
    size: (g) => (g.inChannels / g.offsetGroups) * (g.outChannels / g.groups),
  },
  // Sum over the channels of an offset group of (column gradient * sample): two nested reductions.
  grad_mask: {
    atol: 2e-4,
    rtol: 1e-4,
    reduction: '(Cin/offsetGroups)*(Cout/groups)',
    size: (g) => (g.inChannels / g.offsetGroups) * (g.outChannels / g.groups),
  },
  // Reductions over every output position of the batch, N*Ho*Wo terms, of order 1 each.
  grad_weight: {
    atol: 1e-4,
    rtol: 1e-4,
    reduction: 'N*Ho*Wo',
    size: (g) => g.batch * g.outHeight * g.outWidth,
  },
  grad_bias: {
    atol: 1e-4,
    rtol: 1e-4,
    reduction: 'N*Ho*Wo',
    size: (g) => g.batch * g.outHeight * g.outWidth,
  },
};

/** The suite's tolerance for one tensor of one problem. */
export function defaultTolerance(tensor: ConvTensorName, g: ConvGeometry): Tolerance {
  const rule = TOLERANCE_RULES[tensor];
  const scale = Math.max(1, rule.size(g) / REDUCTION_FLOOR);
  return { atol: rule.atol * scale, rtol: rule.rtol };
}

/** Default tolerance, with any field a vectors case overrides replaced. */
export function caseTolerance(tensor: ConvTensorName, g: ConvGeometry, override?: Partial<Tolerance>): Tolerance {
  const d = defaultTolerance(tensor, g);
  return { atol: override?.atol ?? d.atol, rtol: override?.rtol ?? d.rtol };
}

/**
 * Tolerance for comparing two float32 results with each other (two backends, or a backend with itself
 * on an equivalent problem): each may be off the exact value by one tolerance, so they may differ by two.
 */
export function pairTolerance(t: Tolerance, factor = 2): Tolerance {
  return { atol: t.atol * factor, rtol: t.rtol * factor };
}

/** Maps the public API's gradient names to the tensor names used in vectors files and rows. */
export function gradTensorName(grad: 'input' | 'offset' | 'mask' | 'weight' | 'bias'): ConvTensorName {
  return `grad_${grad}`;
}
