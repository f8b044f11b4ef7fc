/**
 * adversarial, GPU backends only (issue 10, finding 3): a tensor of exactly `maxStorageBufferBindingSize`
 * bytes made Dawn fail the allocation (GPUOutOfMemoryError), print validation errors on stderr and return
 * a normal-looking all-zero result. Now the call must give the right value or a typed error (`LimitError`
 * for memory), and a tensor past the binding limit must be refused before anything is allocated.
 *
 * A backend counts as a GPU backend when it exposes a WebGPU `device` with `limits` (as
 * @dcnv2/backend-webgpu does). The probe tensor is capped at 1 GiB of host memory: on a device whose
 * limit is larger, the at-limit probe uses 1 GiB and the over-limit probe is skipped with the reason.
 */
import { deformConv2d, type Backend } from '@dcnv2/core';
import { precisionOf } from '../../tolerances.js';
import type { SuiteContext } from '../types.js';
import { expectErrorRow, expectValueOrErrorRow, probe } from './probe-rows.js';

const SUITE = 'adversarial';
/** Host memory a probe tensor may take (float32 on the host, whatever the backend stores). */
const MAX_PROBE_BYTES = 2 ** 30;
const WIDTH = 16384;

interface GpuLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

/** The device limits of a WebGPU backend, or null for any other backend. */
export function gpuLimits(b: Backend): GpuLimits | null {
  try {
    const device = (b as { device?: { limits?: GpuLimits } }).device;
    const limits = device?.limits;
    return typeof limits?.maxStorageBufferBindingSize === 'number' ? limits : null;
  } catch {
    return null;
  }
}

/**
 * A 1x1 convolution with stride WIDTH over a [1, 1, rows, WIDTH] image: it binds the whole input but has
 * a single output, input[0] * weight, so the probe needs host memory for the input only.
 */
function strideConv(rows: number, first: number, weight: number) {
  const data = new Float32Array(rows * WIDTH);
  data[0] = first;
  return {
    args: {
      input: { shape: [1, 1, rows, WIDTH], data },
      weight: { shape: [1, 1, 1, 1], data: Float32Array.of(weight) },
      offset: { shape: [1, 2, Math.ceil(rows / WIDTH), 1], data: new Float32Array(2 * Math.ceil(rows / WIDTH)) },
    },
    params: { stride: [WIDTH, WIDTH] as [number, number] },
  };
}

export async function gpuAllocationProbe(ctx: SuiteContext): Promise<void> {
  const limits = gpuLimits(ctx.backend);
  if (limits === null) return; // not a GPU backend: nothing of finding 3 applies
  const backend = ctx.backend;
  // Sizes in elements: a float16 backend stores 2 bytes per element, so its limits hold twice as many.
  const bytesPerElement = precisionOf(backend) === 'float16' ? 2 : 4;
  const limitElements = Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / bytesPerElement);
  const atLimit = Math.min(limitElements, MAX_PROBE_BYTES / 4);
  await probe(SUITE, 'gpu_allocation_at_binding_limit', ctx.row, async () => {
    const { args, params } = strideConv(Math.floor(atLimit / WIDTH), 3, 2);
    // 3 * 2 from a device with the memory, LimitError from one without; never a zero that looks like a result.
    return [await expectValueOrErrorRow(SUITE, 'gpu_allocation_at_binding_limit', 6, ['ERR_DCN_LIMIT'], async () => (await deformConv2d(args, params, { backend })).data[0]!)];
  });
  const overRows = Math.floor(limitElements / WIDTH) + 1;
  if (overRows * WIDTH > MAX_PROBE_BYTES / 4 + WIDTH) {
    ctx.skip(`gpu_allocation_over_binding_limit: a tensor past the device's binding limit (${limits.maxStorageBufferBindingSize} bytes at ${bytesPerElement} bytes per element) needs more than the probe's ${MAX_PROBE_BYTES}-byte host budget`);
    return;
  }
  await probe(SUITE, 'gpu_allocation_over_binding_limit', ctx.row, async () => {
    const { args, params } = strideConv(overRows, 3, 2);
    return [await expectErrorRow(SUITE, 'gpu_allocation_over_binding_limit', ['ERR_DCN_LIMIT'], () => deformConv2d(args, params, { backend }))];
  });
}
