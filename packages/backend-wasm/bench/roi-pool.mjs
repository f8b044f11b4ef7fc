// RoI pooling timing (not a test): the R1 detection head, 256 RoIs x 256 channels pooled to 7x7 with 2x2
// samples per bin from a 1x256x50x84 feature map (stride 16 of an 800x1344 image), with offsets and masks.
// Prints the median of `runs` forward calls (and forward + backward with --bwd) per build and thread count:
//   kernel = the backend method on resident handles; core = deformRoiPool from host arrays (uploads included).
// Usage: node bench/roi-pool.mjs [runs=10] [--bwd] [--only=simd1|simd2|relaxed1|relaxed2] [--adaptive]
import { deformRoiPool, deformRoiPoolGeometry } from '@dcnv2/core';
import { Rng } from '@dcnv2/conformance';
import { createWasmBackend } from '../dist/index.js';
import { hostTensor } from './conv-case.mjs';

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 10);
const bwd = args.includes('--bwd');
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const [N, C, H, W, R, PH, PW, scale] = [1, 256, 50, 84, 256, 7, 7, 1 / 16];
const samplingRatio = args.includes('--adaptive') ? 0 : 2;
const rng = new Rng(7);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
// Boxes inside the 800x1344 image, sides log-uniform in 32..512 px.
const side = () => Math.exp(Math.log(32) + rng.next() * (Math.log(512) - Math.log(32)));
const rois = hostTensor([R, 5], () => 0);
for (let r = 0; r < R; r++) {
  const w = side(), h = side();
  const x1 = rng.next() * (W / scale - w), y1 = rng.next() * (H / scale - h);
  rois.data.set([0, x1, y1, x1 + w, y1 + h], r * 5);
}
const args0 = {
  input: hostTensor([N, C, H, W], normal),
  rois,
  offset: hostTensor([R, 2, PH, PW], () => 0.1 * normal()),
  mask: hostTensor([R, 1, PH, PW], () => 1 / (1 + Math.exp(-normal()))),
};
const params = { outputSize: [PH, PW], spatialScale: scale, samplingRatio, gamma: 0.1 };
const geometry = deformRoiPoolGeometry(args0, params);
const gradOutput = hostTensor([R, C, PH, PW], normal);
const want = { input: true, offset: true, mask: true };

const median = (ts) => ts.sort((a, b) => a - b)[ts.length >> 1];
/** Wall-clock median and min, and the median of the process CPU time (all threads; robust to a loaded machine). */
async function time(f) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < runs + 2; i++) {
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    await f();
    const t = performance.now() - t0;
    const u = process.cpuUsage(u0);
    if (i >= 2) {
      wall.push(t);
      cpu.push((u.user + u.system) / 1000);
    }
  }
  const min = Math.min(...wall);
  return `${median(wall).toFixed(2).padStart(7)} ms (min ${min.toFixed(2)}, cpu ${median(cpu).toFixed(2)})`;
}

console.log(`RoI pooling ${N}x${C}x${H}x${W}, R=${R}, ${PH}x${PW} bins, sampling ratio ${samplingRatio}, scale 1/16, offset+mask; median of ${runs}`);
for (const simd of ['simd', 'relaxed']) {
  for (const threads of [1, 2]) {
    if (only && only !== `${simd}${threads}`) continue;
    const be = createWasmBackend({ simd, threads });
    await be.init();
    const h = Object.fromEntries(Object.entries(args0).map(([k, t]) => [k, be.upload(t.data, t.shape)]));
    const go = be.upload(gradOutput.data, gradOutput.shape);
    const kernel = await time(async () => be.release(await be.deformRoiPool(geometry, h)));
    const core = await time(() => deformRoiPool(args0, params, { backend: be }));
    let line = `wasm ${simd.padEnd(7)} ${threads}t  forward kernel ${kernel}  core ${core}`;
    if (bwd) {
      const b = await time(async () => {
        const gr = await be.deformRoiPoolBackward(geometry, h, go, want);
        for (const t of Object.values(gr)) if (t) be.release(t);
      });
      line += `  backward kernel ${b}`;
    }
    console.log(line);
    await be.dispose();
  }
}
