/**
 * Test backends made from another one with some kernels replaced: the deliberately broken wrappers of the
 * reference (mutants), forward-only or convolution-only variants. Hooks are written as methods named after
 * the public functions (`deformConv2d`, `deformRoiPoolBackward`, ...), as backends' own typed APIs are.
 */
import { kernelsFromMethods, OPS, type Backend, type BuiltinKernelMethods, type KernelDirection } from '@dcnv2/core';

/** `base` under `name` with the kernels `hooks` gives replacing its own (the rest kept). */
export function withKernelHooks<H>(base: Backend<H>, name: string, hooks: Partial<BuiltinKernelMethods<H>>): Backend<H> {
  const replaced = kernelsFromMethods<H>(hooks, [OPS.deform_conv2d, OPS.deform_roi_pool]);
  const kernels: Record<string, unknown> = { ...base.kernels };
  for (const [op, k] of Object.entries(replaced)) kernels[op] = { ...(base.kernels[op] ?? {}), ...k };
  return { ...base, name, kernels: kernels as Backend<H>['kernels'] };
}

/** `base` under `name` without the kernels listed (`['deform_roi_pool', 'forward'], ...`). */
export function withoutKernels<H>(base: Backend<H>, name: string, drop: readonly (readonly [string, KernelDirection])[]): Backend<H> {
  const kernels: Record<string, Record<string, unknown>> = {};
  for (const [op, k] of Object.entries(base.kernels)) kernels[op] = { ...(k ?? {}) };
  for (const [op, d] of drop) if (kernels[op] !== undefined) delete kernels[op][d];
  return { ...base, name, kernels: kernels as Backend<H>['kernels'] };
}

/** Runs a backend's kernel directly (tests of a kernel's own contract). */
export function kernelOf<H>(b: Backend<H>) {
  const conv = b.kernels.deform_conv2d!;
  const roi = b.kernels.deform_roi_pool!;
  const methods: BuiltinKernelMethods<H> = {
    deformConv2d: (geometry, inputs) => conv.forward!({ geometry, inputs, backend: b }),
    deformConv2dBackward: (geometry, inputs, gradOutput, want) => conv.backward!({ geometry, inputs, gradOutput, want, backend: b }),
    deformRoiPool: (geometry, inputs) => roi.forward!({ geometry, inputs, backend: b }),
    deformRoiPoolBackward: (geometry, inputs, gradOutput, want) => roi.backward!({ geometry, inputs, gradOutput, want, backend: b }),
  };
  return methods;
}
