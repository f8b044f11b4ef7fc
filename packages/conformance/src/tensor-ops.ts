/** Row-major slicing and assembling along one axis: how the properties suite splits a problem into parts. */

/** Elements of a tensor of `shape` (of a shape from core's shape functions: `OPS[op].shapes(g)`). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function layout(shape: readonly number[], axis: number) {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { outer, dim: shape[axis], inner };
}

/** Elements [start, end) along `axis` of a row-major tensor. */
export function sliceAxis(data: ArrayLike<number>, shape: readonly number[], axis: number, start: number, end: number): Float32Array {
  const { outer, dim, inner } = layout(shape, axis);
  const width = end - start;
  const out = new Float32Array(outer * width * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < width; k++) {
      for (let i = 0; i < inner; i++) out[(o * width + k) * inner + i] = data[(o * dim + start + k) * inner + i];
    }
  }
  return out;
}

/** Adds `part` (the [start, start + width) slice along `axis`) into `dst`, a float64 tensor of `shape`. */
export function addAxis(dst: Float64Array, shape: readonly number[], axis: number, start: number, part: ArrayLike<number>): void {
  const { outer, dim, inner } = layout(shape, axis);
  const width = part.length / Math.max(1, outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < width; k++) {
      for (let i = 0; i < inner; i++) dst[(o * dim + start + k) * inner + i] += part[(o * width + k) * inner + i];
    }
  }
}

/** A float32 tensor filled with one value. */
export function filled(n: number, value: number): Float32Array {
  return new Float32Array(n).fill(value);
}
