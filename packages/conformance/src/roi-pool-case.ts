/**
 * One concrete RoI pooling problem (geometry plus host data) and the two ways the suites evaluate it: on a
 * backend, through core's public `deformRoiPool` / `deformRoiPoolBackward` (so core's validation, RoI
 * checks and handle plumbing are exercised as users exercise them), and on the float64 reference.
 */
import {
  deformRoiPool,
  deformRoiPoolBackward,
  OPS,
  type Backend,
  type DeformRoiPoolArgs,
  type DeformRoiPoolParams,
  type RoiPoolGeometry,
  type RoiPoolGradName,
  hasKernel,
} from '@dcnv2/core';
import { deformRoiPoolBackwardF64, deformRoiPoolF64, type RoiPoolGradsF64 } from './reference/deform-roi-pool-f64.js';

export interface RoiPoolCase {
  readonly geometry: RoiPoolGeometry;
  /** `[N, C, H, W]` */
  readonly input: Float32Array;
  /** `[R, 5]` = (batch index, x1, y1, x2, y2) */
  readonly rois: Float32Array;
  /** `[R, 2, ph, pw]` (x first), or null. */
  readonly offset: Float32Array | null;
  /** `[R, 1, ph, pw]`, or null. */
  readonly mask: Float32Array | null;
  /** dL/d(output) `[R, C, ph, pw]`; null for forward-only cases. */
  readonly gradOutput: Float32Array | null;
}

/** RoI pooling as core's op table declares it. */
const OP = OPS.deform_roi_pool;

/** The gradients of RoI pooling, in delivery order: core's `OPS.deform_roi_pool.grads`. */
export const ROI_GRAD_NAMES: readonly RoiPoolGradName[] = OP.grads;

export type RoiBackendGrads = { [K in RoiPoolGradName]?: Float32Array };

/** The public-API parameters that reproduce a geometry. */
export function roiPoolParams(g: RoiPoolGeometry): DeformRoiPoolParams {
  return { outputSize: [g.pooledH, g.pooledW], spatialScale: g.spatialScale, samplingRatio: g.samplingRatio, gamma: g.gamma };
}

/** True when the backend has a deform_roi_pool forward kernel. */
export function hasRoiPool(b: Backend): boolean {
  return hasKernel(b, 'deform_roi_pool', 'forward');
}

/** True when the backend also has the deform_roi_pool backward kernel. */
export function hasRoiPoolBackward(b: Backend): boolean {
  return hasRoiPool(b) && hasKernel(b, 'deform_roi_pool', 'backward');
}

/** A gradient exists only where its input does (a required input always, an optional one when the case has it). */
export function roiGradExists(c: RoiPoolCase, k: RoiPoolGradName): boolean {
  return !OP.inputs.find((i) => i.name === k)!.optional || c[k] !== null;
}

/** Keeps geometry.hasOffset / hasMask in step with the tensors. */
export function withRoiTensors(c: RoiPoolCase, change: Partial<Omit<RoiPoolCase, 'geometry'>>): RoiPoolCase {
  const next = { ...c, ...change };
  return { ...next, geometry: { ...c.geometry, hasOffset: next.offset !== null, hasMask: next.mask !== null } };
}

/** The case's tensors as the op's `args`, each input of the op table shaped by its shape function. */
function args(c: RoiPoolCase) {
  const s = OP.shapes(c.geometry);
  const a: Record<string, { shape: readonly number[]; data: Float32Array } | null> = {};
  for (const { name } of OP.inputs) {
    const data = c[name];
    a[name] = data === null ? null : { shape: s[name], data };
  }
  return a as unknown as DeformRoiPoolArgs;
}

/** Forward on a backend through the public API. */
export async function backendRoiForward(backend: Backend, c: RoiPoolCase): Promise<Float32Array> {
  const r = await deformRoiPool(args(c), roiPoolParams(c.geometry), { backend });
  return r.data;
}

/** Backward on a backend through the public API; `grads` defaults to every gradient that exists. */
export async function backendRoiBackward(backend: Backend, c: RoiPoolCase, grads?: readonly RoiPoolGradName[]): Promise<RoiBackendGrads> {
  if (c.gradOutput === null) throw new Error('this case has no gradOutput');
  const s = OP.shapes(c.geometry);
  const r = await deformRoiPoolBackward(
    { ...args(c), gradOutput: { shape: s.output, data: c.gradOutput } },
    roiPoolParams(c.geometry),
    grads === undefined ? { backend } : { backend, grads },
  );
  const out: RoiBackendGrads = {};
  for (const k of ROI_GRAD_NAMES) {
    const t = r[k];
    if (t !== undefined) out[k] = t.data;
  }
  return out;
}

/** Forward on the float64 reference. */
export function referenceRoiForward(c: RoiPoolCase): Float64Array {
  return deformRoiPoolF64(c.geometry, c);
}

/** Backward on the float64 reference. */
export function referenceRoiBackward(c: RoiPoolCase): RoiPoolGradsF64 {
  if (c.gradOutput === null) throw new Error('this case has no gradOutput');
  return deformRoiPoolBackwardF64(c.geometry, c, c.gradOutput);
}

/** One line describing a case's configuration, for row details and failure reports. */
export function describeRoiCase(c: RoiPoolCase): string {
  const g = c.geometry;
  const rois: string[] = [];
  for (let r = 0; r < Math.min(g.rois, 4); r++) rois.push(`(${Array.from(c.rois.subarray(r * 5, r * 5 + 5), (v) => +v.toPrecision(5)).join(',')})`);
  return [
    `N${g.batch} C${g.channels} ${g.inHeight}x${g.inWidth} R${g.rois} pool${g.pooledH}x${g.pooledW}`,
    `scale ${g.spatialScale} ratio ${g.samplingRatio} gamma ${g.gamma}`,
    `${c.offset === null ? 'no-offset' : 'offset'} ${c.mask === null ? 'no-mask' : 'mask'}`,
    `rois ${rois.join('')}${g.rois > 4 ? '...' : ''}`,
  ].join(' ');
}
