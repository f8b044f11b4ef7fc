// Forward (and backward) timing of cpu RoI pooling: 256 RoIs, 256 channels, 7x7 bins, sampling ratio 2,
// feature map 1x256x50x84 (an 800x1344 image at spatial_scale 1/16), offsets and mask: median of N runs.
// Run after `npx tsc -p tsconfig.build.json`:  node bench/roi-pool.mjs [runs]
import { deformRoiPoolGeometry } from '@dcnv2/core';
import { createCpuBackend } from '../dist/index.js';

const runs = Number(process.argv[2] ?? 10);
const [N, C, H, W, R, P] = [1, 256, 50, 84, 256, 7];
let seed = 1;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const t = (shape, f) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f) });
// Random boxes inside the 1344 x 800 image, 16 to 400 pixels a side.
const rois = t([R, 5], () => 0);
for (let r = 0; r < R; r++) {
  const w = 16 + rnd() * 384;
  const h = 16 + rnd() * 384;
  const x1 = rnd() * (1344 - w);
  const y1 = rnd() * (800 - h);
  rois.data.set([0, x1, y1, x1 + w, y1 + h], r * 5);
}
const args = { input: t([N, C, H, W], () => rnd() - 0.5), rois, offset: t([R, 2, P, P], () => 0.3 * (rnd() - 0.5)), mask: t([R, 1, P, P], rnd) };
const params = { outputSize: P, spatialScale: 1 / 16, samplingRatio: 2, gamma: 0.1 };
const g = deformRoiPoolGeometry(args, params);
const be = createCpuBackend();
const ins = { input: args.input.data, rois: rois.data, offset: args.offset.data, mask: args.mask.data };
const gout = t([R, C, P, P], () => rnd() - 0.5).data;
// Wall time and this process's CPU time: on a shared machine the CPU time is the steadier of the two.
const median = (f) => {
  for (let i = 0; i < 3; i++) f();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < runs; i++) {
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    wall.push(performance.now() - t0);
    const u = process.cpuUsage(u0);
    cpu.push((u.user + u.system) / 1000);
  }
  const mid = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  return `median ${mid(wall).toFixed(1)} ms wall, ${mid(cpu).toFixed(1)} ms CPU over ${runs} runs`;
};
console.log(`RoI pool ${R} RoIs x ${C} ch, ${P}x${P} bins, ratio 2, input ${N}x${C}x${H}x${W}, offset and mask`);
console.log(`forward:                       ${median(() => be.deformRoiPool(g, ins))}`);
console.log(`backward, input grad only:     ${median(() => be.deformRoiPoolBackward(g, ins, gout, { input: true, offset: false, mask: false }))}`);
console.log(`backward, offset and mask:     ${median(() => be.deformRoiPoolBackward(g, ins, gout, { input: false, offset: true, mask: true }))}`);
console.log(`backward, all three grads:     ${median(() => be.deformRoiPoolBackward(g, ins, gout, { input: true, offset: true, mask: true }))}`);
