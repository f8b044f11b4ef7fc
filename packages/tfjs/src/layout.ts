/**
 * Host-side layout changes between what tfjs users hold (NHWC tensors, HWIO weights) and what dcnv2's
 * kernels take (NCHW, OIHW). Done inside the kernels, on the host copy they read anyway, rather than as
 * tfjs transposes around them: no extra tfjs tensors, and the op differentiates without needing tfjs's
 * own gradient of Transpose to be registered.
 */
import type { HostTensor } from '@dcnv2/core';

const TILE = 32;

/**
 * `out` = `t` with its four axes reordered: output axis i is input axis perm[i]. When the output's
 * innermost axis is not the input's, a plain loop reads (or writes) with the stride of a whole row, which
 * for a weight HWIO -> OIHW is Cin*Cout floats: so those two axes are walked in 32x32 tiles, read and
 * written within cache.
 */
export function permute4d(t: HostTensor, perm: readonly [number, number, number, number]): HostTensor {
  const s = t.shape;
  const shape = perm.map((p) => s[p]!) as [number, number, number, number];
  const inStrides = [s[1]! * s[2]! * s[3]!, s[2]! * s[3]!, s[3]!, 1];
  const outStrides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  /** Per output axis, the input stride it walks. */
  const src = perm.map((p) => inStrides[p]!);
  const data = t.data;
  const out = new Float32Array(data.length);
  if (perm[3] === 3) {
    // The innermost axis stays innermost: whole rows are copied.
    let k = 0;
    for (let i = 0; i < shape[0]; i++) {
      for (let j = 0; j < shape[1]; j++) {
        for (let l = 0; l < shape[2]; l++) {
          const base = i * src[0]! + j * src[1]! + l * src[2]!;
          out.set(data.subarray(base, base + shape[3]), k);
          k += shape[3];
        }
      }
    }
    return { shape, data: out };
  }
  // b: the output axis that walks the input's innermost one; the output's innermost (3) walks src[3].
  const b = perm.indexOf(3);
  const [o1, o2] = [0, 1, 2].filter((k) => k !== b) as [number, number];
  for (let i1 = 0; i1 < shape[o1]; i1++) {
    for (let i2 = 0; i2 < shape[o2]; i2++) {
      const inBase = i1 * src[o1]! + i2 * src[o2]!;
      const outBase = i1 * outStrides[o1]! + i2 * outStrides[o2]!;
      for (let jj = 0; jj < shape[b]!; jj += TILE) {
        const jEnd = Math.min(jj + TILE, shape[b]!);
        for (let kk = 0; kk < shape[3]; kk += TILE) {
          const kEnd = Math.min(kk + TILE, shape[3]);
          for (let j = jj; j < jEnd; j++) {
            const inRow = inBase + j; // src[b] is 1: the input's innermost axis
            const outRow = outBase + j * outStrides[b]!;
            for (let k = kk; k < kEnd; k++) out[outRow + k] = data[inRow + k * src[3]!]!;
          }
        }
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
