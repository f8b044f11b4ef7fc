/**
 * Backward of the deformable sampling for one input channel over one tile, given grad_col (the gradient
 * of that channel's K x P column block, from W^T x gradOutput):
 * - grad_input: scatter grad_col * mask * bilinear weight to the corners that torchvision's col2im
 *   touches (plan.scatter bits);
 * - grad_mask: accumulate grad_col * (unmasked bilinear value) into plan.gm;
 * - grad_offset: accumulate mask * d(value)/dy * grad_col into plan.gy (resp. dx into plan.gx), with the
 *   derivative of the bilinear form around floor(y), floor(x): at integer coordinates that is the
 *   one-sided difference v[y0+1] - v[y0].
 * The accumulators sum over the offset group's channels and are written out by the caller once the
 * group is done. Corners outside the image are never read or written.
 */
import { ALL_CORNERS, C00, C01, C10, C11, IN_RANGE, type SamplingPlan } from './sampling-plan.js';

export interface Col2imTargets {
  /** grad_input tensor, or null when not requested; `giOff` is the start of this (batch, channel) plane. */
  readonly gradInput: Float32Array | null;
  readonly giOff: number;
  readonly offset: boolean;
  readonly mask: boolean;
}

export function col2imChannel(
  plan: SamplingPlan,
  count: number,
  x: Float32Array,
  xOff: number,
  W: number,
  gcol: Float32Array,
  gcolOff: number,
  t: Col2imTargets,
): void {
  const { base, flags, mask, fy, fx, scatter, gy, gx, gm } = plan;
  const gi = t.gradInput;
  const wantCoord = t.offset || t.mask;
  for (let e = 0; e < count; e++) {
    const g = gcol[gcolOff + e];
    const m = mask[e];
    const ly = fy[e];
    const lx = fx[e];
    const hy = 1 - ly;
    const hx = 1 - lx;
    if (gi !== null) {
      const s = scatter[e];
      if (s !== 0) {
        // torchvision: grad_im += mask * weight * col.
        const mg = m * g;
        const b = t.giOff + base[e];
        if ((s & C00) !== 0) gi[b] += hy * hx * mg;
        if ((s & C01) !== 0) gi[b + 1] += hy * lx * mg;
        if ((s & C10) !== 0) gi[b + W] += ly * hx * mg;
        if ((s & C11) !== 0) gi[b + W + 1] += ly * lx * mg;
      }
    }
    if (wantCoord) {
      const f = flags[e];
      const b = xOff + base[e];
      let v00 = 0, v01 = 0, v10 = 0, v11 = 0;
      if ((f & ALL_CORNERS) === ALL_CORNERS) {
        v00 = x[b];
        v01 = x[b + 1];
        v10 = x[b + W];
        v11 = x[b + W + 1];
      } else if ((f & ALL_CORNERS) !== 0) {
        if ((f & C00) !== 0) v00 = x[b];
        if ((f & C01) !== 0) v01 = x[b + 1];
        if ((f & C10) !== 0) v10 = x[b + W];
        if ((f & C11) !== 0) v11 = x[b + W + 1];
      }
      if (t.mask) {
        const val = (f & IN_RANGE) !== 0 ? hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11 : 0;
        gm[e] += g * val;
      }
      if (t.offset) {
        // torchvision's get_coordinate_weight (no range test), then mask * weight * col.
        const dy = lx * (v11 - v01) + hx * (v10 - v00);
        const dx = ly * (v11 - v10) + hy * (v01 - v00);
        gy[e] += m * dy * g;
        gx[e] += m * dx * g;
      }
    }
  }
}
