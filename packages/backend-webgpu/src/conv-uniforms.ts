/**
 * The convolution's geometry as uniform fields, shared by the forward and backward programs (whose WGSL
 * reads them by name; sampling-wgsl.ts needs sh, sw, padTop, padLeft, dh, dw, kw, k, og, ho, wo, h, w):
 * the field names once, and their values from a `ConvGeometry` once.
 */
import type { ConvGeometry } from '@dcnv2/core';

/** The geometry fields, first in both programs' uniform blocks (all i32). */
export const CONV_FIELDS = [
  'cin', 'h', 'w', 'cout', 'kh', 'kw', 'sh', 'sw', 'padTop', 'padLeft', 'dh', 'dw',
  'og', 'ho', 'wo', 'hasMask', 'cinPerG', 'coutPerG', 'cinPerOg', 'k',
] as const;

/** `names` as i32 uniform fields of a program interface. */
export function i32Fields<const N extends string>(names: readonly N[]): Array<readonly [N, 'i32']> {
  return names.map((f) => [f, 'i32'] as const);
}

/** The values of CONV_FIELDS for `g` (hasMask: whether a mask is bound). */
export function convUniforms(g: ConvGeometry, hasMask: boolean): Record<(typeof CONV_FIELDS)[number], number> {
  return {
    cin: g.inChannels, h: g.inHeight, w: g.inWidth, cout: g.outChannels, kh: g.kernelH, kw: g.kernelW,
    sh: g.strideH, sw: g.strideW, padTop: g.padTop, padLeft: g.padLeft, dh: g.dilationH, dw: g.dilationW,
    og: g.offsetGroups, ho: g.outHeight, wo: g.outWidth, hasMask: hasMask ? 1 : 0,
    cinPerG: g.inChannels / g.groups, coutPerG: g.outChannels / g.groups, cinPerOg: g.inChannels / g.offsetGroups, k: g.kernelH * g.kernelW,
  };
}
