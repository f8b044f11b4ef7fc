/**
 * WGSL shared by the forward and backward modules: where a tap samples and which bilinear corners it may
 * read, written once so both passes agree on torchvision's rules. Both modules declare the uniform block
 * `P` (fields sh, sw, padT, padL, dh, dw, kw, k, og, ho, wo, h, w) and the offset buffer `off`.
 */
export const SAMPLING_WGSL = /* wgsl */ `
// Sampling position (y, x) of tap t of output pixel q, image n, offset group og:
// y = f32(oy*sh - padTop + i*dh) + dy in float32, as torchvision adds the float offset.
fn samplePosition(n: u32, og: u32, t: u32, q: u32) -> vec2<f32> {
  let HoWo = u32(P.ho * P.wo);
  let wo = u32(P.wo);
  let kw = u32(P.kw);
  let offIdx = ((n * u32(P.og) + og) * 2u * u32(P.k) + 2u * t) * HoWo + q;
  let y = f32(i32(q / wo) * P.sh - P.padT + i32(t / kw) * P.dh) + off[offIdx];
  let x = f32(i32(q % wo) * P.sw - P.padL + i32(t % kw) * P.dw) + off[offIdx + HoWo];
  return vec2<f32>(y, x);
}

// Bits 1, 2, 4, 8: corners (y0, x0), (y0, x0+1), (y0+1, x0), (y0+1, x0+1) of y0 = floor(y), x0 = floor(x)
// lie inside the image; bit 16: the sampled value is in range (not y <= -1, y >= H, x <= -1, x >= W).
fn cornerFlags(y: f32, x: f32) -> u32 {
  let Hf = f32(P.h);
  let Wf = f32(P.w);
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
