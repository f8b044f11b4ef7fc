/**
 * The __name__ backend: a `Backend<Float32Array>` whose tensors are host Float32Arrays (each handle is a
 * copy of the caller's data in ordinary memory). It starts with no kernels; add them to `kernels`, by op
 * and direction, and run `pnpm conformance --backend __name__` after each one.
 *
 * Core validates every call before a kernel runs (ranks, shapes, parameters, that the tensors belong to
 * this backend, RoI values) and hands the kernel the resolved geometry (`ConvGeometry` for
 * deform_conv2d, `RoiPoolGeometry` for deform_roi_pool), so a kernel may trust every size it is given.
 * Should the tensors live elsewhere (a GPU buffer, a wasm heap), change `H` from Float32Array to your
 * storage type, make `upload`/`download` copy in and out of it, set `capabilities.resident`, and free the
 * storage in `release`.
 */
import { DisposedError, type Backend, type BackendCapabilities, type KernelTable } from '@dcnv2/core';

export interface __Name__BackendOptions {
  /** Largest number of threads to use. Benchmarks pass it; this single-threaded skeleton ignores it. */
  readonly threads?: number;
}

export class __Name__Backend implements Backend<Float32Array> {
  readonly name = '__name__';
  readonly capabilities: BackendCapabilities = { threads: 1, float16: false, resident: false, externalBuffers: false };

  /**
   * The kernels, by op and direction. Empty: conformance reports all four as missing (and fails nothing).
   * Each kernel takes one argument object. A forward kernel gets `{ geometry, inputs, backend }` and
   * returns a new handle holding the output; add one like this (the types of `geometry` and `inputs`
   * follow from the op's name):
   *
   *   deform_conv2d: {
   *     forward: ({ geometry, inputs }) => deformConv2dForward(geometry, inputs),
   *   },
   *
   * where `deformConv2dForward(g: ConvGeometry, inputs: ConvInputs<Float32Array>): Float32Array` computes
   * the output [g.batch, g.outChannels, g.outHeight, g.outWidth] from `inputs.input`, `inputs.weight`,
   * `inputs.offset`, `inputs.mask` (null: a mask of 1) and `inputs.bias` (null: 0). A complete example of
   * that function is packages/conformance/examples/my-backend.js. A backward kernel gets
   * `{ geometry, inputs, gradOutput, want, backend }` and returns `{ input, offset, mask, weight, bias }`:
   * a handle for each gradient `want` asks for, null for the others. deform_roi_pool takes the same two
   * (its geometry is a `RoiPoolGeometry`, its inputs `{ input, rois, offset, mask }`).
   */
  readonly kernels: KernelTable<Float32Array> = {
    // deform_conv2d: { forward: ({ geometry, inputs }) => deformConv2dForward(geometry, inputs) },
  };

  private disposed = false;

  constructor(options: __Name__BackendOptions = {}) {
    void options;
  }

  /** Acquire what the backend needs here (compile wasm or shaders, request a device); called once. */
  async init(): Promise<void> {}

  /** A copy: the caller may reuse or change its array as soon as the call returns. */
  upload(data: Float32Array, shape: readonly number[]): Float32Array {
    this.checkAlive();
    void shape;
    return Float32Array.from(data);
  }

  /** A copy as well: the handle stays alive and unchanged. */
  async download(handle: Float32Array, shape: readonly number[]): Promise<Float32Array> {
    this.checkAlive();
    void shape;
    return Float32Array.from(handle);
  }

  /** Nothing to free: the garbage collector reclaims host arrays. */
  release(handle: Float32Array): void {
    void handle;
  }

  /** Free workers, devices and pools here. The backend is unusable afterwards. */
  dispose(): void {
    this.disposed = true;
  }

  private checkAlive(): void {
    // A typed error, as every backend throws: callers branch on `instanceof DisposedError` or its code.
    if (this.disposed) throw new DisposedError({ argument: 'backend', expected: 'a backend that was not disposed', actual: this.name });
  }
}
