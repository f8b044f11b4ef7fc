/**
 * One concrete convolution problem (geometry plus host data) and the two ways the suites evaluate it:
 * on a backend, through core's public `deformConv2d` / `deformConv2dBackward` (so core's validation and
 * handle plumbing are exercised exactly as users exercise them), and on the float64 reference.
 */
import {
  deformConv2d,
  deformConv2dBackward,
  OPS,
  type Backend,
  type ConvGeometry,
  type DeformConv2dArgs,
  type DeformConv2dParams,
  type GradName,
  hasKernel,
} from '@dcnv2/core';
import { deformConv2dBackwardF64, deformConv2dF64, type ConvGradsF64 } from './reference/deform-conv2d-f64.js';

export interface ConvCase {
  readonly geometry: ConvGeometry;
  readonly input: Float32Array;
  readonly weight: Float32Array;
  readonly offset: Float32Array;
  readonly mask: Float32Array | null;
  readonly bias: Float32Array | null;
  /** dL/d(output) for the backward pass; null for forward-only cases. */
  readonly gradOutput: Float32Array | null;
}

/** The convolution as core's op table declares it. */
const OP = OPS.deform_conv2d;

/** The gradients of the convolution, in delivery order: core's `OPS.deform_conv2d.grads`. */
export const GRAD_NAMES: readonly GradName[] = OP.grads;

export type BackendGrads = { [K in GradName]?: Float32Array };

/** The public-API parameters that reproduce a geometry. */
export function convParams(g: ConvGeometry): DeformConv2dParams {
  return {
    stride: [g.strideH, g.strideW],
    padding: [g.padTop, g.padLeft, g.padBottom, g.padRight],
    dilation: [g.dilationH, g.dilationW],
    groups: g.groups,
    offsetGroups: g.offsetGroups,
  };
}

/** True when the backend has a deform_conv2d forward kernel. */
export function hasConvForward(b: Backend): boolean {
  return hasKernel(b, 'deform_conv2d', 'forward');
}

/** True when the backend has a deform_conv2d backward kernel. */
export function hasBackward(b: Backend): boolean {
  return hasKernel(b, 'deform_conv2d', 'backward');
}

/** The case's tensors as the op's `args`, each input of the op table shaped by its shape function. */
function args(c: ConvCase) {
  const s = OP.shapes(c.geometry);
  const a: Record<string, { shape: readonly number[]; data: Float32Array } | null> = {};
  for (const { name } of OP.inputs) {
    const data = c[name];
    a[name] = data === null ? null : { shape: s[name], data };
  }
  return a as unknown as DeformConv2dArgs;
}

/** Forward on a backend through the public API. */
export async function backendForward(backend: Backend, c: ConvCase): Promise<Float32Array> {
  const r = await deformConv2d(args(c), convParams(c.geometry), { backend });
  return r.data;
}

/** Backward on a backend through the public API; `grads` defaults to every gradient that exists. */
export async function backendBackward(backend: Backend, c: ConvCase, grads?: readonly GradName[]): Promise<BackendGrads> {
  if (c.gradOutput === null) throw new Error('this case has no gradOutput');
  const s = OP.shapes(c.geometry);
  const r = await deformConv2dBackward(
    { ...args(c), gradOutput: { shape: s.output, data: c.gradOutput } },
    convParams(c.geometry),
    grads === undefined ? { backend } : { backend, grads },
  );
  const out: BackendGrads = {};
  for (const k of GRAD_NAMES) {
    const t = r[k];
    if (t !== undefined) out[k] = t.data;
  }
  return out;
}

/** Forward on the float64 reference. */
export function referenceForward(c: ConvCase): Float64Array {
  return deformConv2dF64(c.geometry, c);
}

/** Backward on the float64 reference. */
export function referenceBackward(c: ConvCase): ConvGradsF64 {
  if (c.gradOutput === null) throw new Error('this case has no gradOutput');
  return deformConv2dBackwardF64(c.geometry, c, c.gradOutput);
}

/** One line describing a case's configuration, for row details and failure reports. */
export function describeCase(c: ConvCase): string {
  const g = c.geometry;
  return [
    `N${g.batch} C${g.inChannels}->${g.outChannels} ${g.inHeight}x${g.inWidth}`,
    `k${g.kernelH}x${g.kernelW} s${g.strideH}x${g.strideW} p${g.padTop},${g.padLeft},${g.padBottom},${g.padRight} d${g.dilationH}x${g.dilationW}`,
    `g${g.groups} og${g.offsetGroups} out${g.outHeight}x${g.outWidth}`,
    `${c.mask === null ? 'no-mask' : 'mask'} ${c.bias === null ? 'no-bias' : 'bias'}`,
  ].join(' ');
}
