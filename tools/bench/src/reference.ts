/**
 * Float64 references for the agreement check, from the conformance package's reference implementations (plain
 * loops that share no code with any backend). Their cost is bounded so that the check never dominates a run:
 *
 * - forward: the full output when it costs at most FORWARD_REFERENCE_MACS multiply-adds, else a subset of output
 *   channels spread over the range (always the first and the last), every position and batch item of each. The
 *   sampling of every input channel and tap is computed either way, so a wrong tap, offset or border rule shows
 *   in any channel; a subset only narrows which GEMM rows are checked.
 * - backward: all gradients when the forward costs at most BACKWARD_REFERENCE_MACS (A–D qualify), else none, and
 *   the agreement check falls back to comparing implementations with each other (agreement.ts).
 */
import { convMacs, type ConvGeometry } from '@dcnv2/core';
import { conv2dF64, deformConv2dBackwardF64, deformConv2dF64 } from '@dcnv2/conformance';
import type { CaseData } from './case-data.js';
import type { ConvKind } from './impls.js';

export const FORWARD_REFERENCE_MACS = 1.2e8;
export const BACKWARD_REFERENCE_MACS = 1.2e8;
/** Fewest output channels the forward reference checks (when Cout has that many). */
export const MIN_REFERENCE_CHANNELS = 8;

export interface ForwardReference {
  /** Output channels the reference covers, ascending. */
  readonly channels: readonly number[];
  /** `[N, channels.length, Ho, Wo]`. */
  readonly values: Float64Array;
  /** True when `channels` is every output channel. */
  readonly full: boolean;
}

export type GradTensor = 'grad_input' | 'grad_offset' | 'grad_mask' | 'grad_weight' | 'grad_bias';

/** Gradients each kind must produce in forward + backward. */
export const EXPECTED_GRADS: Readonly<Record<ConvKind, readonly GradTensor[]>> = {
  deformable: ['grad_input', 'grad_offset', 'grad_mask', 'grad_weight', 'grad_bias'],
  dense: ['grad_input', 'grad_weight', 'grad_bias'],
};

/** Output channels the forward reference computes: all, or an even spread within the multiply-add budget. */
export function referenceChannels(g: ConvGeometry, budget = FORWARD_REFERENCE_MACS): number[] {
  const cout = g.outChannels;
  const perChannel = convMacs(g) / Math.max(1, cout);
  let k = perChannel === 0 ? cout : Math.floor(budget / perChannel);
  // With groups, a channel subset would change the group structure of the reduced problem: check everything.
  if (g.groups !== 1) k = cout;
  k = Math.min(cout, Math.max(Math.min(MIN_REFERENCE_CHANNELS, cout), k));
  if (k >= cout) return Array.from({ length: cout }, (_, i) => i);
  if (k === 1) return [0];
  const set = new Set<number>();
  for (let i = 0; i < k; i++) set.add(Math.round((i * (cout - 1)) / (k - 1)));
  return [...set].sort((a, b) => a - b);
}

/** The weight rows and bias entries of `channels`, and the geometry of that reduced problem. */
function restrict(c: CaseData, channels: readonly number[]) {
  const g = c.geometry;
  const row = (g.inChannels / g.groups) * g.kernelH * g.kernelW;
  const weight = new Float64Array(channels.length * row);
  const bias = new Float64Array(channels.length);
  channels.forEach((co, i) => {
    weight.set(c.weight.subarray(co * row, (co + 1) * row), i * row);
    bias[i] = c.bias[co];
  });
  return { g: { ...g, outChannels: channels.length }, weight, bias };
}

export function forwardReference(c: CaseData, kind: ConvKind, budget = FORWARD_REFERENCE_MACS): ForwardReference {
  const channels = referenceChannels(c.geometry, budget);
  const r = restrict(c, channels);
  const values =
    kind === 'deformable'
      ? deformConv2dF64(r.g, { input: c.input, weight: r.weight, offset: c.offset, mask: c.mask, bias: r.bias })
      : conv2dF64(r.g, c.input, r.weight, r.bias);
  return { channels, values, full: channels.length === c.geometry.outChannels };
}

/** The output's values at `channels`, laid out `[N, channels.length, Ho, Wo]` like the reference. */
export function gatherChannels(output: Float32Array, g: ConvGeometry, channels: readonly number[]): Float32Array {
  const plane = g.outHeight * g.outWidth;
  const out = new Float32Array(g.batch * channels.length * plane);
  for (let n = 0; n < g.batch; n++) {
    channels.forEach((co, i) => {
      const src = (n * g.outChannels + co) * plane;
      out.set(output.subarray(src, src + plane), (n * channels.length + i) * plane);
    });
  }
  return out;
}

/**
 * Every gradient of L = sum(output * gradOutput) in float64, or null when the shape is above the budget. For
 * a dense conv: the deformable reference with zero offsets and unit masks, which is a plain convolution.
 */
export function backwardReference(c: CaseData, kind: ConvKind, budget = BACKWARD_REFERENCE_MACS): Partial<Record<GradTensor, Float64Array>> | null {
  const g = c.geometry;
  if (convMacs(g) > budget) return null;
  const offset = kind === 'deformable' ? c.offset : new Float32Array(c.offset.length);
  const mask = kind === 'deformable' ? c.mask : new Float32Array(c.mask.length).fill(1);
  const r = deformConv2dBackwardF64(g, { input: c.input, weight: c.weight, offset, mask, bias: c.bias }, c.gradOutput);
  const all: Partial<Record<GradTensor, Float64Array | null>> = {
    grad_input: r.input,
    grad_offset: r.offset,
    grad_mask: r.mask,
    grad_weight: r.weight,
    grad_bias: r.bias,
  };
  const out: Partial<Record<GradTensor, Float64Array>> = {};
  for (const name of EXPECTED_GRADS[kind]) {
    const v = all[name];
    if (v !== null && v !== undefined) out[name] = v;
  }
  return out;
}
