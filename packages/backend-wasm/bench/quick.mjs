// Quick timing: forward (and forward+backward) medians through core, wasm variants next to the cpu backend.
// Usage: node bench/quick.mjs [shape=C] [runs=20] [--bwd]
import { deformConv2d, deformConv2dBackward } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createWasmBackend } from '../dist/index.js';
import { CONV_SHAPES, convCase } from './conv-case.mjs';

const args = process.argv.slice(2);
const shape = args.find((a) => CONV_SHAPES[a]) ?? 'C';
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
const bwd = args.includes('--bwd');
const noCpu = args.includes('--no-cpu');
const { Cin, S, Cout, inputs, gradOutput, flop } = convCase(shape);
const params = { padding: 1 };
async function time(backend) {
  const ts = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    await deformConv2d(inputs, params, { backend });
    if (bwd) await deformConv2dBackward({ ...inputs, gradOutput }, params, { backend });
    if (i >= 2) ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return [ts[ts.length >> 1], ts[0]];
}
const rows = [];
const variants = [];
if (!noCpu) variants.push(['cpu', () => createCpuBackend()]);
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
for (const simd of ['simd', 'relaxed']) for (const threads of [1, 2]) if (!only || only === `${simd}${threads}`) variants.push([`wasm ${simd} ${threads}t`, () => createWasmBackend({ simd, threads })]);
for (const [label, make] of variants) {
  const backend = make();
  await backend.init();
  const [ms, min] = await time(backend);
  rows.push(`${label.padEnd(18)} median ${ms.toFixed(2).padStart(8)} ms  min ${min.toFixed(2).padStart(8)} ms  ${(flop * (bwd ? 3 : 1) / ms / 1e6).toFixed(1)} GFLOP/s (median)`);
  await backend.dispose();
}
console.log(`shape ${shape} 1x${Cin}x${S}x${S}->${Cout}, ${bwd ? 'forward+backward' : 'forward'}, median of ${runs}`);
console.log(rows.join('\n'));
