/**
 * The WGSL backward kernels (first, untuned version): four entry points of one module, each a gather
 * except grad_input.
 *
 * - `gradBias`:   one invocation per output channel, sum of gradOutput over (n, pixels).
 * - `gradWeight`: one invocation per weight element (co, c, tap), sum over (n, pixels) of
 *                 gradOutput[n, co, p] * col[n, c, tap, p]; the column value (mask * bilinear, 0 out of
 *                 range) is sampled on the fly, so no column buffer exists.
 * - `gradCoord`:  one invocation per (n, offset group, tap, pixel): builds the sampling plan once, then for
 *                 each channel of the offset group computes grad_col = sum over co of its conv group of
 *                 W[co, c, tap] * gradOutput[n, co, p] and accumulates grad_offset (dy, dx; coordinate
 *                 derivative with NO range test, floor-based corners) and grad_mask (grad_col * bilinear
 *                 value, with the range test). Deterministic.
 * - `gradInput`:  one invocation per (n, c, tap, pixel): grad_col as above, then grad_col * mask * w_corner
 *                 is added to every in-image corner with |y - yp| < 1 and |x - xp| < 1 (torchvision's col2im
 *                 rule) by a compare-exchange loop on the u32 bit pattern of the float32 (WGSL has no float
 *                 atomics). The summation order is not deterministic. It accumulates in float32 whatever the
 *                 storage type (the `gin` buffer); with f16 storage `storeGradInput` then rounds it into the
 *                 f16 grad_input tensor.
 *
 * Tensors are `array<ST>` (storage-type.ts): loads widen to f32, sums are f32, results are rounded to ST
 * once. Samples that read no pixel follow torchvision's arithmetic through `timesZero` (sampling-wgsl.ts):
 * out of range, the column value is mask * 0 and the mask gradient gets grad_col * 0; with a NaN or
 * infinite coordinate the fractions are NaN, which reaches the offset gradient as torchvision's
 * fraction * (0 - 0) terms do.
 *
 * Semantics follow backend-cpu's sampling-plan.ts / col2im.ts: y = f32(oy*sh - padTop + i*dh) + dy in float32.
 */
import { atomicAddF32Wgsl } from './atomic-add-wgsl.js';
import { BLOCKED_SUM_WGSL } from './blocked-sum-wgsl.js';
import { CONV_FIELDS, i32Fields } from './conv-uniforms.js';
import { LINEAR_ID_WGSL, linearEntryWgsl } from './linear-entry-wgsl.js';
import { SAMPLING_WGSL } from './sampling-wgsl.js';
import { programInterface, wgslInterface } from './program-interface.js';
import { storageWgsl, type StorageType } from './storage-type.js';
import { tensorBindings } from './tensor-bindings.js';

export const BACKWARD_WORKGROUP = 64;

/** What the backward kernels bind (one layout for every entry point): uniforms (all i32) and storage buffers, declared once. */
export const BACKWARD_PROGRAM = programInterface({
  label: 'deform_conv2d backward',
  uniforms: i32Fields([...CONV_FIELDS, 'n', 'wantOffset', 'wantMask', 'total', 'rowStride', 'nBase', 'cBase', 'cCount']),
  storage: [
    ...tensorBindings('read', ['inp', 'wgt', 'off', 'msk', 'gout']),
    ...tensorBindings('read_write', ['out0', 'out1']),
    { name: 'gin', access: 'read_write', element: 'atomic<u32>', note: 'grad_input accumulator: float32 bit patterns, whatever ST is.' },
  ],
});

/** The backward entry points. */
export type BackwardEntry = 'gradBias' | 'gradWeight' | 'gradCoord' | 'gradInput' | 'storeGradInput';

export function backwardShader(storage: StorageType): string {
  return /* wgsl */ `${storageWgsl(storage)}${wgslInterface(BACKWARD_PROGRAM)}
${SAMPLING_WGSL}
${BLOCKED_SUM_WGSL}
struct Plan {
  base: i32,     // floor(y)*W + floor(x) (meaningful where a corner bit is set)
  flags: u32,    // corner bits 1,2,4,8 (in image, no range test), 16 = in range
  scatter: u32,  // corner bits that receive grad_input
  ly: f32,       // y - floor(y); NaN for a non-finite y
  lx: f32,
  m: f32,
}

${LINEAR_ID_WGSL}
fn makePlan(n: u32, og: u32, t: u32, q: u32) -> Plan {
  let K = u32(params.k);
  let HoWo = u32(params.ho * params.wo);
  let pos = samplePosition(n, og, t, q);
  let y = pos.x;
  let x = pos.y;
  let yf = floor(y);
  let xf = floor(x);
  var pl: Plan;
  let f = cornerFlags(y, x);
  pl.flags = f;
  pl.base = 0;
  if ((f & 15u) != 0u) { pl.base = i32(yf) * params.w + i32(xf); }
  pl.ly = fraction(y, yf);
  pl.lx = fraction(x, xf);
  // grad_input goes only to in-image corners closer than one pixel on both axes (torchvision's col2im).
  let s0 = abs(y - yf) < 1.0;
  let s1 = abs(y - (yf + 1.0)) < 1.0;
  let t0 = abs(x - xf) < 1.0;
  let t1 = abs(x - (xf + 1.0)) < 1.0;
  var s = 0u;
  if ((f & 1u) != 0u && s0 && t0) { s |= 1u; }
  if ((f & 2u) != 0u && s0 && t1) { s |= 2u; }
  if ((f & 4u) != 0u && s1 && t0) { s |= 4u; }
  if ((f & 8u) != 0u && s1 && t1) { s |= 8u; }
  pl.scatter = s;
  if (params.hasMask != 0) {
    pl.m = f32(msk[((n * u32(params.og) + og) * K + t) * HoWo + q]);
  } else {
    pl.m = 1.0;
  }
  return pl;
}

/** Corner values v00, v01, v10, v11 of channel plane xOff (0 for corners outside the image). */
fn corners(pl: Plan, xOff: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let f = pl.flags;
  if ((f & 15u) == 0u) { return v; }
  let b = i32(xOff) + pl.base;
  let W = params.w;
  if ((f & 1u) != 0u) { v.x = f32(inp[u32(b)]); }
  if ((f & 2u) != 0u) { v.y = f32(inp[u32(b + 1)]); }
  if ((f & 4u) != 0u) { v.z = f32(inp[u32(b + W)]); }
  if ((f & 8u) != 0u) { v.w = f32(inp[u32(b + W + 1)]); }
  return v;
}

/**
 * Unmasked bilinear value of an in-range sample. With no corner in the image (only a NaN coordinate is
 * in range without one) it is torchvision's NaN-weights-times-0 sum, NaN.
 */
fn bilinearValue(pl: Plan, v: vec4<f32>) -> f32 {
  if ((pl.flags & 15u) == 0u) { return timesZero(pl.ly) + timesZero(pl.lx); }
  let hy = 1.0 - pl.ly;
  let hx = 1.0 - pl.lx;
  return hy * hx * v.x + hy * pl.lx * v.y + pl.ly * hx * v.z + pl.ly * pl.lx * v.w;
}

/** grad_col[n, c, t, q] = sum over co of c's conv group of W[co, c, t] * gradOut[n, co, q]. */
fn gradCol(n: u32, c: u32, t: u32, q: u32) -> f32 {
  let K = u32(params.k);
  let HoWo = u32(params.ho * params.wo);
  let cinPerG = u32(params.cinPerG);
  let coutPerG = u32(params.coutPerG);
  let grp = c / cinPerG;
  let cl = c % cinPerG;
  // Blocked as nested loops (no per-term bookkeeping in this innermost loop of gradCoord and gradInput); a
  // single block is exactly the sequential sum.
  let blk = sumBlock(f32(coutPerG));
  var s = 0.0;
  for (var b0 = 0u; b0 < coutPerG; b0 += blk) {
    var part = 0.0;
    let b1 = min(coutPerG, b0 + blk);
    for (var col = b0; col < b1; col++) {
      let co = grp * coutPerG + col;
      part += f32(wgt[(co * cinPerG + cl) * K + t]) * f32(gout[(n * u32(params.cout) + co) * HoWo + q]);
    }
    s = select(s + part, part, b0 == 0u);
  }
  return s;
}

${atomicAddF32Wgsl('gin')}
${linearEntryWgsl('gradBias', BACKWARD_WORKGROUP, 'co')}
  let HoWo = u32(params.ho * params.wo);
  var s = SumF32New(f32(params.n) * f32(HoWo));
  for (var n = 0u; n < u32(params.n); n++) {
    let b = (n * u32(params.cout) + co) * HoWo;
    for (var q = 0u; q < HoWo; q++) { SumF32Add(&s, f32(gout[b + q])); }
  }
  out0[co] = ST(SumF32Value(s));
}

${linearEntryWgsl('gradWeight', BACKWARD_WORKGROUP, 'e')}
  let K = u32(params.k);
  let cinPerG = u32(params.cinPerG);
  let coutPerG = u32(params.coutPerG);
  let t = e % K;
  let cl = (e / K) % cinPerG;
  let co = e / (K * cinPerG);
  let c = (co / coutPerG) * cinPerG + cl;
  let og = c / u32(params.cinPerOg);
  let HoWo = u32(params.ho * params.wo);
  let HW = u32(params.h * params.w);
  var s = SumF32New(f32(params.n) * f32(HoWo));
  for (var n = 0u; n < u32(params.n); n++) {
    let gb = (n * u32(params.cout) + co) * HoWo;
    let xOff = (n * u32(params.cin) + c) * HW;
    for (var q = 0u; q < HoWo; q++) {
      let go = f32(gout[gb + q]);
      let pl = makePlan(n, og, t, q);
      if ((pl.flags & 16u) != 0u) {
        let v = bilinearValue(pl, corners(pl, xOff));
        SumF32Add(&s, go * (pl.m * v));
      } else {
        // Out of range the column is mask * 0, and gradOutput * (mask * 0) is 0 unless either is not finite.
        SumF32Add(&s, timesZero(pl.m) + timesZero(go));
      }
    }
  }
  out0[e] = ST(SumF32Value(s));
}

${linearEntryWgsl('gradCoord', BACKWARD_WORKGROUP, 'e')}
  let K = u32(params.k);
  let HoWo = u32(params.ho * params.wo);
  let HW = u32(params.h * params.w);
  let ogs = u32(params.og);
  let q = e % HoWo;
  let t = (e / HoWo) % K;
  let og = (e / (HoWo * K)) % ogs;
  let n = e / (HoWo * K * ogs);
  let pl = makePlan(n, og, t, q);
  let ly = pl.ly;
  let lx = pl.lx;
  let hy = 1.0 - ly;
  let hx = 1.0 - lx;
  let cpo = u32(params.cinPerOg);
  // (grad_offset y, grad_offset x, grad_mask), summed over the offset group's channels.
  var s = SumV3New(f32(cpo));
  let inRange = (pl.flags & 16u) != 0u;
  let anyCorner = (pl.flags & 15u) != 0u;
  for (var c = og * cpo; c < (og + 1u) * cpo; c++) {
    let g = gradCol(n, c, t, q);
    let v = corners(pl, (n * u32(params.cin) + c) * HW);
    var gm = 0.0;
    if (inRange) {
      gm = g * bilinearValue(pl, v);
    } else {
      gm = timesZero(g);
    }
    if (anyCorner) {
      let ddy = lx * (v.w - v.y) + hx * (v.z - v.x);
      let ddx = ly * (v.w - v.z) + hy * (v.y - v.x);
      SumV3Add(&s, vec3<f32>(pl.m * ddy * g, pl.m * ddx * g, gm));
    } else {
      // Every corner reads 0: torchvision's mask * (fraction * (0 - 0) + ...) * grad_col is 0 unless the
      // mask, grad_col or the other axis' fraction (NaN for a non-finite coordinate) is not finite.
      let z = timesZero(pl.m) + timesZero(g);
      SumV3Add(&s, vec3<f32>(z + timesZero(lx), z + timesZero(ly), gm));
    }
  }
  let sum = SumV3Value(s);
  if (params.wantOffset != 0) {
    let ob = ((n * ogs + og) * 2u * K + 2u * t) * HoWo + q;
    out0[ob] = ST(sum.x);
    out0[ob + HoWo] = ST(sum.y);
  }
  if (params.wantMask != 0) {
    out1[((n * ogs + og) * K + t) * HoWo + q] = ST(sum.z);
  }
}

${linearEntryWgsl('gradInput', BACKWARD_WORKGROUP, 'e')}
  let K = u32(params.k);
  let HoWo = u32(params.ho * params.wo);
  let HW = u32(params.h * params.w);
  let cin = u32(params.cin);
  // This dispatch covers channels [cBase, cBase + cCount) of images nBase, nBase + 1, ... (see backward.ts:
  // a slab keeps every linear index of a dispatch below 2^30, however large N * Cin * K * Ho * Wo is).
  let cCount = u32(params.cCount);
  let q = e % HoWo;
  let t = (e / HoWo) % K;
  let c = u32(params.cBase) + (e / (HoWo * K)) % cCount;
  let n = u32(params.nBase) + e / (HoWo * K * cCount);
  let og = c / u32(params.cinPerOg);
  let pl = makePlan(n, og, t, q);
  let s = pl.scatter;
  if (s == 0u) { return; }
  let mg = pl.m * gradCol(n, c, t, q);
  let ly = pl.ly;
  let lx = pl.lx;
  let hy = 1.0 - ly;
  let hx = 1.0 - lx;
  let b = i32((n * cin + c) * HW) + pl.base;
  let W = params.w;
  if ((s & 1u) != 0u) { atomicAddF32(u32(b), hy * hx * mg); }
  if ((s & 2u) != 0u) { atomicAddF32(u32(b + 1), hy * lx * mg); }
  if ((s & 4u) != 0u) { atomicAddF32(u32(b + W), ly * hx * mg); }
  if ((s & 8u) != 0u) { atomicAddF32(u32(b + W + 1), ly * lx * mg); }
}

// f16 storage only: rounds the float32 grad_input accumulator (gin) into the grad_input tensor (out0).
${linearEntryWgsl('storeGradInput', BACKWARD_WORKGROUP, 'i')}
  out0[i] = ST(bitcast<f32>(atomicLoad(&gin[i])));
}
`;
}
