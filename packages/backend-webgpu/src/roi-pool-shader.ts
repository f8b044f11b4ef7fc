/**
 * The WGSL kernels of modulated deformable RoI pooling (DCNv2 section 2.2, mmcv's semantics times a
 * per-bin mask; see shared/reference/gen_deform_roi_pool.py). One module per storage type, four entry
 * points sharing one bind group layout (roi-pool.ts):
 *
 * - `forward`:     one invocation per (RoI, channel block of ROI_CHANNEL_BLOCK, bin). The bin's sample
 *                  positions and bilinear weights are computed once per sample and applied to every channel
 *                  of the block (channels sit H*W apart, so the block shares the position arithmetic).
 * - `gradBin`:     grad_offset and grad_mask, a deterministic gather: a workgroup holds BINS_PER_GROUP bins
 *                  x CHANNEL_LANES lanes; lane l sums channels l, l + CHANNEL_LANES, ... of its bin over
 *                  every sample, and the lanes' partial sums are added in a fixed order in workgroup memory.
 * - `gradInput`:   grad_input, a scatter (the set of bins whose samples reach a pixel is unbounded, so a
 *                  gather would need a sort): laid out like `forward`, each sample adds
 *                  gradOutput * mask / count * corner weight to its four corners with a compare-exchange
 *                  loop on the u32 bit pattern of a float32 (WGSL has no float atomics). The additions are
 *                  exact float32 additions in a non-deterministic order.
 * - `accToStorage`: only for f16 storage: the float32 accumulator of `gradInput` is converted into the f16
 *                  result (atomics need 32-bit words, so f16 grad_input is accumulated in a f32 scratch
 *                  buffer). With f32 storage `gradInput` accumulates straight into the result buffer.
 *
 * Numerics. WGSL has no f64, so the per-RoI geometry (start, RoI size, bin size) is float32, computed from
 * the stored RoI coordinates; the adaptive grid ceil(roi_h / ph) is made exact for that float32 roi_h
 * (WGSL division may be off by 2.5 ulp, which would turn an exact quotient 2 into a grid of 3), so a
 * RoI whose size is an integer number of bins gets the grid the float64 reference gets. Sample
 * coordinates are float32; everything is accumulated in float32. With f16 storage the RoIs are f16 like
 * every tensor: their coordinates keep 11 significant bits (whole pixels in [1024, 2048), infinite past
 * 65504), the price of the opt-in storage type.
 *
 * Non-finite values, as the cpu backend treats them. A bin whose origin is NaN (a NaN offset, or an
 * infinite offset times a zero RoI size) cannot place its samples: its output, grad_offset and grad_mask are
 * NaN and grad_input gets nothing from it. A compiler may assume floats are never NaN (nonfinite-wgsl.ts),
 * so that bin is found on the bit pattern of its origin and its NaN results are written explicitly, never
 * left to comparisons with NaN. An infinite sample coordinate is outside the image (a bit test as well). NaN
 * or Inf in the mask, the input or gradOutput propagates by plain arithmetic, which is IEEE at run time.
 */
import { atomicAddF32Wgsl } from './atomic-add-wgsl.js';
import { BLOCKED_SUM_WGSL } from './blocked-sum-wgsl.js';
import { i32Fields } from './conv-uniforms.js';
import { LINEAR_ID_WGSL, linearEntryWgsl } from './linear-entry-wgsl.js';
import { NONFINITE_WGSL } from './nonfinite-wgsl.js';
import { programInterface, wgslInterface } from './program-interface.js';
import { storageWgsl, type StorageType } from './storage-type.js';
import { tensorBindings } from './tensor-bindings.js';

/** Channels one `forward` / `gradInput` invocation handles (they share the bin's sample positions). */
export const ROI_CHANNEL_BLOCK = 4;
/** Invocations per workgroup of every entry point. */
export const ROI_WORKGROUP = 64;
/** `gradBin` workgroups: bins per workgroup x channel lanes per bin = ROI_WORKGROUP. */
export const BINS_PER_GROUP = 8;
export const CHANNEL_LANES = 8;

/** What the RoI pooling kernels bind (one layout for every entry point): uniforms and storage buffers, declared once. */
export const ROI_POOL_PROGRAM = programInterface({
  label: 'deform_roi_pool',
  uniforms: [
    ...i32Fields(['n', 'c', 'h', 'w', 'rois', 'ph', 'pw', 'ratio', 'hasOffset', 'hasMask', 'cBlocks', 'total', 'rowStride', 'wantOffset', 'wantMask', 'pad0']),
    ['scale', 'f32'], ['gamma', 'f32'], ['fpad0', 'f32'], ['fpad1', 'f32'],
  ],
  storage: [
    ...tensorBindings('read', ['inp', 'rois', 'off', 'msk', 'gout']),
    { name: 'out0', access: 'read_write', element: 'ST', note: 'forward: output; gradBin: grad_offset; accToStorage: the f16 grad_input.' },
    { name: 'out1', access: 'read_write', element: 'ST', note: 'gradBin: grad_mask.' },
    {
      name: 'acc', access: 'read_write', element: 'atomic<u32>',
      note: 'gradInput: float32 bit patterns of grad_input (the result itself with f32 storage, scratch with f16).',
    },
  ],
});

export type RoiEntry = 'forward' | 'gradBin' | 'gradInput' | 'accToStorage';

/**
 * The head of an entry point laid out one invocation per (RoI, channel block, bin), `forward` and
 * `gradInput`: it binds the invocation's RoI r, its bin, its channels c0 .. c0 + nc - 1 (at most
 * ROI_CHANNEL_BLOCK), the RoI's geometry g and the bin's origin o, with bins, C and HW.
 */
function channelBlockEntryWgsl(name: RoiEntry): string {
  return `${linearEntryWgsl(name, ROI_WORKGROUP, 'e')}
  let bins = u32(params.ph * params.pw);
  let C = u32(params.c);
  let HW = u32(params.h * params.w);
  let bin = e % bins;
  let c0 = ((e / bins) % u32(params.cBlocks)) * ROI_CHANNEL_BLOCK;
  let r = e / (bins * u32(params.cBlocks));
  let nc = min(ROI_CHANNEL_BLOCK, C - c0);
  let g = roiGeometry(r);
  let o = binOrigin(g, r, bin);`;
}

/**
 * WGSL loops over the samples (iy < rows, ix < g.gw) of the bin whose origin is o in RoI geometry g, running
 * `body` for each sample that lands in the image, with its tap t and bilinear weights wv. `forward`,
 * `gradBin` and `gradInput` visit a bin's samples alike; `rows` is g.gh, or 0 for a bin they skip.
 */
function eachInImageSampleWgsl(rows: string, body: string): string {
  return `for (var iy = 0; iy < ${rows}; iy++) {
    for (var ix = 0; ix < g.gw; ix++) {
      let p = samplePos(g, o, iy, ix);
      let t = bilinearTap(p.x, p.y);
      if (!t.ok) { continue; }
      let wv = tapWeights(t);${body}
    }
  }`;
}

export function roiPoolShader(storage: StorageType): string {
  return `${storageWgsl(storage)}${NONFINITE_WGSL}${BLOCKED_SUM_WGSL}
${wgslInterface(ROI_POOL_PROGRAM)}
const ROI_CHANNEL_BLOCK: u32 = ${ROI_CHANNEL_BLOCK}u;
const BINS_PER_GROUP: u32 = ${BINS_PER_GROUP}u;
const CHANNEL_LANES: u32 = ${CHANNEL_LANES}u;

// Geometry of one RoI on the feature map (mmcv: no rounding, half-pixel shift).
struct Roi {
  plane0: u32,   // index of channel 0 of the RoI's image
  sy: f32,
  sx: f32,
  rh: f32,
  rw: f32,
  bh: f32,
  bw: f32,
  gh: i32,       // samples per bin along y; <= 0 (a degenerate adaptive RoI) means none
  gw: i32,
  count: f32,    // max(gh * gw, 1)
}

// ceil(a / n) exact for this float32 a: the division's rounding is corrected with exact integer products.
fn ceilDiv(a: f32, n: i32) -> i32 {
  var k = i32(ceil(a / f32(n)));
  if (f32((k - 1) * n) >= a) {
    k -= 1;
  } else if (f32(k * n) < a) {
    k += 1;
  }
  return k;
}

fn roiGeometry(r: u32) -> Roi {
  let o = r * 5u;
  let s = params.scale;
  var g: Roi;
  // core guarantees an integer batch index in [0, N).
  g.plane0 = u32(f32(rois[o])) * u32(params.c) * u32(params.h * params.w);
  g.sx = f32(rois[o + 1u]) * s - 0.5;
  g.sy = f32(rois[o + 2u]) * s - 0.5;
  g.rw = (f32(rois[o + 3u]) * s - 0.5) - g.sx;
  g.rh = (f32(rois[o + 4u]) * s - 0.5) - g.sy;
  g.bw = g.rw / f32(params.pw);
  g.bh = g.rh / f32(params.ph);
  if (params.ratio > 0) {
    g.gh = params.ratio;
    g.gw = params.ratio;
  } else {
    g.gh = ceilDiv(g.rh, params.ph);
    g.gw = ceilDiv(g.rw, params.pw);
  }
  g.count = f32(max(g.gh * g.gw, 1));
  return g;
}

// Where bin (i, j) of RoI r starts, offset included: (y, x) of the bin's corner before the sample steps.
fn binOrigin(g: Roi, r: u32, bin: u32) -> vec2<f32> {
  let bins = u32(params.ph * params.pw);
  var y0 = g.sy;
  var x0 = g.sx;
  if (params.hasOffset != 0) {
    // offset[r, 0] moves along x (width) first, offset[r, 1] along y, in units of gamma * RoI size.
    x0 = x0 + params.gamma * g.rw * f32(off[(r * 2u) * bins + bin]);
    y0 = y0 + params.gamma * g.rh * f32(off[(r * 2u + 1u) * bins + bin]);
  }
  let i = bin / u32(params.pw);
  let j = bin % u32(params.pw);
  return vec2<f32>(y0 + f32(i) * g.bh, x0 + f32(j) * g.bw);
}

// Whether a bin with origin o has samples that cannot be placed: o is NaN (tested on bits). Its results are
// NaN whatever the pixels; a bin without samples (grid <= 0) reads no coordinate and stays 0.
fn binIsNan(g: Roi, o: vec2<f32>) -> bool {
  return g.gh > 0 && g.gw > 0 && (isNan(o.x) || isNan(o.y));
}

// The NaN a binIsNan bin stores, made from its NaN coordinate's bits (a NaN constant cannot be written).
fn binNan(o: vec2<f32>) -> f32 {
  return select(timesZero(o.y), timesZero(o.x), isNan(o.x));
}

fn binMask(r: u32, bin: u32) -> f32 {
  if (params.hasMask != 0) { return f32(msk[r * u32(params.ph * params.pw) + bin]); }
  return 1.0;
}

// One RoIAlign (mmcv) bilinear sample: its four corners (plane offsets; a clamped coordinate repeats a
// corner), weights, and whether each coordinate still moves the sample (0 where it was clamped).
struct Tap {
  ok: bool,      // false: outside [-1, H] x [-1, W] (or not finite), the sample is 0
  i00: u32,
  i01: u32,
  i10: u32,
  i11: u32,
  ly: f32,
  lx: f32,
  fy: f32,       // d(clamped y)/dy: 0 where y <= 0 or y_low >= H-1
  fx: f32,
}

fn bilinearTap(yIn: f32, xIn: f32) -> Tap {
  var t: Tap;
  let Hf = f32(params.h);
  let Wf = f32(params.w);
  // A non-finite coordinate is out on its bits (callers skip NaN bins first, so this is an infinite one:
  // never an index); the positive range test keeps the boundaries -1 and H inside.
  t.ok = isFinite(yIn) && isFinite(xIn) && yIn >= -1.0 && yIn <= Hf && xIn >= -1.0 && xIn <= Wf;
  if (!t.ok) { return t; }
  var y = yIn;
  var x = xIn;
  t.fy = 1.0;
  t.fx = 1.0;
  if (y <= 0.0) { y = 0.0; t.fy = 0.0; }
  if (x <= 0.0) { x = 0.0; t.fx = 0.0; }
  var yl = i32(floor(y));
  var yh = yl + 1;
  if (yl >= params.h - 1) { yl = params.h - 1; yh = yl; y = f32(yl); t.fy = 0.0; }
  var xl = i32(floor(x));
  var xh = xl + 1;
  if (xl >= params.w - 1) { xl = params.w - 1; xh = xl; x = f32(xl); t.fx = 0.0; }
  t.ly = y - f32(yl);
  t.lx = x - f32(xl);
  t.i00 = u32(yl * params.w + xl);
  t.i01 = u32(yl * params.w + xh);
  t.i10 = u32(yh * params.w + xl);
  t.i11 = u32(yh * params.w + xh);
  return t;
}

fn tapWeights(t: Tap) -> vec4<f32> {
  let hy = 1.0 - t.ly;
  let hx = 1.0 - t.lx;
  return vec4<f32>(hy * hx, hy * t.lx, t.ly * hx, t.ly * t.lx);
}

fn corners(t: Tap, plane: u32) -> vec4<f32> {
  return vec4<f32>(f32(inp[plane + t.i00]), f32(inp[plane + t.i01]), f32(inp[plane + t.i10]), f32(inp[plane + t.i11]));
}

${LINEAR_ID_WGSL}
// Sample (iy, ix) of a bin whose origin is o: y = o.y + (iy + 0.5) * bin_h / grid_h (x likewise).
fn samplePos(g: Roi, o: vec2<f32>, iy: i32, ix: i32) -> vec2<f32> {
  return vec2<f32>(o.x + (f32(iy) + 0.5) * g.bh / f32(g.gh), o.y + (f32(ix) + 0.5) * g.bw / f32(g.gw));
}

${channelBlockEntryWgsl('forward')}
  let nanBin = binIsNan(g, o);
  let gh = select(g.gh, 0, nanBin);
  // The block's channels side by side (lanes past nc stay 0); up to 2^20 samples, hence the blocked sum.
  var acc = SumV4New(f32(max(gh, 0)) * f32(max(g.gw, 0)));
  ${eachInImageSampleWgsl('gh', `
    var v = vec4<f32>(0.0);
    for (var k = 0u; k < nc; k++) {
      v[k] = dot(wv, corners(t, g.plane0 + (c0 + k) * HW));
    }
    SumV4Add(&acc, v);`)}
  let sum = SumV4Value(acc);
  let m = binMask(r, bin);
  for (var k = 0u; k < nc; k++) {
    out0[(r * C + c0 + k) * bins + bin] = ST(select(sum[k] / g.count * m, binNan(o), nanBin));
  }
}

var<workgroup> partial: array<vec3<f32>, ${ROI_WORKGROUP}>;

@compute @workgroup_size(${ROI_WORKGROUP})
fn gradBin(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  // rowStride counts workgroups here (the gather's unit is a workgroup of BINS_PER_GROUP bins).
  let e = (wid.y * u32(params.rowStride) + wid.x) * BINS_PER_GROUP + tid / CHANNEL_LANES;
  let lane = tid % CHANNEL_LANES;
  let bins = u32(params.ph * params.pw);
  let C = u32(params.c);
  let HW = u32(params.h * params.w);
  // (sum over this lane's channels and the samples of) gout * dv/dy, gout * dv/dx, gout * v.
  var s = vec3<f32>(0.0);
  let live = e < u32(params.total);
  // Up to 2^20 samples times C / CHANNEL_LANES channels a lane: a blocked sum.
  var acc: SumV3;
  var g: Roi;
  var r = 0u;
  var bin = 0u;
  // A NaN bin (binIsNan) with channels: NaN gradients. With no channels the loss does not depend on it.
  var nanBin = false;
  var nan = 0.0;
  if (live) {
    bin = e % bins;
    r = e / bins;
    g = roiGeometry(r);
    let o = binOrigin(g, r, bin);
    nanBin = C > 0u && binIsNan(g, o);
    nan = binNan(o);
    let gh = select(g.gh, 0, nanBin);
    let laneChannels = (C + CHANNEL_LANES - 1u - lane) / CHANNEL_LANES;
    acc = SumV3New(f32(max(gh, 0)) * f32(max(g.gw, 0)) * f32(laneChannels));
    ${eachInImageSampleWgsl('gh', `
      let hy = 1.0 - t.ly;
      let hx = 1.0 - t.lx;
      for (var c = lane; c < C; c += CHANNEL_LANES) {
        let go = f32(gout[(r * C + c) * bins + bin]);
        let v = corners(t, g.plane0 + c * HW);
        let dvdy = t.fy * (hx * (v.z - v.x) + t.lx * (v.w - v.y));
        let dvdx = t.fx * (hy * (v.y - v.x) + t.ly * (v.w - v.z));
        SumV3Add(&acc, go * vec3<f32>(dvdy, dvdx, dot(wv, v)));
      }`)}
    s = SumV3Value(acc);
  }
  partial[tid] = s;
  workgroupBarrier();
  if (live && lane == 0u) {
    var tot = vec3<f32>(0.0);
    for (var l = 0u; l < CHANNEL_LANES; l++) { tot += partial[tid + l]; }
    let m = binMask(r, bin);
    if (params.wantOffset != 0) {
      out0[(r * 2u) * bins + bin] = ST(select(params.gamma * g.rw * (m / g.count) * tot.y, nan, nanBin));
      out0[(r * 2u + 1u) * bins + bin] = ST(select(params.gamma * g.rh * (m / g.count) * tot.x, nan, nanBin));
    }
    if (params.wantMask != 0) {
      out1[r * bins + bin] = ST(select(tot.z / g.count, nan, nanBin));
    }
  }
}

${atomicAddF32Wgsl('acc')}
${channelBlockEntryWgsl('gradInput')}
  // A NaN bin's samples cannot be placed: it scatters nothing.
  if (binIsNan(g, o)) { return; }
  let scale = binMask(r, bin) / g.count;
  var go: array<f32, ${ROI_CHANNEL_BLOCK}>;
  for (var k = 0u; k < nc; k++) { go[k] = f32(gout[(r * C + c0 + k) * bins + bin]) * scale; }
  ${eachInImageSampleWgsl('g.gh', `
    for (var k = 0u; k < nc; k++) {
      let plane = g.plane0 + (c0 + k) * HW;
      let d = go[k];
      atomicAddF32(plane + t.i00, wv.x * d);
      atomicAddF32(plane + t.i01, wv.y * d);
      atomicAddF32(plane + t.i10, wv.z * d);
      atomicAddF32(plane + t.i11, wv.w * d);
    }`)}
}

${linearEntryWgsl('accToStorage', ROI_WORKGROUP, 'e')}
  out0[e] = ST(bitcast<f32>(atomicLoad(&acc[e])));
}
`;
}
