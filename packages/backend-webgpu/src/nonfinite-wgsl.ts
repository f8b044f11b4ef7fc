/**
 * WGSL helpers that classify IEEE special values on their bit patterns, shared by every module that must
 * send a NaN or an infinity where the cpu backend sends it (the convolution's sampling, sampling-wgsl.ts,
 * and RoI pooling, roi-pool-shader.ts). They use nothing but their arguments, so any module can include them.
 *
 * Why bits: WGSL (like Vulkan SPIR-V without float controls) lets a compiler assume floats are finite, so
 * `x != x` may fold to false, comparisons with NaN may be reordered and `x * 0.0` may fold to 0. Integer
 * tests on `bitcast<u32>(x)` cannot be folded that way. A NaN cannot be written as a constant either (a NaN
 * const-expression is a shader-creation error), so `timesZero` makes one from a run-time value's own bits.
 */
export const NONFINITE_WGSL = /* wgsl */ `
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn isFinite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// v * 0 as IEEE 754 defines it: 0 for a finite v, NaN for a NaN or an infinity (made from v's own bits,
// since a NaN constant is a shader-creation error).
fn timesZero(v: f32) -> f32 {
  if (isFinite(v)) { return 0.0; }
  return bitcast<f32>(bitcast<u32>(v) | 0x7fc00000u);
}
`;
