/**
 * Axis permutation of a dense row-major 4-D array: the layout conversions between this library's NCHW / OIHW
 * tensors and the channels-last NHWC / HWIO ones that tfjs convolves (tfjs-dense.ts).
 */

/**
 * `src` of shape `shape` (row-major) with its axes reordered: axis k of the result is axis `order[k]` of `src`,
 * so the result has shape [shape[order[0]], .., shape[order[3]]]. Values are copied, never computed.
 */
export function permute4d(
  src: Float32Array,
  shape: readonly [number, number, number, number],
  order: readonly [number, number, number, number],
): Float32Array {
  const srcStrides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const [d0, d1, d2, d3] = order.map((a) => shape[a]);
  const [s0, s1, s2, s3] = order.map((a) => srcStrides[a]);
  const out = new Float32Array(src.length);
  let o = 0;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        const base = i0 * s0 + i1 * s1 + i2 * s2;
        for (let i3 = 0; i3 < d3; i3++) out[o++] = src[base + i3 * s3];
      }
    }
  }
  return out;
}
