/**
 * Backward pass, all five gradients of L = sum(output * gradOutput), each computed only when requested.
 * Per batch image and tile of output pixels, per conv group and chunk of input channels:
 *
 *   grad_col[cc*K, P]  = W_g[:, chunk]^T x gradOut_g[CoutG, P]          (GEMM, overwrites the tile)
 *   col2im per channel: grad_input scatter, grad_offset / grad_mask accumulation in the plan
 *   col[cc*K, P]       = deformable im2col (same as forward)             (only for grad_weight)
 *   grad_W_g[:, chunk] += gradOut_g[CoutG, P] x col^T                    (GEMM)
 *
 * grad_offset and grad_mask of an (offset group, tap, pixel) are sums over the offset group's channels;
 * channels are visited in increasing order and offset groups are contiguous, so the plan's accumulators
 * are complete (and written out) when the next offset group's plan replaces it.
 * grad_bias is the sum of gradOutput over N, Ho, Wo.
 */
import type { ConvGeometry, ConvGradRequest } from '@dcnv2/core';
import { col2imChannel, type Col2imTargets } from './col2im.js';
import { convSizes } from './conv-sizes.js';
import type { ConvData } from './forward.js';
import { gemm, type GemmScratch } from './gemm.js';
import { im2colChannel } from './im2col.js';
import { buildPlan, SamplingPlan } from './sampling-plan.js';
import { chooseTiling, type TilingLimits } from './tiling.js';

export interface GradArrays {
  readonly input: Float32Array | null;
  readonly offset: Float32Array | null;
  readonly mask: Float32Array | null;
  readonly weight: Float32Array | null;
  readonly bias: Float32Array | null;
}

export function backward(
  g: ConvGeometry,
  d: ConvData,
  gradOut: Float32Array,
  want: ConvGradRequest,
  limits: TilingLimits,
  scratch: GemmScratch,
): GradArrays {
  const { N, Cin, Cout, groups, HW, HoWo, K, Cg, CoutG, CgK, perOffsetGroup } = convSizes(g);
  const wantMask = want.mask && d.mask !== null;

  const grads: GradArrays = {
    input: want.input ? new Float32Array(d.input.length) : null,
    offset: want.offset ? new Float32Array(d.offset.length) : null,
    mask: wantMask ? new Float32Array(d.mask!.length) : null,
    weight: want.weight ? new Float32Array(d.weight.length) : null,
    bias: want.bias ? new Float32Array(Cout) : null,
  };

  if (grads.bias !== null) {
    for (let co = 0; co < Cout; co++) {
      let s = 0;
      for (let n = 0; n < N; n++) {
        const o = (n * Cout + co) * HoWo;
        for (let q = 0; q < HoWo; q++) s += gradOut[o + q];
      }
      grads.bias[co] = s;
    }
  }

  const needCol2im = want.input || want.offset || wantMask;
  const needIm2col = want.weight;
  if (N === 0 || (!needCol2im && !needIm2col)) return grads;

  const { P, chunk } = chooseTiling(g, limits, true);
  const plan = new SamplingPlan(K * P, true);
  const col = needIm2col ? new Float32Array(chunk * K * P) : null;
  const gcol = needCol2im ? new Float32Array(chunk * K * P) : null;

  for (let n = 0; n < N; n++) {
    for (let p0 = 0; p0 < HoWo; p0 += P) {
      const pt = Math.min(P, HoWo - p0);
      const count = K * pt;
      let planOg = -1;
      for (let grp = 0; grp < groups; grp++) {
        const goutOff = (n * Cout + grp * CoutG) * HoWo + p0;
        for (let c0 = 0; c0 < Cg; c0 += chunk) {
          const cc = Math.min(chunk, Cg - c0);
          if (gcol !== null) {
            // grad_col[cc*K, pt] = W_g[:, c0*K ..]^T x gradOut_g[CoutG, pt]
            gemm(
              cc * K, pt, CoutG,
              { data: d.weight, offset: grp * CoutG * CgK + c0 * K, rs: 1, cs: CgK },
              { data: gradOut, offset: goutOff, rs: HoWo, cs: 1 },
              gcol, 0, pt,
              false, scratch,
            );
          }
          for (let cl = 0; cl < cc; cl++) {
            const c = grp * Cg + c0 + cl;
            const og = Math.floor(c / perOffsetGroup);
            if (og !== planOg) {
              if (planOg >= 0) flushPlan(plan, g, n, planOg, p0, pt, grads);
              buildPlan(plan, g, n, og, p0, pt, d.offset, d.mask);
              planOg = og;
            }
            const xOff = (n * Cin + c) * HW;
            if (gcol !== null) {
              const targets: Col2imTargets = { gradInput: grads.input, giOff: xOff, offset: want.offset, mask: wantMask };
              col2imChannel(plan, count, d.input, xOff, g.inWidth, gcol, cl * count, targets);
            }
            if (col !== null) im2colChannel(plan, count, d.input, xOff, g.inWidth, col, cl * count);
          }
          if (col !== null) {
            // grad_W_g[CoutG, c0*K .. (c0+cc)*K] += gradOut_g[CoutG, pt] x col[cc*K, pt]^T
            gemm(
              CoutG, cc * K, pt,
              { data: gradOut, offset: goutOff, rs: HoWo, cs: 1 },
              { data: col, offset: 0, rs: 1, cs: pt },
              grads.weight!, grp * CoutG * CgK + c0 * K, CgK,
              true, scratch,
            );
          }
        }
      }
      flushPlan(plan, g, n, planOg, p0, pt, grads);
    }
  }
  return grads;
}

/** Writes the finished grad_offset / grad_mask accumulators of one (image, offset group, tile). */
function flushPlan(plan: SamplingPlan, g: ConvGeometry, n: number, og: number, p0: number, pt: number, grads: GradArrays): void {
  const K = g.kernelH * g.kernelW;
  const HoWo = g.outHeight * g.outWidth;
  const go = grads.offset;
  if (go !== null) {
    const base = (n * g.offsetGroups + og) * 2 * K * HoWo + p0;
    for (let t = 0; t < K; t++) {
      const dyRow = base + 2 * t * HoWo;
      const dxRow = dyRow + HoWo;
      for (let p = 0; p < pt; p++) {
        go[dyRow + p] = plan.gy[t * pt + p];
        go[dxRow + p] = plan.gx[t * pt + p];
      }
    }
  }
  const gm = grads.mask;
  if (gm !== null) {
    const base = (n * g.offsetGroups + og) * K * HoWo + p0;
    for (let t = 0; t < K; t++) {
      for (let p = 0; p < pt; p++) gm[base + t * HoWo + p] = plan.gm[t * pt + p];
    }
  }
}
