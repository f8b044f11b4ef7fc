/** The Backend contract: name, capabilities, handles, dispose, options, provider, registry, fallback, workers. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  BackendError, deformConv2d, deformConv2dBackward, DisposedError, listKernels, ParamError, registerBackend, setBackend, upload,
  type Backend,
} from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWasmBackend, dcnBackend, WasmBackend, WasmTensor } from '../dist/index.js';
import { makeCase } from './helpers.js';

describe('WasmBackend', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('names itself wasm and states its capabilities', async () => {
    const be = createWasmBackend({ threads: 1 });
    expect(be).toBeInstanceOf(WasmBackend);
    expect(be.name).toBe('wasm');
    await be.init();
    expect(be.capabilities).toEqual({ threads: 1, float16: false, resident: true, externalBuffers: false });
    // What it runs is derived from its kernel table: every op, both directions.
    expect(listKernels(be as Backend<WasmTensor>).map((k) => `${k.op} ${k.direction}`)).toEqual([
      'deform_conv2d forward', 'deform_conv2d backward', 'deform_roi_pool forward', 'deform_roi_pool backward',
    ]);
    await be.dispose();
  });

  it('upload and download copy; release frees; empty tensors need no memory', async () => {
    const be = createWasmBackend({ threads: 1 });
    await be.init();
    const before = be.memoryStats.inUse;
    const src = Float32Array.from([1, 2, 3]);
    const h = be.upload(src, [3]);
    src[0] = 9;
    expect([...(await be.download(h, [3]))]).toEqual([1, 2, 3]);
    const d = await be.download(h, [3]);
    d[1] = 9;
    expect([...(await be.download(h, [3]))]).toEqual([1, 2, 3]);
    expect(be.memoryStats.inUse).toBeGreaterThan(before);
    be.release(h);
    be.release(h); // twice is harmless
    expect(be.memoryStats.inUse).toBe(before);
    await expect(be.download(h, [3])).rejects.toThrow(DisposedError);
    const e = be.upload(new Float32Array(0), [0]);
    expect((await be.download(e, [0])).length).toBe(0);
    await be.dispose();
  });

  it('throws DisposedError after dispose (release stays harmless)', async () => {
    const be = createWasmBackend({ threads: 2 });
    await be.init();
    const h = be.upload(Float32Array.from([1]), [1]);
    await be.dispose();
    expect(be.disposed).toBe(true);
    expect(() => be.upload(Float32Array.from([1]), [1])).toThrow(DisposedError);
    await expect(be.download(h, [1])).rejects.toThrow(DisposedError);
    await expect(be.init()).rejects.toThrow(DisposedError);
    expect(() => be.release(h)).not.toThrow();
    const c = makeCase(1, 2, 4, 2, 1);
    await expect(deformConv2d(c, c.params, { backend: be })).rejects.toThrow(DisposedError);
  });

  it('validates its options', () => {
    expect(() => createWasmBackend({ threads: 0 })).toThrow(ParamError);
    expect(() => createWasmBackend({ threads: 1.5 })).toThrow(ParamError);
    expect(() => createWasmBackend({ simd: 'avx' as never })).toThrow(ParamError);
    expect(() => createWasmBackend({ maxMemoryBytes: 2 ** 33 })).toThrow(ParamError);
    expect(() => createWasmBackend({ tilePixels: -1 })).toThrow(ParamError);
    expect(() => createWasmBackend('big' as never)).toThrow(ParamError);
    expect(createWasmBackend(null).options.simd).toBe('auto');
  });

  it('is used before init only with a typed error', () => {
    const be = createWasmBackend({ threads: 1 });
    expect(() => be.upload(Float32Array.from([1]), [1])).toThrow(BackendError);
  });

  it('is creatable through dcnBackend and usable through the registry and resident tensors', async () => {
    expect(dcnBackend.name).toBe('wasm');
    const made = (await dcnBackend.create({ threads: 1 })) as WasmBackend;
    expect(made).toBeInstanceOf(WasmBackend);
    await made.init();
    registerBackend('wasm', () => createWasmBackend({ threads: 1 }), { replace: true });
    await setBackend('wasm');
    const c = makeCase(1, 3, 6, 4, 2);
    const viaRegistry = await deformConv2d(c, c.params);
    const viaInstance = await deformConv2d(c, c.params, { backend: made });
    expect(viaRegistry.data).toEqual(viaInstance.data);
    const input = upload(made as Backend<WasmTensor>, c.input);
    const res = await deformConv2d({ ...c, input }, c.params, { backend: made, output: 'resident' });
    expect(res.kind).toBe('resident');
    expect(await res.read()).toEqual(viaInstance.data);
    res.dispose();
    input.dispose();
    await made.dispose();
  });

  it('gives the same values with 1 and 3 threads, SIMD and relaxed builds, and matches the cpu backend', async () => {
    const c = makeCase(2, 24, 13, 20, 3);
    const cpu = createCpuBackend();
    const want = await deformConv2d(c, c.params, { backend: cpu });
    const wantB = await deformConv2dBackward({ ...c }, c.params, { backend: cpu });
    const results: Float32Array[] = [];
    for (const opts of [{ threads: 1, simd: 'simd' }, { threads: 3, simd: 'simd' }, { threads: 1, simd: 'relaxed' }, { threads: 3, simd: 'relaxed' }] as const) {
      const be = createWasmBackend({ ...opts, tilePixels: 16 });
      await be.init();
      const got = await deformConv2d(c, c.params, { backend: be });
      const g = await deformConv2dBackward({ ...c }, c.params, { backend: be });
      for (let i = 0; i < want.data.length; i++) expect(Math.abs(got.data[i] - want.data[i])).toBeLessThan(1e-4 + 1e-4 * Math.abs(want.data[i]));
      for (const k of ['input', 'offset', 'mask', 'weight', 'bias'] as const) {
        const a = g[k]!.data;
        const b = wantB[k]!.data;
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
        expect(worst, k).toBeLessThan(1e-2);
      }
      results.push(got.data);
      await be.dispose();
    }
    // Same build, different thread counts: the forward is bit-identical (each output has one owner).
    expect(results[1]).toEqual(results[0]);
    expect(results[3]).toEqual(results[2]);
  });

  it('falls back to one thread where SharedArrayBuffer is missing', async () => {
    vi.stubGlobal('SharedArrayBuffer', undefined);
    const be = createWasmBackend({ threads: 4 });
    await be.init();
    expect(be.info.threads).toBe(1);
    expect(be.info.sharedMemory).toBe(false);
    expect(be.capabilities.threads).toBe(1);
    vi.unstubAllGlobals();
    const c = makeCase(1, 4, 5, 3, 4);
    const ref = createWasmBackend({ threads: 2 });
    await ref.init();
    const a = await deformConv2d(c, c.params, { backend: be });
    const b = await deformConv2d(c, c.params, { backend: ref });
    expect(a.data).toEqual(b.data);
    await be.dispose();
    await ref.dispose();
  });

  it('leaves nothing that keeps a Node process alive after dispose (and while idle)', () => {
    const script = fileURLToPath(new URL('./fixtures/exit-after-dispose.mjs', import.meta.url));
    for (const mode of ['dispose', 'no-dispose']) {
      const r = spawnSync(process.execPath, [script, mode], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(`ok ${mode}`);
      expect(r.status).toBe(0);
    }
  });
});
