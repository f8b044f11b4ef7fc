// Tuning aid: CPU time (process.cpuUsage, robust to a loaded machine) of single-thread forward on a shape.
import { deformConv2d } from '@dcnv2/core';
import { createWasmBackend } from '../dist/index.js';
const SHAPES = { A: [64, 56, 64], B: [128, 28, 128], C: [256, 14, 256], D: [512, 7, 512], E: [256, 64, 256] };
const shape = process.argv[2] ?? 'C', runs = Number(process.argv[3] ?? 30), simd = process.argv[4] ?? 'relaxed';
const [Cin, S, Cout] = SHAPES[shape];
let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const T = (shape, f = rnd) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, f) });
const c = { input: T([1, Cin, S, S]), weight: T([Cout, Cin, 3, 3]), offset: T([1, 18, S, S], () => 2 * rnd()), mask: T([1, 9, S, S], () => 0.5 + rnd()), bias: T([Cout]) };
const b = createWasmBackend({ simd, threads: 1, ...(process.env.TP ? { tilePixels: Number(process.env.TP) } : {}) });
await b.init();
const ts = [];
for (let i = 0; i < runs + 3; i++) {
  const u0 = process.cpuUsage();
  await deformConv2d(c, { padding: 1 }, { backend: b });
  const u = process.cpuUsage(u0);
  if (i >= 3) ts.push((u.user + u.system) / 1000);
}
ts.sort((a, b) => a - b);
const flop = 2 * Cout * Cin * 9 * S * S;
console.log(`${shape} ${simd} cpu-time median ${ts[ts.length >> 1].toFixed(2)} ms min ${ts[0].toFixed(2)} ms -> ${(flop / ts[0] / 1e6).toFixed(1)} GFLOP/s (min)`);
await b.dispose();
