// A Web Worker that uses the wasm backend in blocking mode (bundled by test/blocking-browser.test.ts with
// esbuild, as an application would bundle it: a worker cannot use the page's import map). It runs core's
// synchronous runOpSync on 2 threads (this worker and one nested kernel worker) until the kernel worker has
// taken chunks, compares with a one-thread backend, and posts what it saw.
import { runOpSync } from '@dcnv2/core';
import { createWasmBackend } from '../../dist/index.js';

const where = { wasmPaths: '/wasm/wasm/', workerUrl: '/wasm/worker.js' };

self.onmessage = async () => {
  let be;
  let one;
  try {
    be = createWasmBackend({ threads: 2, blocking: true, ...where });
    await be.init();
    one = createWasmBackend({ threads: 1, ...where });
    await one.init();
    const n = (shape) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b)).map((_, i) => Math.sin(i)) });
    const c = { input: n([2, 16, 24, 24]), weight: n([16, 16, 3, 3]), offset: n([2, 18, 24, 24]), mask: n([2, 9, 24, 24]), bias: n([16]) };
    // Chunks go to whichever thread claims them first: retry on a time budget, not a count.
    const until = Date.now() + 20000;
    let y;
    let calls = 0;
    for (; calls === 0 || (be.info.workerChunks === 0 && Date.now() < until); calls++) y = runOpSync('deform_conv2d', c, { padding: 1 }, { backend: be });
    const z = runOpSync('deform_conv2d', c, { padding: 1 }, { backend: one });
    const same = y.data.length === z.data.length && y.data.every((v, i) => Object.is(v, z.data[i]));
    self.postMessage({ ok: true, info: be.info, calls, same, length: y.data.length });
  } catch (e) {
    self.postMessage({ ok: false, name: e.name, argument: e.argument, message: e.message });
  } finally {
    await be?.dispose();
    await one?.dispose();
  }
};
