// Forward (and backward) timing of the cpu backend on 1x256x14x14 -> 256, 3x3, pad 1: median of 20 runs.
// Run after `npx tsc -p tsconfig.build.json`:  node bench/forward.mjs [runs]
import { resolveConvGeometry } from '@dcnv2/core';
import { createCpuBackend } from '../dist/index.js';

const runs = Number(process.argv[2] ?? 20);
const [N, Cin, H, W, Cout, k] = [1, 256, 14, 14, 256, 3];
let seed = 1;
const rnd = (n, s = 1) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * s);
const t = (shape, s) => ({ shape, data: rnd(shape.reduce((a, b) => a * b, 1), s) });
const args = {
  input: t([N, Cin, H, W], 2), weight: t([Cout, Cin, k, k], 0.1), offset: t([N, 2 * k * k, H, W], 3),
  mask: t([N, k * k, H, W], 1), bias: t([Cout], 1),
};
const g = resolveConvGeometry(args, { padding: 1 });
const be = createCpuBackend();
const ins = { input: args.input.data, weight: args.weight.data, offset: args.offset.data, mask: args.mask.data, bias: args.bias.data };
const gout = rnd(N * Cout * H * W);
const all = { input: true, offset: true, mask: true, weight: true, bias: true };
const flop = 2 * N * Cout * H * W * Cin * k * k;
const median = (f) => {
  for (let i = 0; i < 3; i++) f();
  const ts = [];
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); f(); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1];
};
const fwd = median(() => be.deformConv2d(g, ins));
console.log(`forward  1x256x14x14 -> 256 3x3 pad 1: median ${fwd.toFixed(1)} ms over ${runs} runs, ${(flop / fwd / 1e6).toFixed(2)} GFLOP/s (${(flop / 1e9).toFixed(3)} GFLOP)`);
const bwd = median(() => be.deformConv2dBackward(g, ins, gout, all));
console.log(`backward (all five grads):            median ${bwd.toFixed(1)} ms over ${runs} runs, ${((2 * flop) / bwd / 1e6).toFixed(2)} GFLOP/s of GEMM`);
