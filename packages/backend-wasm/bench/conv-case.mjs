// The benchmark convolutions of kern.mjs and quick.mjs: a 3x3 DCNv2 layer (padding 1) on a square map,
// with seeded random data, and the host-tensor helper the RoI pooling bench uses too.

/** Shapes by name: [input channels, side, output channels]. */
export const CONV_SHAPES = { A: [64, 56, 64], B: [128, 28, 128], C: [256, 14, 256], D: [512, 7, 512], E: [256, 64, 256] };

/** A host tensor `{ shape, data }` whose values are `fill(i)`. */
export const hostTensor = (shape, fill) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, fill) });

/** The inputs, a grad_output and the forward's flop count of the named shape (same values every run). */
export function convCase(name) {
  const [Cin, S, Cout] = CONV_SHAPES[name];
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const inputs = {
    input: hostTensor([1, Cin, S, S], rnd),
    weight: hostTensor([Cout, Cin, 3, 3], rnd),
    offset: hostTensor([1, 18, S, S], () => 2 * rnd()),
    mask: hostTensor([1, 9, S, S], () => 0.5 + rnd()),
    bias: hostTensor([Cout], rnd),
  };
  const gradOutput = hostTensor([1, Cout, S, S], rnd);
  return { Cin, S, Cout, inputs, gradOutput, flop: 2 * Cout * Cin * 9 * S * S };
}
