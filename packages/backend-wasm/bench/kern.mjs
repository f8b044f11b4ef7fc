// Tuning aid: CPU time (process.cpuUsage, robust to a loaded machine) of single-thread forward on a shape.
// Usage: node bench/kern.mjs [shape=C] [runs=30] [simd=relaxed]   (TP=<pixels> sets tilePixels)
import { deformConv2d } from '@dcnv2/core';
import { createWasmBackend } from '../dist/index.js';
import { convCase } from './conv-case.mjs';

const shape = process.argv[2] ?? 'C', runs = Number(process.argv[3] ?? 30), simd = process.argv[4] ?? 'relaxed';
const { inputs, flop } = convCase(shape);
const backend = createWasmBackend({ simd, threads: 1, ...(process.env.TP ? { tilePixels: Number(process.env.TP) } : {}) });
await backend.init();
const ts = [];
for (let i = 0; i < runs + 3; i++) {
  const u0 = process.cpuUsage();
  await deformConv2d(inputs, { padding: 1 }, { backend });
  const u = process.cpuUsage(u0);
  if (i >= 3) ts.push((u.user + u.system) / 1000);
}
ts.sort((a, b) => a - b);
console.log(`${shape} ${simd} cpu-time median ${ts[ts.length >> 1].toFixed(2)} ms min ${ts[0].toFixed(2)} ms -> ${(flop / ts[0] / 1e6).toFixed(1)} GFLOP/s (min)`);
await backend.dispose();
