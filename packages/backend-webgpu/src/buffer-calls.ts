/**
 * Calls on a framework's own GPU buffers (`WebGpuBackend.submit*`): what they take, and the checks every
 * buffer passes before anything is recorded.
 *
 * tfjs runs every kernel synchronously and owns its tensors' buffers (tfjs-backend-webgpu keeps them in
 * its own pool), so a tfjs kernel cannot use the handle-based calls, which allocate their results from
 * dcnv2's pool and resolve once the GPU has validated the work. These calls take every buffer from the
 * caller, inputs and results alike, and record and submit the dispatches before returning: the result is
 * the caller's buffer, written by the time any later submission reads it.
 */
import { BackendError, LimitError } from '@dcnv2/core';
import type { ForwardBuffers } from './forward.js';
import { STORAGE } from './gpu-flags.js';

/**
 * Buffers of a forward convolution: float32 values, dense, in core's layouts (NCHW input, OIHW weight, ...);
 * `output` (`[N, Cout, Ho, Wo]`) is written, every element. The forward kernel's own buffer set.
 */
export type ConvForwardBufferSet = ForwardBuffers;

/** Buffers of a convolution's backward: the forward inputs, `gradOutput`, and one result per gradient wanted (null: not computed). */
export interface ConvBackwardBufferSet {
  readonly input: GPUBuffer;
  readonly weight: GPUBuffer;
  readonly offset: GPUBuffer;
  readonly mask: GPUBuffer | null;
  readonly gradOutput: GPUBuffer;
  readonly gradInput: GPUBuffer | null;
  readonly gradWeight: GPUBuffer | null;
  readonly gradOffset: GPUBuffer | null;
  /** Only with `mask`. */
  readonly gradMask: GPUBuffer | null;
  readonly gradBias: GPUBuffer | null;
}

/** Buffers of a RoI pooling forward: `rois` `[R, 5]` must hold values core's `checkRoiValues` accepted. */
export interface RoiPoolForwardBufferSet {
  readonly input: GPUBuffer;
  readonly rois: GPUBuffer;
  readonly offset: GPUBuffer | null;
  readonly mask: GPUBuffer | null;
  /** Written: `[R, C, ph, pw]`, every element. */
  readonly output: GPUBuffer;
}

/** Buffers of a RoI pooling backward (RoIs get no gradient). */
export interface RoiPoolBackwardBufferSet {
  readonly input: GPUBuffer;
  readonly rois: GPUBuffer;
  readonly offset: GPUBuffer | null;
  readonly mask: GPUBuffer | null;
  readonly gradOutput: GPUBuffer;
  readonly gradInput: GPUBuffer | null;
  /** Only with `offset`. */
  readonly gradOffset: GPUBuffer | null;
  /** Only with `mask`. */
  readonly gradMask: GPUBuffer | null;
}

/**
 * `b` as the buffer of `argument`, holding `length` float32 values: a GPUBuffer with STORAGE usage of at
 * least `4 * length` bytes (a smaller one would let a kernel read or write past the tensor, which WebGPU
 * clamps into wrong values rather than an error), and not larger than one binding may be. A buffer of no
 * values is never bound (null: the kernel's placeholder), as WebGPU refuses empty bindings.
 */
export function checkCallBuffer(argument: string, b: unknown, length: number, maxBindingBytes: number): GPUBuffer | null {
  const notBuffer = () => new BackendError({ argument, expected: 'a GPUBuffer', actual: b });
  if (typeof b !== 'object' || b === null) throw notBuffer();
  // Each property read once (a getter that answers differently the second time changes nothing below);
  // a look-alike whose getters throw (a GPUBuffer's own getters on another object do) is not a buffer.
  let size: unknown, usage: unknown, destroy: unknown;
  try {
    ({ size, usage, destroy } = b as GPUBuffer);
  } catch {
    throw notBuffer();
  }
  if (typeof size !== 'number' || typeof usage !== 'number' || typeof destroy !== 'function') throw notBuffer();
  const buf = b as GPUBuffer;
  if ((usage & STORAGE) === 0) throw new BackendError({ argument: `${argument}.usage`, expected: 'a buffer with STORAGE usage', actual: usage });
  const bytes = length * 4;
  if (!(size >= bytes)) throw new BackendError({ argument: `${argument}.size`, expected: `>= ${bytes} bytes (${length} float32 values)`, actual: size });
  if (bytes > maxBindingBytes) throw new LimitError({ argument, expected: `at most maxStorageBufferBindingSize = ${maxBindingBytes} bytes`, actual: bytes });
  return length === 0 ? null : buf;
}

/** An optional buffer: null stays null (the input is absent), else as `checkCallBuffer`. */
export function checkOptionalCallBuffer(argument: string, b: unknown, length: number, maxBindingBytes: number): GPUBuffer | null {
  return b === null || b === undefined ? null : checkCallBuffer(argument, b, length, maxBindingBytes);
}
