// Blocking mode timing: forward of one shape through core, 1 thread (runOpSync) vs 2 threads returning
// promises (deformConv2d) vs 2 threads in blocking mode (runOpSync), in interleaved rounds so that a
// loaded machine slows every variant alike. Prints median and minimum wall times and the load average.
// Usage: node bench/blocking.mjs [shape=C] [runs=30] [--bwd]
import { loadavg } from 'node:os';
import { deformConv2d, deformConv2dBackward, runOpBackwardSync, runOpSync } from '@dcnv2/core';
import { createWasmBackend } from '../dist/index.js';
import { CONV_SHAPES, convCase } from './conv-case.mjs';

const args = process.argv.slice(2);
const shape = args.find((a) => CONV_SHAPES[a]) ?? 'C';
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 30);
const bwd = args.includes('--bwd');
const { Cin, S, Cout, inputs, gradOutput } = convCase(shape);
const params = { padding: 1 };
const variants = [
  { label: '1 thread (sync)', options: { threads: 1 }, sync: true },
  { label: '2 threads (promise)', options: { threads: 2 }, sync: false },
  { label: '2 threads, blocking (sync)', options: { threads: 2, blocking: true }, sync: true },
];
for (const v of variants) {
  v.backend = createWasmBackend(v.options);
  await v.backend.init();
  v.times = [];
}
async function once(v) {
  const backend = v.backend;
  const t0 = performance.now();
  if (v.sync) {
    runOpSync('deform_conv2d', inputs, params, { backend });
    if (bwd) runOpBackwardSync('deform_conv2d', { ...inputs, gradOutput }, params, { backend });
  } else {
    await deformConv2d(inputs, params, { backend });
    if (bwd) await deformConv2dBackward({ ...inputs, gradOutput }, params, { backend });
  }
  return performance.now() - t0;
}
for (const v of variants) for (let i = 0; i < 2; i++) await once(v); // warm-up
const load0 = loadavg()[0];
for (let r = 0; r < runs; r++) for (const v of variants) v.times.push(await once(v));
console.log(`shape ${shape} 1x${Cin}x${S}x${S}->${Cout}, ${bwd ? 'forward+backward' : 'forward'}, ${runs} interleaved rounds, load average ${load0.toFixed(1)} -> ${loadavg()[0].toFixed(1)}`);
for (const v of variants) {
  const ts = [...v.times].sort((a, b) => a - b);
  console.log(`${v.label.padEnd(28)} median ${ts[ts.length >> 1].toFixed(2).padStart(8)} ms  min ${ts[0].toFixed(2).padStart(8)} ms  worker chunks ${v.backend.info.workerChunks}`);
  await v.backend.dispose();
}
