/** N = 0: an empty output, empty input/offset/mask gradients, zero weight and bias gradients of full size. */
import { deformConv2d, deformConv2dBackward } from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/index.js';
import { makeCase, runBackend } from './helpers.js';

describe('empty batch', () => {
  const c = makeCase({ N: 0, Cin: 4, H: 5, W: 6, Cout: 6, kh: 3, kw: 3, pads: [1, 1, 1, 1], groups: 2, offsetGroups: 2 }, 1);

  it('through the backend methods', () => {
    const be = createCpuBackend();
    const { output, grads } = runBackend(be, c);
    expect(output).toBeInstanceOf(Float32Array);
    expect(output.length).toBe(0);
    expect(grads.input!.length).toBe(0);
    expect(grads.offset!.length).toBe(0);
    expect(grads.mask!.length).toBe(0);
    expect(grads.weight!.length).toBe(6 * 2 * 3 * 3);
    expect(grads.weight!.every((v) => v === 0)).toBe(true);
    expect([...grads.bias!]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('through core, with shapes', async () => {
    const be = createCpuBackend();
    const out = await deformConv2d(c, c.params, { backend: be });
    expect(out.shape).toEqual([0, 6, 5, 6]);
    expect(out.data.length).toBe(0);
    const g = await deformConv2dBackward(c, c.params, { backend: be });
    expect(g.input!.shape).toEqual([0, 4, 5, 6]);
    expect(g.offset!.shape).toEqual([0, 36, 5, 6]);
    expect(g.mask!.shape).toEqual([0, 18, 5, 6]);
    expect(g.weight!.shape).toEqual([6, 2, 3, 3]);
    expect(g.weight!.data.every((v) => v === 0)).toBe(true);
    expect(g.bias!.shape).toEqual([6]);
    expect([...g.bias!.data]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
