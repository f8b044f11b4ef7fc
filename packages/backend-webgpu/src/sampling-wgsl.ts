/**
 * WGSL shared by the forward and backward modules: where a tap samples and which bilinear corners it may
 * read, written once so both passes agree on torchvision's rules, plus the IEEE special-value helpers
 * that make NaN and infinity propagate like the cpu backend. Both modules declare the uniform block `params`
 * (fields sh, sw, padTop, padLeft, dh, dw, kw, k, og, ho, wo, h, w) and the offset buffer `off` (array<ST>).
 *
 * Non-finite values. A compiler may assume floats are finite (see nonfinite-wgsl.ts, whose `isNan`,
 * `isFinite` and `timesZero` this module includes), so everything that decides WHERE a NaN or infinity
 * goes is done on the bit pattern: a NaN coordinate is detected by `isNan` (torchvision's comparisons
 * with it are false: no corner is in the image, the range test rests on the other coordinate, and an
 * in-range sample has NaN bilinear weights, so it is NaN), an infinite one is out of range, and a product
 * `v * 0` that torchvision evaluates (a sample outside the image times a NaN/Inf mask, a zero column times
 * an infinite gradOutput) is `timesZero(v)`, 0 or NaN from the bits. Arithmetic on values that are NaN or infinite at
 * run time (a NaN pixel times a weight) is left to the hardware, which is IEEE on every driver tested.
 */
import { NONFINITE_WGSL } from './nonfinite-wgsl.js';

export const SAMPLING_WGSL = /* wgsl */ `${NONFINITE_WGSL}

// The fractional part v - floor(v) of a coordinate; NaN for a NaN or infinite coordinate, as Inf - Inf is.
fn fraction(v: f32, vf: f32) -> f32 {
  if (isFinite(v)) { return v - vf; }
  return timesZero(v);
}

// Sampling position (y, x) of tap t of output pixel q, image n, offset group og:
// y = f32(oy*sh - padTop + i*dh) + dy in float32, as torchvision adds the float offset.
fn samplePosition(n: u32, og: u32, t: u32, q: u32) -> vec2<f32> {
  let HoWo = u32(params.ho * params.wo);
  let wo = u32(params.wo);
  let kw = u32(params.kw);
  let offIdx = ((n * u32(params.og) + og) * 2u * u32(params.k) + 2u * t) * HoWo + q;
  let y = f32(i32(q / wo) * params.sh - params.padTop + i32(t / kw) * params.dh) + f32(off[offIdx]);
  let x = f32(i32(q % wo) * params.sw - params.padLeft + i32(t % kw) * params.dw) + f32(off[offIdx + HoWo]);
  return vec2<f32>(y, x);
}

// Bits 1, 2, 4, 8: corners (y0, x0), (y0, x0+1), (y0+1, x0), (y0+1, x0+1) of y0 = floor(y), x0 = floor(x)
// lie inside the image; bit 16: the sampled value is in range (not y <= -1, y >= H, x <= -1, x >= W).
// A NaN coordinate fails every comparison in torchvision: no corner, and the range test rests on the
// other coordinate alone. An infinite coordinate is out of range with no corner.
fn cornerFlags(y: f32, x: f32) -> u32 {
  let Hf = f32(params.h);
  let Wf = f32(params.w);
  let ny = isNan(y);
  let nx = isNan(x);
  if (ny || nx) {
    let outY = !ny && (y <= -1.0 || y >= Hf);
    let outX = !nx && (x <= -1.0 || x >= Wf);
    return select(16u, 0u, outY || outX);
  }
  if (!isFinite(y) || !isFinite(x)) { return 0u; }
  let yf = floor(y);
  let xf = floor(x);
  let r0 = yf >= 0.0 && yf < Hf;
  let r1 = yf >= -1.0 && yf < Hf - 1.0;
  let k0 = xf >= 0.0 && xf < Wf;
  let k1 = xf >= -1.0 && xf < Wf - 1.0;
  var f = 0u;
  if (r0 && k0) { f |= 1u; }
  if (r0 && k1) { f |= 2u; }
  if (r1 && k0) { f |= 4u; }
  if (r1 && k1) { f |= 8u; }
  if (!(y <= -1.0 || y >= Hf || x <= -1.0 || x >= Wf)) { f |= 16u; }
  return f;
}
`;
