/**
 * The WGSL forward kernel: fused deformable im2col + register-blocked GEMM.
 *
 * One workgroup (64 invocations) computes a tile of TILE_COUT output channels x TILE_PIXELS output pixels of one
 * image and one convolution group. The reduction dimension of the group (channel c, tap t; row c*K + t,
 * the weight layout) is walked in blocks:
 *   for each offset group overlapping the conv group's channels
 *     for each block of up to PLAN_TAPS taps
 *       build the sampling plan (corner base index, corner-in-image bits, in-range bit, 4 bilinear
 *       weights, mask) of every (tap, pixel) of the tile into workgroup memory ONCE;
 *       for each chunk of channels (chunk rows = channels x taps <= CHUNK_ROWS)
 *         sample the deformable columns [rows x TILE_PIXELS] from the plan into workgroup memory,
 *         stage the weights [rows x TILE_COUT],
 *         each invocation accumulates a 4 x 4 register tile (4 couts x 4 pixels);
 *       every `flush` chunks the tile's block sums are added into the totals (blocked summation, so a
 *       long reduction keeps float32 accuracy; see forwardFlushChunks).
 *
 * Semantics follow torchvision (see backend-cpu/src/sampling-plan.ts): y = f32(oy*sh - padTop + i*dh) + dy
 * in float32, value 0 once y <= -1 || y >= H (x likewise), corners outside the image are never read, the
 * mask multiplies the bilinear sum (not folded into the weights). A sample that reads no pixel (out of
 * range, or a NaN coordinate) gets its column value, m * 0 or NaN, in the plan (see sampling-wgsl.ts).
 *
 * Tensors are stored as `ST` (storage-type.ts): loads widen to f32, the plan, the workgroup tiles and
 * the accumulators are f32, the output is rounded to ST once at the end.
 */
import { CONV_FIELDS, i32Fields } from './conv-uniforms.js';
import { SAMPLING_WGSL } from './sampling-wgsl.js';
import { programInterface, wgslInterface } from './program-interface.js';
import { storageWgsl, type StorageType } from './storage-type.js';
import { tensorBindings } from './tensor-bindings.js';
export const TILE_PIXELS = 32;
export const TILE_COUT = 32;
export const PLAN_TAPS = 9;
export const CHUNK_ROWS = 27;
export const FORWARD_WORKGROUP = 64;
/** Bytes of workgroup memory the kernel declares (checked against maxComputeWorkgroupStorageSize). */
export const FORWARD_WORKGROUP_BYTES = PLAN_TAPS * TILE_PIXELS * (4 + 4 + 16 + 4) + CHUNK_ROWS * (TILE_PIXELS + TILE_COUT) * 4;

/** What the forward kernel binds: its uniforms (all i32) and storage buffers, declared once. */
export const FORWARD_PROGRAM = programInterface({
  label: 'deform_conv2d forward',
  uniforms: i32Fields([...CONV_FIELDS, 'hasBias', 'coTiles', 'n0', 'flush']),
  storage: [...tensorBindings('read', ['inp', 'wgt', 'off', 'msk', 'bia']), ...tensorBindings('read_write', ['outp'])],
});

/**
 * The `flush` parameter: after how many channel chunks the running block sum is added into the total.
 * A float32 sum of R terms in one accumulator is off by up to ~R/2 ulps of the sum (adding a small term to
 * a large total loses its low bits, and with terms of one sign the losses add up: a 2000x2000 kernel on a
 * 1x1 output came out 2% low). Summing blocks of about sqrt(R) rows and adding the block sums brings that
 * to ~2*sqrt(R)/2 ulps, for one vector add per block. A chunk holds up to CHUNK_ROWS rows (channels x
 * taps of a tap block), so a block of about sqrt(R) rows is about chunks/sqrt(R) chunks.
 */
export function forwardFlushChunks(cinPerG: number, taps: number): number {
  const rows = cinPerG * taps;
  if (rows === 0) return 1;
  const tapBlock = Math.min(PLAN_TAPS, taps);
  const perChunk = Math.max(1, Math.floor(CHUNK_ROWS / tapBlock));
  const chunks = Math.ceil(taps / PLAN_TAPS) * Math.ceil(cinPerG / perChunk);
  return Math.min(2 ** 30, Math.max(1, Math.round(chunks / Math.sqrt(rows))));
}

export function forwardShader(storage: StorageType): string {
  return /* wgsl */ `${storageWgsl(storage)}${wgslInterface(FORWARD_PROGRAM)}
const TILE_PIXELS: u32 = ${TILE_PIXELS}u;
const TILE_COUT: u32 = ${TILE_COUT}u;
const PLAN_TAPS: u32 = ${PLAN_TAPS}u;
const CHUNK_ROWS: u32 = ${CHUNK_ROWS}u;
const FORWARD_WORKGROUP: u32 = ${FORWARD_WORKGROUP}u;

${SAMPLING_WGSL}

// Plan entry: corner base index, corner bits (0 when out of range), 4 bilinear weights and the mask; for
// an entry with no corner bit (it reads no pixel) pW.x holds its whole column value instead.
var<workgroup> pBase: array<i32, ${PLAN_TAPS * TILE_PIXELS}>;
var<workgroup> pFlag: array<u32, ${PLAN_TAPS * TILE_PIXELS}>;
var<workgroup> pW: array<vec4<f32>, ${PLAN_TAPS * TILE_PIXELS}>;
var<workgroup> pM: array<f32, ${PLAN_TAPS * TILE_PIXELS}>;
var<workgroup> colT: array<f32, ${CHUNK_ROWS * TILE_PIXELS}>;
var<workgroup> wT: array<f32, ${CHUNK_ROWS * TILE_COUT}>;

@compute @workgroup_size(${FORWARD_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let HoWo = u32(params.ho * params.wo);
  let p0 = wid.x * TILE_PIXELS;
  let coTiles = u32(params.coTiles);
  let grp = wid.y / coTiles;
  let co0 = (wid.y % coTiles) * TILE_COUT;
  let n = wid.z + u32(params.n0);
  let K = u32(params.k);
  let W = params.w;
  let HW = u32(params.h * params.w);
  let coutPerG = u32(params.coutPerG);
  let cinPerG = u32(params.cinPerG);
  let cinPerOg = u32(params.cinPerOg);
  let tx = tid % 8u;
  let ty = tid / 8u;

  // acc: the current block's sums; tot: the completed blocks' (added every params.flush chunks).
  var acc: array<vec4<f32>, 4>;
  var tot: array<vec4<f32>, 4>;
  for (var m = 0u; m < 4u; m++) { acc[m] = vec4<f32>(0.0); tot[m] = vec4<f32>(0.0); }
  let flush = u32(params.flush);
  var chunks = 0u;
  var flushed = false;

  let cBeg = grp * cinPerG;
  let cEnd = cBeg + cinPerG;
  var c = cBeg;
  loop {
    if (c >= cEnd) { break; }
    let og = c / cinPerOg;
    let cSegEnd = min(cEnd, (og + 1u) * cinPerOg);
    for (var tb0 = 0u; tb0 < K; tb0 += PLAN_TAPS) {
      let tb = min(PLAN_TAPS, K - tb0);
      workgroupBarrier();
      // Sampling plan of taps [tb0, tb0 + tb) x the tile's pixels, for offset group og.
      for (var e = tid; e < tb * TILE_PIXELS; e += FORWARD_WORKGROUP) {
        let t = tb0 + e / TILE_PIXELS;
        let q = p0 + e % TILE_PIXELS;
        var flag = 0u;
        var base = 0i;
        var wv = vec4<f32>(0.0);
        var mv = 0.0;
        if (q < HoWo) {
          let pos = samplePosition(n, og, t, q);
          let y = pos.x;
          let x = pos.y;
          let yf = floor(y);
          let xf = floor(x);
          flag = cornerFlags(y, x);
          let inRange = (flag & 16u) != 0u;
          // The forward only reads a sample whose value is in range.
          if (!inRange) { flag = 0u; }
          if (params.hasMask != 0) {
            mv = f32(msk[((n * u32(params.og) + og) * K + t) * HoWo + q]);
          } else {
            mv = 1.0;
          }
          let ly = fraction(y, yf);
          let lx = fraction(x, xf);
          if ((flag & 15u) != 0u) {
            base = i32(yf) * W + i32(xf);
            let hy = 1.0 - ly;
            let hx = 1.0 - lx;
            wv = vec4<f32>(hy * hx, hy * lx, ly * hx, ly * lx);
          } else if (inRange) {
            // In range with no corner: a NaN coordinate, whose NaN weights make the sample NaN, whatever the mask.
            wv.x = timesZero(ly) + timesZero(lx);
          } else {
            // Out of range: torchvision's mask * 0 (NaN for a NaN or infinite mask).
            wv.x = timesZero(mv);
          }
        }
        pBase[e] = base;
        pFlag[e] = flag;
        pW[e] = wv;
        pM[e] = mv;
      }
      workgroupBarrier();
      let cpc = max(1u, CHUNK_ROWS / tb);
      for (var cc0 = c; cc0 < cSegEnd; cc0 += cpc) {
        let nc = min(cpc, cSegEnd - cc0);
        let rows = nc * tb;
        // Deformable columns [rows x TILE_PIXELS]: row r = (channel cc0 + r / tb, tap tb0 + r % tb).
        for (var e = tid; e < rows * TILE_PIXELS; e += FORWARD_WORKGROUP) {
          let r = e / TILE_PIXELS;
          let p = e % TILE_PIXELS;
          let ci = cc0 + r / tb;
          let pe = (r % tb) * TILE_PIXELS + p;
          let f = pFlag[pe];
          let wv = pW[pe];
          if ((f & 15u) != 0u) {
            let b = i32((n * u32(params.cin) + ci) * HW) + pBase[pe];
            var v = 0.0;
            if ((f & 1u) != 0u) { v += wv.x * f32(inp[u32(b)]); }
            if ((f & 2u) != 0u) { v += wv.y * f32(inp[u32(b + 1)]); }
            if ((f & 4u) != 0u) { v += wv.z * f32(inp[u32(b + W)]); }
            if ((f & 8u) != 0u) { v += wv.w * f32(inp[u32(b + W + 1)]); }
            colT[e] = pM[pe] * v;
          } else {
            colT[e] = wv.x;
          }
        }
        // Weights [rows x TILE_COUT]: weight[co][ci - cBeg][tap].
        for (var e = tid; e < rows * TILE_COUT; e += FORWARD_WORKGROUP) {
          let r = e / TILE_COUT;
          let co = co0 + e % TILE_COUT;
          var wv = 0.0;
          if (co < coutPerG) {
            let ci = cc0 + r / tb - cBeg;
            wv = f32(wgt[((grp * coutPerG + co) * cinPerG + ci) * K + tb0 + r % tb]);
          }
          wT[e] = wv;
        }
        workgroupBarrier();
        for (var r = 0u; r < rows; r++) {
          let a = vec4<f32>(colT[r * TILE_PIXELS + tx], colT[r * TILE_PIXELS + tx + 8u], colT[r * TILE_PIXELS + tx + 16u], colT[r * TILE_PIXELS + tx + 24u]);
          acc[0] += wT[r * TILE_COUT + ty] * a;
          acc[1] += wT[r * TILE_COUT + ty + 8u] * a;
          acc[2] += wT[r * TILE_COUT + ty + 16u] * a;
          acc[3] += wT[r * TILE_COUT + ty + 24u] * a;
        }
        chunks += 1u;
        if (chunks == flush) {
          for (var m = 0u; m < 4u; m++) {
            tot[m] += acc[m];
            acc[m] = vec4<f32>(0.0);
          }
          chunks = 0u;
          flushed = true;
        }
        workgroupBarrier();
      }
    }
    c = cSegEnd;
  }

  let cout = u32(params.cout);
  for (var m = 0u; m < 4u; m++) {
    let co = co0 + ty + 8u * m;
    if (co < coutPerG) {
      let oc = grp * coutPerG + co;
      var b = 0.0;
      if (params.hasBias != 0) { b = f32(bia[oc]); }
      let rowBase = (n * cout + oc) * HoWo;
      for (var k = 0u; k < 4u; k++) {
        let q = p0 + tx + 8u * k;
        // Without a completed block the sum is acc alone (0 + acc would turn -0 into +0).
        let s = select(acc[m][k], tot[m][k] + acc[m][k], flushed);
        if (q < HoWo) { outp[rowBase + q] = ST(s + b); }
      }
    }
  }
}
`;
}
