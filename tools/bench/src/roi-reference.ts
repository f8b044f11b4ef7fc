/**
 * The RoI pooling op's float64 references and agreement check: the conformance package's oracle
 * (`deformRoiPoolF64`, `deformRoiPoolBackwardF64`, plain loops that share no code with any backend) under the
 * conformance suite's RoI pooling tolerances (`defaultRoiPoolTolerance`).
 *
 * Two kinds of rows: `deformable` (dcnv2 with offsets and masks) is held to the modulated reference; `plain`
 * (the RoIAlign peers, and dcnv2 called without offset and mask) to the same reference without offset and
 * mask, which is RoIAlign aligned=True. The forward is always checked whole (RoI pooling is cheap next to a
 * convolution); the backward whole up to BACKWARD_REFERENCE_SAMPLES bilinear samples, above that against the
 * first implementation with a backward (agreement.ts).
 */
import { deformRoiPoolBackwardF64, deformRoiPoolF64, defaultRoiPoolTolerance, type RoiPoolTensorName } from '@dcnv2/conformance';
import { checkAgainst, type CheckedRun, type CheckReferencesOf, type CheckResult } from './agreement.js';
import type { RoiKind } from './impls.js';
import { roiSampleCount, type RoiCaseData } from './roi-case-data.js';

/** Largest forward (in bilinear samples) whose float64 backward is computed; R1 and R2 are below. */
export const BACKWARD_REFERENCE_SAMPLES = 4e7;

export type RoiGradTensor = Exclude<RoiPoolTensorName, 'output'>;

/** Gradients each kind must produce in forward + backward (RoIAlign has only the input's). */
export const ROI_EXPECTED_GRADS: Readonly<Record<RoiKind, readonly RoiGradTensor[]>> = {
  deformable: ['grad_input', 'grad_offset', 'grad_mask'],
  plain: ['grad_input'],
};

/** The reference's tensors for a kind: the plain one has neither offset nor mask. */
function tensorsOf(c: RoiCaseData, kind: RoiKind) {
  const deformable = kind === 'deformable';
  return {
    geometry: { ...c.geometry, hasOffset: deformable, hasMask: deformable },
    tensors: { input: c.input, rois: c.rois, offset: deformable ? c.offset : null, mask: deformable ? c.mask : null },
  };
}

export function roiForwardReference(c: RoiCaseData, kind: RoiKind): Float64Array {
  const t = tensorsOf(c, kind);
  return deformRoiPoolF64(t.geometry, t.tensors);
}

/** Every gradient the kind has, in float64, or null above the budget. */
export function roiBackwardReference(c: RoiCaseData, kind: RoiKind, budget = BACKWARD_REFERENCE_SAMPLES): Partial<Record<RoiGradTensor, Float64Array>> | null {
  if (roiSampleCount(c) > budget) return null;
  const t = tensorsOf(c, kind);
  const r = deformRoiPoolBackwardF64(t.geometry, t.tensors, c.gradOutput);
  const all: Record<RoiGradTensor, Float64Array | null> = { grad_input: r.input, grad_offset: r.offset, grad_mask: r.mask };
  const out: Partial<Record<RoiGradTensor, Float64Array>> = {};
  for (const name of ROI_EXPECTED_GRADS[kind]) {
    const v = all[name];
    if (v !== null) out[name] = v;
  }
  return out;
}

export interface RoiCheckInput extends CheckedRun<RoiKind> {
  readonly data: RoiCaseData;
}

export type RoiCheckReferences = CheckReferencesOf<Float64Array, RoiGradTensor>;

export function checkRoiImpl(input: RoiCheckInput, refs: RoiCheckReferences): CheckResult {
  const g = input.data.geometry;
  const rois = input.data.rois;
  const label = input.kind === 'plain' ? 'RoIAlign f64' : 'f64';
  return checkAgainst(
    input.direction,
    input.outputs,
    {
      output: { want: refs.forward, tol: defaultRoiPoolTolerance('output', g, rois), against: label },
      gradNames: ROI_EXPECTED_GRADS[input.kind],
      gradTolerance: (name) => defaultRoiPoolTolerance(name as RoiGradTensor, g, rois),
      grads: refs.grads,
      gradsAgainst: label,
    },
    refs.grads === null ? refs.baseline : null,
  );
}
