/**
 * A deform_roi_pool case: a shape (roi-shapes.ts), its inputs (roi-case-data.ts), its float64 references
 * (roi-reference.ts, computed on first use and shared by both directions) and the check.
 *
 * Work count: a bilinear sample of one channel is four multiply-adds, 8 flops, so the forward counts
 * 8 * (bilinear samples, `roiSampleCount`); forward + backward three times that (the forward, the
 * bilinear scatter into grad_input, and the corner differences of grad_offset with the sample values of
 * grad_mask), as the convolution counts three GEMMs. Index and weight arithmetic is not counted, so
 * GFLOP/s compares implementations of the same case, not RoI pooling with convolution.
 */
import { oncePerKind, type BenchCase } from './bench-case.js';
import type { ImplKind, RoiKind } from './impls.js';
import type { Progress } from './progress.js';
import { makeRoiCaseData, roiCaseTensorEntries, roiSampleCount, type RoiCaseMeta } from './roi-case-data.js';
import { BACKWARD_REFERENCE_SAMPLES, checkRoiImpl, roiBackwardReference, roiForwardReference, type RoiGradTensor } from './roi-reference.js';
import type { RoiNamedShape } from './roi-shapes.js';
import type { Direction } from './shapes.js';

export const FLOPS_PER_SAMPLE = 8;

function roiKind(kind: ImplKind): RoiKind {
  if (kind !== 'deformable' && kind !== 'plain') throw new Error(`a deform_roi_pool row is deformable or plain, not ${kind}`);
  return kind;
}

export function roiDirectionFlops(samples: number, direction: Direction): number {
  const fwd = FLOPS_PER_SAMPLE * samples;
  return direction === 'fwd' ? fwd : 3 * fwd;
}

export function roiBenchCase(shape: RoiNamedShape, seed: number, progress: Progress): BenchCase {
  const c = makeRoiCaseData(shape.spec, seed);
  const meta: RoiCaseMeta = { op: 'deform_roi_pool', geometry: c.geometry, seed };
  const samples = roiSampleCount(c);

  const timed = <T>(what: string, f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    progress.info(`${shape.label}: float64 ${what} reference (${Math.round(performance.now() - t0)} ms)`);
    return r;
  };
  const forwardOf = oncePerKind((kind: RoiKind) => timed(`${kind} forward`, () => roiForwardReference(c, kind)));
  const backwardOf = oncePerKind((kind: RoiKind): Partial<Record<RoiGradTensor, Float64Array>> | null =>
    samples > BACKWARD_REFERENCE_SAMPLES ? null : timed(`${kind} backward`, () => roiBackwardReference(c, kind)),
  );

  return {
    op: 'deform_roi_pool',
    label: shape.label,
    dims: { ...shape.spec },
    meta,
    tensorEntries: () => roiCaseTensorEntries(c),
    flops: (direction) => roiDirectionFlops(samples, direction),
    hasGradReference: () => samples <= BACKWARD_REFERENCE_SAMPLES,
    check(kind, direction, outputs, baseline) {
      const k = roiKind(kind);
      const grads = direction === 'fwdbwd' ? backwardOf(k) : null;
      return checkRoiImpl({ kind: k, direction, data: c, outputs }, { forward: forwardOf(k), grads, baseline });
    },
  };
}
