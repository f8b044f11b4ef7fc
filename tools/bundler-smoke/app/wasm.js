// The wasm page: deformConv2d on @dcnv2/backend-wasm with 2 threads, compared with @dcnv2/backend-cpu.
import { deformConv2d, registerBackend, setBackend } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createWasmBackend } from '@dcnv2/backend-wasm';
import { compare, problem, report, watchWorkers } from './common.js';
import wasmOptions from './wasm-options.js';

report('wasm', async () => {
  const workers = watchWorkers();
  registerBackend('cpu', () => createCpuBackend());
  registerBackend('wasm', () => createWasmBackend({ threads: 2, ...wasmOptions }));
  const { args, params } = problem();
  await setBackend('cpu');
  const want = await deformConv2d(args, params);
  const backend = await setBackend('wasm');
  // backend.info.workerChunks counts the worker's chunks over all calls. Chunks go to whichever thread
  // claims them first, so on a loaded machine the calling thread can finish a short call before the
  // worker wakes, several times in a row: call at least three times and until the worker took one (20 s).
  let got = null;
  const until = Date.now() + 20_000;
  for (let i = 0; i < 3 || (backend.info.workerChunks === 0 && Date.now() < until); i++) got = await deformConv2d(args, params);
  return {
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    info: backend.info,
    capabilityThreads: backend.capabilities.threads,
    workers,
    shape: got.shape,
    ...compare(got.data, want.data),
  };
});
