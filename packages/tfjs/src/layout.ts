/**
 * Host-side layout changes between what tfjs users hold (NHWC tensors, HWIO weights) and what dcnv2's
 * kernels take (NCHW, OIHW). Done inside the kernels, on the host copy they read anyway, rather than as
 * tfjs transposes around them: no extra tfjs tensors, and the op differentiates without needing tfjs's
 * own gradient of Transpose to be registered.
 */
import type { HostTensor } from '@dcnv2/core';

const TILE = 32;

/**
 * `dst[dOff + c*dRow + r] = src[sOff + r*sRow + c]` for r < rows, c < cols: a strided 2-D transpose, walked
 * in 32x32 tiles so that both the reads and the writes of a tile stay in cache. The innermost loop writes
 * contiguously; it is plain arithmetic on numbers (no arrays of strides), which V8 compiles tightly.
 */
function transpose2d(src: Float32Array, sOff: number, sRow: number, dst: Float32Array, dOff: number, dRow: number, rows: number, cols: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = r0 + TILE < rows ? r0 + TILE : rows;
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = c0 + TILE < cols ? c0 + TILE : cols;
      for (let c = c0; c < c1; c++) {
        let d = dOff + c * dRow + r0;
        let q = sOff + r0 * sRow + c;
        for (let r = r0; r < r1; r++) {
          dst[d++] = src[q]!;
          q += sRow;
        }
      }
    }
  }
}

/**
 * `out` = `t` with its four axes reordered: output axis i is input axis perm[i]. The four layout changes
 * this package makes are batched 2-D transposes (NHWC <-> NCHW: per image, pixels x channels; HWIO <->
 * OIHW: per input channel, taps x output channels) and go through `transpose2d`; any other permutation
 * takes the general loop.
 */
export function permute4d(t: HostTensor, perm: readonly [number, number, number, number]): HostTensor {
  const s = t.shape as readonly [number, number, number, number];
  const shape = perm.map((p) => s[p]!) as [number, number, number, number];
  const data = t.data;
  const out = new Float32Array(data.length);
  const [p0, p1, p2, p3] = perm;
  if (data.length === 0) return { shape, data: out };
  if (p0 === 0 && p1 === 3 && p2 === 1 && p3 === 2) {
    // NHWC -> NCHW: per image, [H*W, C] -> [C, H*W].
    const hw = s[1] * s[2];
    const c = s[3];
    for (let n = 0; n < s[0]; n++) transpose2d(data, n * hw * c, c, out, n * hw * c, hw, hw, c);
    return { shape, data: out };
  }
  if (p0 === 0 && p1 === 2 && p2 === 3 && p3 === 1) {
    // NCHW -> NHWC: per image, [C, H*W] -> [H*W, C].
    const c = s[1];
    const hw = s[2] * s[3];
    for (let n = 0; n < s[0]; n++) transpose2d(data, n * hw * c, hw, out, n * hw * c, c, c, hw);
    return { shape, data: out };
  }
  if (p0 === 3 && p1 === 2 && p2 === 0 && p3 === 1) {
    // HWIO -> OIHW: out[o][i][t] = in[t][i][o] (t: the kh*kw taps). Output channels in blocks of 16 (one
    // cache line of the input): each input line is read once, and 16 output rows are written in order.
    const taps = s[0] * s[1];
    const ci = s[2];
    const co = s[3];
    const rowIn = ci * co;
    const rowOut = ci * taps;
    for (let o0 = 0; o0 < co; o0 += 16) {
      const o1 = o0 + 16 < co ? o0 + 16 : co;
      for (let i = 0; i < ci; i++) {
        for (let t = 0; t < taps; t++) {
          const q = t * rowIn + i * co;
          let d = o0 * rowOut + i * taps + t;
          for (let o = o0; o < o1; o++) {
            out[d] = data[q + o]!;
            d += rowOut;
          }
        }
      }
    }
    return { shape, data: out };
  }
  if (p0 === 2 && p1 === 3 && p2 === 1 && p3 === 0) {
    // OIHW -> HWIO: out[t][i][o] = in[o][i][t]. Output channels in blocks of 16 (one cache line of the
    // output): 16 input rows are read in order, and each output line is written once.
    const co = s[0];
    const ci = s[1];
    const taps = s[2] * s[3];
    const rowIn = ci * taps;
    const rowOut = ci * co;
    for (let o0 = 0; o0 < co; o0 += 16) {
      const o1 = o0 + 16 < co ? o0 + 16 : co;
      for (let i = 0; i < ci; i++) {
        for (let t = 0; t < taps; t++) {
          let q = o0 * rowIn + i * taps + t;
          const d = t * rowOut + i * co;
          for (let o = o0; o < o1; o++) {
            out[d + o] = data[q]!;
            q += rowIn;
          }
        }
      }
    }
    return { shape, data: out };
  }

  // General: output in order, each element read through the input strides of its axes.
  const inStrides = [s[1] * s[2] * s[3], s[2] * s[3], s[3], 1];
  const a0 = inStrides[p0]!;
  const a1 = inStrides[p1]!;
  const a2 = inStrides[p2]!;
  const a3 = inStrides[p3]!;
  let k = 0;
  for (let i = 0; i < shape[0]; i++) {
    for (let j = 0; j < shape[1]; j++) {
      for (let l = 0; l < shape[2]; l++) {
        const base = i * a0 + j * a1 + l * a2;
        for (let m = 0; m < shape[3]; m++) out[k++] = data[base + m * a3]!;
      }
    }
  }
  return { shape, data: out };
}

export const NHWC_TO_NCHW = [0, 3, 1, 2] as const;
export const NCHW_TO_NHWC = [0, 2, 3, 1] as const;
export const HWIO_TO_OIHW = [3, 2, 0, 1] as const;
export const OIHW_TO_HWIO = [2, 3, 1, 0] as const;

/** Per input of each op, the permutation from the NHWC call's layout to the kernels' (absent: none). */
export const TO_KERNEL_LAYOUT: Readonly<Record<string, Readonly<Record<string, readonly [number, number, number, number]>>>> = {
  deform_conv2d: { input: NHWC_TO_NCHW, weight: HWIO_TO_OIHW, offset: NHWC_TO_NCHW, mask: NHWC_TO_NCHW, gradOutput: NHWC_TO_NCHW },
  deform_roi_pool: { input: NHWC_TO_NCHW, offset: NHWC_TO_NCHW, mask: NHWC_TO_NCHW, gradOutput: NHWC_TO_NCHW },
};

/** The inverse permutation (to bring a result, or a gradient, back to the caller's layout). */
export function inverse(perm: readonly [number, number, number, number]): [number, number, number, number] {
  const inv = [0, 0, 0, 0] as [number, number, number, number];
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
