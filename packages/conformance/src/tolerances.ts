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
 *
 * A backend that stores tensors as float16 (`backend.precision === 'float16'`) is held to its own rule
 * set, TOLERANCE_RULES_F16 below: the expectations stay those of the float32 inputs, so its results carry
 * the rounding of every input, not only of the arithmetic.
 */
import { OPS, type ConvGeometry, type GradName } from '@dcnv2/core';

/** Storage precision of a backend's tensors (core's `Backend.precision`; absent = float32). */
export type Precision = 'float32' | 'float16';

/** The precision a backend's results are judged at. */
export function precisionOf(backend: { readonly precision?: Precision }): Precision {
  return backend.precision ?? 'float32';
}

/** The coarser of two precisions: a comparison of two results is as loose as its less precise side. */
export function coarserPrecision(a: Precision, b: Precision): Precision {
  return a === 'float16' || b === 'float16' ? 'float16' : 'float32';
}

/** Unit roundoff of binary16 (11 significant bits): the relative error of storing a value as float16. */
export const FLOAT16_UNIT_ROUNDOFF = 2 ** -11;

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** The tensors a convolution case compares: its output and, per gradient of core's op table, `grad_<name>`. */
export type ConvTensorName = 'output' | `grad_${GradName}`;
export const CONV_TENSORS: readonly ConvTensorName[] = Object.freeze(['output', ...OPS.deform_conv2d.grads.map(gradTensorName)]);

/** Reduction size at which atol starts to grow. */
const REDUCTION_FLOOR = 64;

/** The tolerance rule of one tensor of an op whose problems have geometry `G`. */
export interface ToleranceRule<G = ConvGeometry> {
  /** atol for reductions of up to 64 terms. */
  readonly atol: number;
  readonly rtol: number;
  /** What R is for this tensor, in words (for the README and reports). */
  readonly reduction: string;
  readonly size: (g: G) => number;
}

/** How much a rule's atol grows on a problem: linearly with its reduction size R once R exceeds 64. */
export function reductionScale<G>(rule: ToleranceRule<G>, g: G): number {
  return Math.max(1, rule.size(g) / REDUCTION_FLOOR);
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

/**
 * Float16 storage. Every input (input, weight, offset, mask, bias, gradOutput) is rounded to 11
 * significant bits, a relative error of up to FLOAT16_UNIT_ROUNDOFF = 4.9e-4, before float32 arithmetic
 * sees it, and every result is rounded once more when stored. A term of a reduction is a product of up
 * to four rounded inputs (weight * mask * pixel * gradOutput; an offset moves the bilinear fractions by
 * its own rounding times the image gradient), so a result moves by up to ~4 * 4.9e-4 * sum|terms|, plus
 * 4.9e-4 * |result| from its own rounding. The errors scale with sum|terms|, not with |result|: with
 * cancellation (a small result of large terms) the relative error is unbounded, hence an atol that, as
 * for float32, grows linearly with the reduction size R beyond 64 terms (sum|terms| grows at most like
 * R), and an rtol of 4 roundoffs (2e-3) for the result's own rounding and its dominant terms. Measured
 * on lavapipe (Mesa 25), the largest errors over the golden set and 400 seeded fuzz cases reach 90x
 * (output), 60x (grad_input), 70x (grad_mask), 140x (grad_weight), 20x (grad_bias) and 10x (grad_offset)
 * the float32 atol, and use at most 45% of these bounds (grad_input; 35% grad_weight and grad_bias, 26%
 * output); a kernel bug (a misplaced tap, a swapped axis, a wrong derivative) is still off by 1e-1 or more.
 *
 * One effect is no rounding error and no tolerance covers it: a sampling position within one float16
 * rounding of an integer may land on the other side of it, and torchvision's one-sided coordinate
 * derivative there jumps by a difference of pixels. So a float16 grad_offset element also passes when it
 * matches the float64 reference evaluated on the float16-rounded inputs (see suites/conv-op.ts).
 */
export const TOLERANCE_RULES_F16: Readonly<Record<ConvTensorName, ToleranceRule>> = {
  output: { ...TOLERANCE_RULES.output, atol: 2e-2, rtol: 2e-3 },
  grad_input: { ...TOLERANCE_RULES.grad_input, atol: 1.5e-2, rtol: 2e-3 },
  grad_offset: { ...TOLERANCE_RULES.grad_offset, atol: 1.5e-2, rtol: 4e-3 },
  grad_mask: { ...TOLERANCE_RULES.grad_mask, atol: 3e-2, rtol: 2e-3 },
  grad_weight: { ...TOLERANCE_RULES.grad_weight, atol: 6e-2, rtol: 2e-3 },
  grad_bias: { ...TOLERANCE_RULES.grad_bias, atol: 1e-2, rtol: 2e-3 },
};

/** The suite's tolerance for one tensor of one problem, for results of a backend of `precision`. */
export function defaultTolerance(tensor: ConvTensorName, g: ConvGeometry, precision: Precision = 'float32'): Tolerance {
  const rule = (precision === 'float16' ? TOLERANCE_RULES_F16 : TOLERANCE_RULES)[tensor];
  const scale = reductionScale(rule, g);
  return { atol: rule.atol * scale, rtol: rule.rtol };
}

/**
 * Default tolerance, with any field a vectors case overrides replaced. An override is stated for float32
 * results (the scale of the case's data); for float16 it is widened by the ratio of the two rule sets.
 */
export function caseTolerance(tensor: ConvTensorName, g: ConvGeometry, override?: Partial<Tolerance>, precision: Precision = 'float32'): Tolerance {
  const d = defaultTolerance(tensor, g, precision);
  const f32 = TOLERANCE_RULES[tensor];
  const own = (precision === 'float16' ? TOLERANCE_RULES_F16 : TOLERANCE_RULES)[tensor];
  return {
    atol: override?.atol !== undefined ? override.atol * (own.atol / f32.atol) : d.atol,
    rtol: override?.rtol !== undefined ? override.rtol * (own.rtol / f32.rtol) : d.rtol,
  };
}

/**
 * The tolerance of a result that must be exact (every sample outside the image gives exactly the bias,
 * exactly zero gradients): none for float32; for float16 the result may differ by the rounding of the
 * stored result, FLOAT16_UNIT_ROUNDOFF relative (the bias itself is stored rounded).
 */
export function exactTolerance(precision: Precision = 'float32'): Tolerance {
  // 2^-25: half the smallest float16 subnormal, the rounding of a result too small to be normal.
  return precision === 'float16' ? { atol: 2 ** -25, rtol: FLOAT16_UNIT_ROUNDOFF } : { atol: 0, rtol: 0 };
}

/**
 * Tolerance for comparing two float32 results with each other (two backends, or a backend with itself
 * on an equivalent problem): each may be off the exact value by one tolerance, so they may differ by two.
 */
export function pairTolerance(t: Tolerance, factor = 2): Tolerance {
  return { atol: t.atol * factor, rtol: t.rtol * factor };
}

/** Maps the public API's gradient names to the tensor names used in vectors files and rows. */
export function gradTensorName(grad: GradName): ConvTensorName {
  return `grad_${grad}`;
}
