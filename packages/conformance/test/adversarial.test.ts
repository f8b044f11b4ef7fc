/**
 * The adversarial suite itself: it passes on a correct backend (the float64 reference, with a second
 * instance for the cross-instance probe), and it catches backends that break the contract the way issue
 * 10's findings did: reading caller memory after the call returned, returning a zero-looking result after
 * a failed GPU allocation, or computing with a naive running float32 sum.
 */
import type { Backend, ConvGeometry, ConvInputs } from '@dcnv2/core';
import { LimitError } from '@dcnv2/core';
import { describe, expect, it } from 'vitest';
import { createReferenceBackend, formatReport, runConformance } from '../src/index.js';
import { kernelOf, withKernelHooks } from './kernel-hooks.js';

async function adversarial(backend: Backend, op: 'deform_conv2d' | 'deform_roi_pool' = 'deform_conv2d', create?: () => Backend) {
  return runConformance({ backend, op, suites: ['adversarial'], others: [createReferenceBackend()], ...(create ? { create } : {}) });
}

function failedCases(r: Awaited<ReturnType<typeof adversarial>>): string[] {
  return [...new Set(r.rows.filter((row) => !row.pass).map((row) => row.case))];
}

describe('adversarial suite', () => {
  it('passes on the float64 reference backend, both ops, nothing skipped', async () => {
    for (const op of ['deform_conv2d', 'deform_roi_pool'] as const) {
      const r = await adversarial(createReferenceBackend(), op, createReferenceBackend);
      expect(r.failed, formatReport(r, { quiet: true })).toBe(0);
      expect(r.skipped).toEqual([]);
      expect(r.passed).toBeGreaterThan(op === 'deform_conv2d' ? 50 : 20);
    }
  });

  it('without a factory, the cross-instance probe is skipped with the reason (never passed)', async () => {
    const r = await adversarial(createReferenceBackend());
    expect(r.skipped).toEqual([{ suite: 'adversarial', reason: expect.stringContaining('resident_other_instance') }]);
  });

  it('catches a backend that keeps the caller\'s array and reads it after an await', async () => {
    const ref = kernelOf(createReferenceBackend());
    const lazy: Backend<Float32Array> = {
      ...withKernelHooks(createReferenceBackend(), 'lazy', {
        async deformConv2d(g: ConvGeometry, inputs: ConvInputs<Float32Array>) {
          await new Promise((r) => setTimeout(r, 0));
          return ref.deformConv2d(g, inputs);
        },
      }),
      upload: (data) => data, // breaks the contract: upload must copy
    };
    const failed = failedCases(await adversarial(lazy));
    expect(failed).toContain('mutate_after_call');
  });

  it('catches a GPU backend that returns zeros after a failed allocation, and passes one that throws LimitError', async () => {
    const ref = kernelOf(createReferenceBackend());
    const limits = { maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 20 };
    const big = (inputs: ConvInputs<Float32Array>) => inputs.input.length * 4 >= limits.maxStorageBufferBindingSize;
    const zeros = {
      ...withKernelHooks(createReferenceBackend(), 'zeros-gpu', {
        deformConv2d: (g, inputs) => (big(inputs) ? new Float32Array(g.batch * g.outChannels * g.outHeight * g.outWidth) : ref.deformConv2d(g, inputs)),
      }),
      device: { limits },
    } as Backend<Float32Array>;
    expect(failedCases(await adversarial(zeros))).toEqual(expect.arrayContaining(['gpu_allocation_at_binding_limit', 'gpu_allocation_over_binding_limit']));
    const typed = {
      ...withKernelHooks(createReferenceBackend(), 'typed-gpu', {
        deformConv2d: (g, inputs) => {
          if (big(inputs)) throw new LimitError({ argument: 'input', expected: `at most ${limits.maxStorageBufferBindingSize} bytes`, actual: inputs.input.length * 4 });
          return ref.deformConv2d(g, inputs);
        },
      }),
      device: { limits },
    } as Backend<Float32Array>;
    const r = await adversarial(typed);
    expect(r.rows.filter((row) => row.case.startsWith('gpu_allocation')).map((row) => [row.case, row.pass])).toEqual([
      ['gpu_allocation_at_binding_limit', true],
      ['gpu_allocation_over_binding_limit', true],
    ]);
  });

  it('catches a naive running float32 sum over the 2000x2000 kernel', async () => {
    const ref = kernelOf(createReferenceBackend());
    const naive = withKernelHooks(createReferenceBackend(), 'naive-sum', {
      deformConv2d(g, inputs) {
        if (g.kernelH !== 2000) return ref.deformConv2d(g, inputs);
        let acc = 0;
        for (let i = 0; i < inputs.weight.length; i++) acc = Math.fround(acc + Math.fround(inputs.input[i]! * inputs.weight[i]!));
        return Float32Array.of(acc);
      },
    });
    expect(failedCases(await adversarial(naive))).toEqual(['long_reduction_2000x2000']);
  });
});
