/**
 * Forward pass: per batch image and tile of output pixels, build the sampling plan of each offset group
 * once, gather the tile's columns (deformable im2col) chunk by chunk of input channels, and multiply:
 *
 *   out[n, grp*CoutG .. , tile] += W[grp][CoutG, chunk*K] x col[chunk*K, P]
 *
 * then add the bias. Channels are visited in increasing order (conv group, chunk, channel), and offset
 * groups are contiguous channel ranges, so each offset group's plan is built exactly once per tile even
 * when offset groups and conv groups cut the channels differently.
 */
import type { ConvGeometry } from '@dcnv2/core';
import { convSizes } from './conv-sizes.js';
import { gemm, type GemmScratch } from './gemm.js';
import { im2colChannel } from './im2col.js';
import { buildPlan, SamplingPlan } from './sampling-plan.js';
import { chooseTiling, type TilingLimits } from './tiling.js';

export interface ConvData {
  readonly input: Float32Array;
  readonly weight: Float32Array;
  readonly offset: Float32Array;
  readonly mask: Float32Array | null;
  readonly bias: Float32Array | null;
}

export function forward(g: ConvGeometry, d: ConvData, limits: TilingLimits, scratch: GemmScratch): Float32Array {
  const { N, Cin, Cout, groups, HW, HoWo, K, Cg, CoutG, CgK, perOffsetGroup } = convSizes(g);
  const out = new Float32Array(N * Cout * HoWo);
  if (N === 0) return out;

  const { P, chunk } = chooseTiling(g, limits, false);
  const plan = new SamplingPlan(K * P, false);
  const col = new Float32Array(chunk * K * P);

  for (let n = 0; n < N; n++) {
    for (let p0 = 0; p0 < HoWo; p0 += P) {
      const pt = Math.min(P, HoWo - p0);
      const count = K * pt;
      let planOg = -1;
      for (let grp = 0; grp < groups; grp++) {
        for (let c0 = 0; c0 < Cg; c0 += chunk) {
          const cc = Math.min(chunk, Cg - c0);
          for (let cl = 0; cl < cc; cl++) {
            const c = grp * Cg + c0 + cl;
            const og = Math.floor(c / perOffsetGroup);
            if (og !== planOg) {
              buildPlan(plan, g, n, og, p0, pt, d.offset, d.mask);
              planOg = og;
            }
            im2colChannel(plan, count, d.input, (n * Cin + c) * HW, g.inWidth, col, cl * count);
          }
          // out[CoutG, pt] += W_g[:, c0*K .. (c0+cc)*K] x col[cc*K, pt]
          gemm(
            CoutG, pt, cc * K,
            { data: d.weight, offset: grp * CoutG * CgK + c0 * K, rs: CgK, cs: 1 },
            { data: col, offset: 0, rs: pt, cs: 1 },
            out, (n * Cout + grp * CoutG) * HoWo + p0, HoWo,
            true, scratch,
          );
        }
      }
    }
  }

  const bias = d.bias;
  if (bias !== null) {
    for (let n = 0; n < N; n++) {
      for (let co = 0; co < Cout; co++) {
        const b = bias[co];
        const o = (n * Cout + co) * HoWo;
        for (let q = 0; q < HoWo; q++) out[o + q] += b;
      }
    }
  }
  return out;
}
