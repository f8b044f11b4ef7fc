/**
 * A deform_conv2d case: a shape (shapes.ts), its inputs (case-data.ts), its float64 references (reference.ts,
 * computed on first use within their budgets and shared by both directions) and the check (agreement.ts).
 */
import { convMacs } from '@dcnv2/core';
import { checkImpl } from './agreement.js';
import { oncePerKind, type BenchCase } from './bench-case.js';
import { caseTensorEntries, makeCaseData, type CaseMeta } from './case-data.js';
import type { ConvKind, ImplKind } from './impls.js';
import type { Progress } from './progress.js';
import { backwardReference, BACKWARD_REFERENCE_MACS, forwardReference, type ForwardReference, type GradTensor } from './reference.js';
import { directionFlops, shapeGeometry, type NamedShape } from './shapes.js';

function convKind(kind: ImplKind): ConvKind {
  if (kind !== 'deformable' && kind !== 'dense') throw new Error(`a deform_conv2d row is deformable or dense, not ${kind}`);
  return kind;
}

export function convBenchCase(shape: NamedShape, seed: number, progress: Progress): BenchCase {
  const g = shapeGeometry(shape.spec);
  const c = makeCaseData(g, seed);
  const meta: CaseMeta = { op: 'deform_conv2d', geometry: g, seed };
  const forwardOf = oncePerKind((kind: ConvKind): ForwardReference => {
    const t0 = performance.now();
    const r = forwardReference(c, kind);
    progress.info(`${shape.label}: float64 ${kind} forward reference on ${r.channels.length} of ${g.outChannels} channels (${Math.round(performance.now() - t0)} ms)`);
    return r;
  });
  const backwardOf = oncePerKind((kind: ConvKind): Partial<Record<GradTensor, Float64Array>> | null => {
    const t0 = performance.now();
    const r = backwardReference(c, kind);
    if (r !== null) progress.info(`${shape.label}: float64 ${kind} backward reference (${Math.round(performance.now() - t0)} ms)`);
    return r;
  });

  return {
    op: 'deform_conv2d',
    label: shape.label,
    dims: { ...shape.spec },
    meta,
    tensorEntries: () => caseTensorEntries(c),
    flops: (direction) => directionFlops(g, direction),
    hasGradReference: () => convMacs(g) <= BACKWARD_REFERENCE_MACS,
    check(kind, direction, outputs, baseline) {
      const k = convKind(kind);
      const grads = direction === 'fwdbwd' ? backwardOf(k) : null;
      return checkImpl({ kind: k, direction, geometry: g, outputs }, { forward: forwardOf(k), grads, baseline });
    },
  };
}
