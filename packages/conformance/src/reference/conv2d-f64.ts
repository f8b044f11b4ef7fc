/**
 * Plain dense 2-D convolution in float64 (groups, asymmetric padding, stride, dilation): what a
 * deformable convolution must reduce to when offsets are zero and masks are one. Independent of the
 * deformable reference on purpose, so the properties suite checks one against the other.
 */
import type { ConvGeometry } from '@dcnv2/core';
import type { Values } from './deform-conv2d-f64.js';

/** `[N, Cout, Ho, Wo]`; only the convolution fields of `g` are used (offset groups and mask are ignored). */
export function conv2dF64(g: ConvGeometry, input: Values, weight: Values, bias: Values | null): Float64Array {
  const cinPerGroup = g.inChannels / g.groups;
  const coutPerGroup = g.outChannels / g.groups;
  const out = new Float64Array(g.batch * g.outChannels * g.outHeight * g.outWidth);
  let k = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let co = 0; co < g.outChannels; co++) {
      const group = Math.floor(co / coutPerGroup);
      for (let oy = 0; oy < g.outHeight; oy++) {
        for (let ox = 0; ox < g.outWidth; ox++) {
          let acc = bias === null ? 0 : bias[co];
          for (let cl = 0; cl < cinPerGroup; cl++) {
            const c = group * cinPerGroup + cl;
            for (let i = 0; i < g.kernelH; i++) {
              const y = oy * g.strideH - g.padTop + i * g.dilationH;
              if (y < 0 || y >= g.inHeight) continue;
              for (let j = 0; j < g.kernelW; j++) {
                const x = ox * g.strideW - g.padLeft + j * g.dilationW;
                if (x < 0 || x >= g.inWidth) continue;
                acc += weight[((co * cinPerGroup + cl) * g.kernelH + i) * g.kernelW + j] * input[((n * g.inChannels + c) * g.inHeight + y) * g.inWidth + x];
              }
            }
          }
          out[k++] = acc;
        }
      }
    }
  }
  return out;
}
