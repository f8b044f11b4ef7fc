/** The Backend contract: name, capabilities, handles, dispose, options, provider and registry use. */
import {
  deformConv2d, DisposedError, listKernels, ParamError, registerBackend, setBackend, upload, type Backend, type ConvGeometry,
} from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend, createCpuBackend, dcnBackend } from '../src/index.js';
import { geometryOf, makeCase } from './helpers.js';

describe('CpuBackend', () => {
  it('names itself cpu and states its capabilities', () => {
    const be = createCpuBackend();
    expect(be).toBeInstanceOf(CpuBackend);
    expect(be.name).toBe('cpu');
    expect(be.capabilities).toEqual({ threads: 1, float16: false, resident: false, externalBuffers: false });
    // What it runs is derived from its kernel table: every op, both directions.
    expect(listKernels(be as Backend<Float32Array>)).toEqual([
      { op: 'deform_conv2d', direction: 'forward' },
      { op: 'deform_conv2d', direction: 'backward' },
      { op: 'deform_roi_pool', direction: 'forward' },
      { op: 'deform_roi_pool', direction: 'backward' },
    ]);
  });

  it('upload and download copy; release is a no-op', async () => {
    const be = createCpuBackend();
    await be.init();
    const src = Float32Array.from([1, 2, 3]);
    const h = be.upload(src, [3]);
    src[0] = 9;
    expect([...h]).toEqual([1, 2, 3]);
    const d = await be.download(h, [3]);
    d[1] = 9;
    expect([...h]).toEqual([1, 2, 3]);
    be.release(h);
    expect([...(await be.download(h, [3]))]).toEqual([1, 2, 3]);
  });

  it('throws DisposedError after dispose (release stays harmless)', async () => {
    const be = createCpuBackend();
    const c = makeCase({ N: 1, Cin: 1, H: 3, W: 3, Cout: 1, kh: 1, kw: 1 }, 1);
    const g: ConvGeometry = geometryOf(c);
    const inputs = { input: c.input.data, weight: c.weight.data, offset: c.offset.data, mask: c.mask!.data, bias: c.bias!.data };
    const h = be.upload(c.input.data, c.input.shape);
    await be.dispose();
    expect(be.disposed).toBe(true);
    expect(() => be.deformConv2d(g, inputs)).toThrow(DisposedError);
    expect(() => be.deformConv2dBackward(g, inputs, c.gradOutput.data, { input: true, offset: true, mask: true, weight: true, bias: true })).toThrow(DisposedError);
    expect(() => be.upload(c.input.data, c.input.shape)).toThrow(DisposedError);
    await expect(be.download(h, c.input.shape)).rejects.toThrow(DisposedError);
    await expect(be.init()).rejects.toThrow(DisposedError);
    expect(() => be.release(h)).not.toThrow();
  });

  it('validates its options', () => {
    expect(() => createCpuBackend({ workspaceBytes: 0 })).toThrow(ParamError);
    expect(() => createCpuBackend({ workspaceBytes: 1.5 })).toThrow(ParamError);
    expect(() => createCpuBackend({ tilePixels: -1 })).toThrow(ParamError);
    expect(() => createCpuBackend('big' as never)).toThrow(ParamError);
    expect(createCpuBackend(null).limits).toEqual({ workspaceBytes: 4 * 1024 * 1024 });
    expect(createCpuBackend({ tilePixels: 4 }).limits).toEqual({ workspaceBytes: 4 * 1024 * 1024, tilePixels: 4 });
  });

  it('is creatable through dcnBackend and usable through the registry and resident tensors', async () => {
    expect(dcnBackend.name).toBe('cpu');
    const made = (await dcnBackend.create({ tilePixels: 2 })) as Backend;
    expect(made).toBeInstanceOf(CpuBackend);
    registerBackend('cpu', () => createCpuBackend());
    await setBackend('cpu');
    const c = makeCase({ N: 1, Cin: 2, H: 4, W: 4, Cout: 3, kh: 3, kw: 3, pads: [1, 1, 1, 1] }, 2);
    const viaRegistry = await deformConv2d(c, c.params);
    const viaInstance = await deformConv2d(c, c.params, { backend: made });
    expect(viaRegistry.data).toEqual(viaInstance.data);
    // Resident in, resident out.
    const input = upload(made as Backend<Float32Array>, c.input);
    const res = await deformConv2d({ ...c, input }, c.params, { backend: made, output: 'resident' });
    expect(res.kind).toBe('resident');
    expect(await res.read()).toEqual(viaInstance.data);
    res.dispose();
    input.dispose();
  });
});
