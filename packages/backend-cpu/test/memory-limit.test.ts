/**
 * maxMemoryBytes (issue 10, finding 7): a request the cpu backend cannot hold is refused with LimitError
 * before anything is allocated, with the limit stated; the limit is configurable.
 */
import { deformConv2d, deformConv2dBackward, deformRoiPool, deformRoiPoolBackward, hostTensor, LimitError, upload } from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend, DEFAULT_CPU_MAX_MEMORY_BYTES } from '../src/index.js';

function convArgs(Cout: number, H: number, W: number) {
  return {
    input: hostTensor([1, 1, H, W]),
    weight: hostTensor([Cout, 1, 1, 1]),
    offset: hostTensor([1, 2, H, W]),
  };
}

async function limitError(p: Promise<unknown>): Promise<LimitError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(LimitError);
  return e as LimitError;
}

describe('cpu maxMemoryBytes', () => {
  it('defaults to 2 GiB and refuses a 4 GiB output without allocating it', async () => {
    const backend = createCpuBackend();
    expect(backend.maxMemoryBytes).toBe(DEFAULT_CPU_MAX_MEMORY_BYTES);
    const before = process.memoryUsage().rss;
    // Cout = 2^20 over a 32x32 image: 2^30 floats of output from 4 MiB of inputs.
    const e = await limitError(deformConv2d(convArgs(2 ** 20, 32, 32), {}, { backend }));
    expect(e.argument).toBe('deformConv2d output');
    expect(e.message).toContain(`at most ${2 ** 31} bytes`);
    expect(e.message).toContain(`${2 ** 32} bytes`);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
  });

  it('is configurable, and counts uploads, outputs and gradients', async () => {
    const backend = createCpuBackend({ maxMemoryBytes: 8192 });
    // 2048 floats fit exactly (the offset upload is that size); 2049 do not.
    expect(upload(backend, hostTensor([2048])).shape).toEqual([2048]);
    expect(() => upload(backend, hostTensor([2049]))).toThrow(LimitError);
    expect((await deformConv2d(convArgs(2, 32, 32), {}, { backend })).data.length).toBe(2048);
    await limitError(deformConv2d(convArgs(3, 32, 32), {}, { backend }));
    // Forward fits, the gradients together (input 1024 + offset 2048 floats) do not.
    const small = convArgs(1, 32, 32);
    await limitError(deformConv2dBackward({ ...small, gradOutput: hostTensor([1, 1, 32, 32]) }, {}, { backend, grads: ['input', 'offset'] }));
    const grads = await deformConv2dBackward({ ...small, gradOutput: hostTensor([1, 1, 32, 32]) }, {}, { backend, grads: ['input'] });
    expect(grads.input!.data.length).toBe(1024);
  });

  it('covers RoI pooling forward and backward', async () => {
    const backend = createCpuBackend({ maxMemoryBytes: 4096 });
    const args = { input: hostTensor([1, 64, 4, 4]), rois: hostTensor([2, 5], [0, 0, 0, 3, 3, 0, 1, 1, 2, 2]) };
    // 2 RoIs x 64 channels x 2x2 bins = 512 floats fit; 4x4 bins = 2048 floats do not.
    expect((await deformRoiPool(args, { outputSize: 2 }, { backend })).data.length).toBe(512);
    await limitError(deformRoiPool(args, { outputSize: 4 }, { backend }));
    await limitError(deformRoiPoolBackward({ ...args, input: hostTensor([1, 64, 5, 4]), gradOutput: hostTensor([2, 64, 2, 2]) }, { outputSize: 2 }, { backend }));
  });

  it('refuses a bad option with ParamError', () => {
    expect(() => createCpuBackend({ maxMemoryBytes: 0 })).toThrow(/options.maxMemoryBytes/);
    expect(() => createCpuBackend({ maxMemoryBytes: 1.5 })).toThrow(/options.maxMemoryBytes/);
  });
});
