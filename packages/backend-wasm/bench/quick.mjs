// Quick timing: forward (and forward+backward) medians through core, wasm variants next to the cpu backend.
// Usage: node bench/quick.mjs [shape=C] [runs=20] [--bwd]
import { deformConv2d, deformConv2dBackward } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createWasmBackend } from '../dist/index.js';

const SHAPES = { A: [64, 56, 64], B: [128, 28, 128], C: [256, 14, 256], D: [512, 7, 512], E: [256, 64, 256] };
const args = process.argv.slice(2);
const shape = args.find((a) => SHAPES[a]) ?? 'C';
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
const bwd = args.includes('--bwd');
const noCpu = args.includes('--no-cpu');
const [Cin, S, Cout] = SHAPES[shape];
let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const T = (shape, f = rnd) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, f) });
const c = { input: T([1, Cin, S, S]), weight: T([Cout, Cin, 3, 3]), offset: T([1, 18, S, S], () => 2 * rnd()), mask: T([1, 9, S, S], () => 0.5 + rnd()), bias: T([Cout]) };
const params = { padding: 1 };
const go = T([1, Cout, S, S]);
async function time(backend) {
  const ts = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    await deformConv2d(c, params, { backend });
    if (bwd) await deformConv2dBackward({ ...c, gradOutput: go }, params, { backend });
    if (i >= 2) ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return [ts[ts.length >> 1], ts[0]];
}
const flop = 2 * Cout * Cin * 9 * S * S;
const rows = [];
const variants = [];
if (!noCpu) variants.push(['cpu', () => createCpuBackend()]);
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
for (const simd of ['simd', 'relaxed']) for (const threads of [1, 2]) if (!only || only === `${simd}${threads}`) variants.push([`wasm ${simd} ${threads}t`, () => createWasmBackend({ simd, threads })]);
for (const [label, make] of variants) {
  const b = make();
  await b.init();
  const [ms, min] = await time(b);
  rows.push(`${label.padEnd(18)} median ${ms.toFixed(2).padStart(8)} ms  min ${min.toFixed(2).padStart(8)} ms  ${(flop * (bwd ? 3 : 1) / ms / 1e6).toFixed(1)} GFLOP/s (median)`);
  await b.dispose();
}
console.log(`shape ${shape} 1x${Cin}x${S}x${S}->${Cout}, ${bwd ? 'forward+backward' : 'forward'}, median of ${runs}`);
console.log(rows.join('\n'));
