/**
 * The project's conformance suite on the wasm backend, for every build and thread count the issue names:
 * SIMD and relaxed-SIMD kernels x 1 and 2 threads, every suite (golden, properties, fuzz, onnx, gradcheck,
 * cross against the float64 reference and the cpu backend), plus a tiny-tile run in which every call is
 * cut into many 8-pixel tiles, output-channel blocks and channel chunks; and every RoI pooling suite
 * (op deform_roi_pool, cross against the float64 reference) on the four builds x thread counts.
 */
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { checkConformanceSuite, createReferenceBackend, SUITE_NAMES, type SuiteName } from '@dcnv2/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, type WasmBackend } from '../dist/index.js';

const variants: ReadonlyArray<{
  label: string; make: () => WasmBackend; simd: 'simd' | 'relaxed'; threads: number; suites: readonly SuiteName[]; roiSuites: readonly SuiteName[];
}> = [
  { label: 'simd, 1 thread', make: () => createWasmBackend({ simd: 'simd', threads: 1 }), simd: 'simd', threads: 1, suites: SUITE_NAMES, roiSuites: SUITE_NAMES },
  { label: 'relaxed simd, 1 thread', make: () => createWasmBackend({ simd: 'relaxed', threads: 1 }), simd: 'relaxed', threads: 1, suites: SUITE_NAMES, roiSuites: SUITE_NAMES },
  { label: 'simd, 2 threads', make: () => createWasmBackend({ simd: 'simd', threads: 2 }), simd: 'simd', threads: 2, suites: SUITE_NAMES, roiSuites: SUITE_NAMES },
  { label: 'relaxed simd, 2 threads', make: () => createWasmBackend({ simd: 'relaxed', threads: 2 }), simd: 'relaxed', threads: 2, suites: SUITE_NAMES, roiSuites: SUITE_NAMES },
  // Tiles cut convolutions only: RoI pooling does not use them.
  {
    label: 'relaxed simd, 2 threads, 8-pixel tiles',
    make: () => createWasmBackend({ simd: 'relaxed', threads: 2, tilePixels: 8 }),
    simd: 'relaxed', threads: 2, suites: ['golden', 'fuzz', 'properties'], roiSuites: [],
  },
  {
    label: 'simd, 1 thread, 8-pixel tiles',
    make: () => createWasmBackend({ simd: 'simd', threads: 1, tilePixels: 8 }),
    simd: 'simd', threads: 1, suites: ['golden', 'fuzz', 'properties'], roiSuites: [],
  },
];

for (const v of variants) {
  describe(`wasm backend conformance: ${v.label}`, () => {
    const backend = v.make();
    const reference = createReferenceBackend();
    const cpu = createCpuBackend();
    const all = [backend, reference, cpu];
    beforeAll(async () => { for (const b of all) await b.init(); });
    afterAll(async () => { for (const b of all) await b.dispose(); });

    it('runs the requested build and thread count', () => {
      expect(backend.info).toMatchObject({ variant: v.simd, threads: v.threads, sharedMemory: v.threads > 1 });
      expect(backend.info.wasmUrl).toMatch(new RegExp(`/dist/wasm/dcn-${v.simd}${v.threads > 1 ? '-mt' : ''}\\.wasm$`));
      expect(backend.capabilities.threads).toBe(v.threads);
    });

    // Every suite must run (no skips) and pass; `others` matter to cross only.
    for (const suite of v.suites) {
      it(suite, async () => {
        expect((await checkConformanceSuite({ backend, others: [reference, cpu], suite, create: v.make })).problems).toEqual([]);
      }, 180_000);
    }
    for (const suite of v.roiSuites) {
      it(`deform_roi_pool ${suite}`, async () => {
        expect((await checkConformanceSuite({ backend, others: [reference], op: 'deform_roi_pool', suite, create: v.make })).problems).toEqual([]);
      }, 180_000);
    }
  });
}
