/**
 * Between the ops (ops.ts) and the kernels of every tfjs backend: which ops have kernels, and core's params
 * from a kernel's attributes.
 */
import type { NamedAttrMap } from '@tensorflow/tfjs-core';

/** The ops with tfjs kernels, by core's names. */
export type KernelOp = 'deform_conv2d' | 'deform_roi_pool';

/**
 * This package's own attributes: `inputNames` (the forward call's inputs, in order, for the gradient),
 * `gradNames` (the gradients a gradient kernel returns) and `dataFormat` (the caller's layout).
 */
const OWN_ATTRS = new Set(['inputNames', 'gradNames', 'dataFormat']);

/** Core's params from a kernel's attributes: all but this package's own. */
export function kernelParams(attrs: NamedAttrMap | undefined): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null && !OWN_ATTRS.has(k)) p[k] = v;
  return p;
}
