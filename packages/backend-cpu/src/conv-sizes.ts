/**
 * The sizes the convolution's forward and backward passes index with, derived once from the geometry.
 */
import type { ConvGeometry } from '@dcnv2/core';

export interface ConvSizes {
  readonly N: number;
  readonly Cin: number;
  readonly Cout: number;
  readonly groups: number;
  /** Pixels of one input plane (H*W) and of one output plane (Ho*Wo). */
  readonly HW: number;
  readonly HoWo: number;
  /** Kernel taps kh*kw. */
  readonly K: number;
  /** Input and output channels per conv group. */
  readonly Cg: number;
  readonly CoutG: number;
  /** Cg*K: the length of one output channel's weight row. */
  readonly CgK: number;
  /** Input channels per offset group. */
  readonly perOffsetGroup: number;
}

export function convSizes(g: ConvGeometry): ConvSizes {
  const { batch: N, inChannels: Cin, outChannels: Cout, groups, offsetGroups } = g;
  const K = g.kernelH * g.kernelW;
  const Cg = Cin / groups;
  return {
    N, Cin, Cout, groups,
    HW: g.inHeight * g.inWidth,
    HoWo: g.outHeight * g.outWidth,
    K, Cg,
    CoutG: Cout / groups,
    CgK: Cg * K,
    perOffsetGroup: Cin / offsetGroups,
  };
}
