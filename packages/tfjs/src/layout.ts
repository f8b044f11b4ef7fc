/**
 * Host-side layout changes between what tfjs users hold (NHWC tensors, HWIO weights) and what dcnv2's
 * kernels take (NCHW, OIHW). Done inside the kernels, on the host copy they read anyway, rather than as
 * tfjs transposes around them: no extra tfjs tensors, and the op differentiates without needing tfjs's
 * own gradient of Transpose to be registered.
 */
import type { HostTensor } from '@dcnv2/core';

/** `out` = `t` with its four axes reordered: output axis i is input axis perm[i]. */
export function permute4d(t: HostTensor, perm: readonly [number, number, number, number]): HostTensor {
  const s = t.shape;
  const shape = perm.map((p) => s[p]!) as [number, number, number, number];
  const strides = [s[1]! * s[2]! * s[3]!, s[2]! * s[3]!, s[3]!, 1];
  const [a, b, c, d] = perm.map((p) => strides[p]!) as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  let k = 0;
  for (let i = 0; i < shape[0]; i++) {
    for (let j = 0; j < shape[1]; j++) {
      for (let l = 0; l < shape[2]; l++) {
        const base = i * a + j * b + l * c;
        for (let m = 0; m < shape[3]; m++) out[k++] = t.data[base + m * d]!;
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
