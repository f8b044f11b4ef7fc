/**
 * Parameters of modulated deformable convolution as users write them, and the fully resolved geometry
 * that backends receive (every number an integer, already checked).
 */

/** One number for both axes, or `[h, w]`. */
export type Pair = number | readonly [number, number];
/** One number for all sides, `[h, w]` (symmetric), or `[top, left, bottom, right]` (ONNX order). */
export type Padding = number | readonly [number, number] | readonly [number, number, number, number];

export interface DeformConv2dParams {
  /** Default 1. */
  readonly stride?: Pair;
  /** Default 0. */
  readonly padding?: Padding;
  /** Default 1. */
  readonly dilation?: Pair;
  /** Convolution groups: Cin and Cout must be divisible by it. Default 1. */
  readonly groups?: number;
  /** Offset groups: channels sharing one offset/mask field. Cin must be divisible by it. Default 1. */
  readonly offsetGroups?: number;
}

/** Everything a kernel needs to know about one call; produced by validation in core. */
export interface ConvGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly outChannels: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly padBottom: number;
  readonly padRight: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly groups: number;
  readonly offsetGroups: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly hasMask: boolean;
  readonly hasBias: boolean;
}

/** Output size along one axis; may be < 1 (validation rejects that). */
export function convOutSize(size: number, padBefore: number, padAfter: number, kernel: number, stride: number, dilation: number): number {
  return Math.floor((size + padBefore + padAfter - (dilation * (kernel - 1) + 1)) / stride) + 1;
}

/** Shapes of every tensor of a call, derived from its geometry. */
export function convShapes(g: ConvGeometry) {
  const taps = g.kernelH * g.kernelW;
  return {
    input: [g.batch, g.inChannels, g.inHeight, g.inWidth],
    weight: [g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW],
    offset: [g.batch, 2 * g.offsetGroups * taps, g.outHeight, g.outWidth],
    mask: [g.batch, g.offsetGroups * taps, g.outHeight, g.outWidth],
    bias: [g.outChannels],
    output: [g.batch, g.outChannels, g.outHeight, g.outWidth],
  } as const;
}

/** Multiply-adds of the forward pass: N*Cout*Ho*Wo*(Cin/groups)*kh*kw. */
export function convMacs(g: ConvGeometry): number {
  return g.batch * g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
}
