/**
 * The kernels on tfjs-backend-webgpu, without copies: dcnv2's WGSL runs on tfjs's own GPUDevice, reads the
 * inputs' GPU buffers where tfjs keeps them and writes into output buffers tfjs allocated, which become
 * the result tensors (see `WebGpuBackend.submitDeformConv2d` and its siblings).
 *
 * Ordering: tfjs records its commands in its own encoder and submits them later, and an input's values
 * may still sit in that encoder (an upload's copy, the kernel that produced it). So each kernel first
 * makes every input and output buffer exist (`uploadToGPU`), then submits tfjs's encoder, then submits
 * its own command buffer: the queue runs them in that order, and whatever tfjs records afterwards (the
 * next op, a read-back) is submitted after ours.
 *
 * Validation is core's: the geometry from the tensors' shapes (`OPS[op].geometry` over adopted buffers,
 * so every size is checked against the buffer that holds it) and, for RoI pooling, the RoIs' values, which
 * a GPU kernel cannot check: they are read on the host once per tensor (tfjs still holds them there
 * when they came from host data; `readSync` reads them back otherwise) and the tensor is remembered as
 * checked, tfjs tensors being immutable.
 *
 * NHWC calls change layout with tfjs's own `Transpose` kernel on the GPU, called as tfjs's kernels call
 * each other, inside this kernel: the op stays one node for autodiff, as on the other backends.
 */
/// <reference types="@webgpu/types" />
import { adopt, BackendError, DTypeError, OPS, takeOpArgs, type Backend, type ResidentTensor, type RoiPoolGeometry } from '@dcnv2/core';
import type { WebGpuBackend } from '@dcnv2/backend-webgpu';
import { getKernel, registerKernel, type KernelBackend, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { dcnv2BackendFor } from './dcn-backends.js';
import { kernelParams, type KernelOp } from './kernel-attrs.js';
import { inverse, TO_KERNEL_LAYOUT } from './layout.js';
import { DEFORM_CONV2D, DEFORM_CONV2D_GRAD, DEFORM_ROI_POOL, DEFORM_ROI_POOL_GRAD } from './kernel-names.js';

/** What the kernels use of tfjs-backend-webgpu 4.22's `WebGPUBackend` (public members of its class). */
interface TfjsWebGpu {
  readonly device: GPUDevice;
  readonly tensorMap: { get(dataId: object): { resource?: unknown; values?: unknown } | undefined };
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32', values?: Float32Array): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): unknown;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The dcnv2 webgpu backend for tfjs's `be`, which must run on the same device. */
function dcnFor(be: TfjsWebGpu): WebGpuBackend {
  const dcn = dcnv2BackendFor('webgpu') as WebGpuBackend;
  if (dcn.device !== be.device) {
    throw new BackendError(
      { argument: 'backend', expected: 'a dcnv2 webgpu backend on tfjs\'s own GPUDevice', actual: 'one on another device' },
      'tfjs\'s webgpu backend was re-created since prepareDcnv2(\'webgpu\'): call disposeDcnv2Backends() and prepareDcnv2(\'webgpu\') again',
    );
  }
  return dcn;
}

/** Everything one kernel call makes in tfjs's storage that is not a result: disposed on every path. */
class Temporaries {
  private readonly ids: object[] = [];
  constructor(private readonly be: TfjsWebGpu) {}
  add(t: TensorInfo): TensorInfo {
    this.ids.push(t.dataId);
    return t;
  }
  dispose(): void {
    // tfjs defers the release of a buffer a pending command uses until it submits that command.
    for (const id of this.ids.splice(0)) this.be.disposeData(id);
  }
}

/** `t` with its axes reordered by tfjs's own Transpose kernel on the GPU: a new tensor. */
function transposed(be: TfjsWebGpu, t: TensorInfo, perm: readonly number[]): TensorInfo {
  const k = getKernel('Transpose', 'webgpu');
  if (k === undefined) throw new BackendError({ argument: 'backend', expected: 'tfjs-backend-webgpu\'s Transpose kernel (NHWC calls)', actual: 'none registered' });
  return k.kernelFunc({ inputs: { x: t }, backend: be as unknown as KernelBackend, attrs: { perm: [...perm] } }) as TensorInfo;
}

/** The GPU buffer tfjs holds `t`'s values in (uploaded now if they were still on the host). */
function bufferOf(be: TfjsWebGpu, t: TensorInfo, argument: string): GPUBuffer {
  if (t.dtype !== 'float32') throw new DTypeError({ argument: `${argument}.dtype`, expected: 'float32', actual: t.dtype });
  be.uploadToGPU(t.dataId);
  const r = be.tensorMap.get(t.dataId)?.resource;
  if (typeof r !== 'object' || r === null || typeof (r as GPUBuffer).size !== 'number' || typeof (r as GPUBuffer).mapAsync !== 'function') {
    throw new BackendError({ argument, expected: 'a tensor tfjs holds in a GPUBuffer', actual: r }, 'a tensor made from a texture or an external resource: copy it with tf.clone first');
  }
  return r as GPUBuffer;
}

/** A new float32 tensor of `shape` in a buffer tfjs allocated (its contents stale: the kernel writes all of it). */
function outputOf(be: TfjsWebGpu, shape: readonly number[]): { info: TensorInfo; buffer: GPUBuffer } {
  const info = be.makeTensorInfo([...shape], 'float32');
  be.uploadToGPU(info.dataId);
  return { info, buffer: be.tensorMap.get(info.dataId)!.resource as GPUBuffer };
}

/** Submits tfjs's recorded commands, so our dispatch is ordered after those that produce its inputs. */
function flushTfjs(be: TfjsWebGpu): void {
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  be.submitQueue();
}

/** RoI tensors whose values core checked, by dataId, with the (batch, spatialScale) they were checked for. */
const checkedRois = new WeakMap<object, Set<string>>();

/**
 * A pending check of the call's RoI values: read now, before anything uploads them (tfjs drops a tensor's
 * host values once they are on the GPU), checked by `run` once the geometry is known; nothing to do for a
 * tensor checked before for the same batch and scale.
 */
function roiCheck(be: TfjsWebGpu, inputs: NamedTensorInfoMap, attrs: NamedAttrMap | undefined): (g: RoiPoolGeometry) => void {
  const names = attrs?.inputNames as string[] | undefined;
  const list = Object.values(inputs);
  const rois = (Array.isArray(inputs) && names !== undefined ? list[names.indexOf('rois')] : inputs.rois) as TensorInfo | undefined;
  const input = (Array.isArray(inputs) && names !== undefined ? list[names.indexOf('input')] : inputs.input) as TensorInfo | undefined;
  if (rois === undefined || input === undefined) return () => undefined; // core reports the missing input
  const key = `${input.shape[0]} ${String(attrs?.spatialScale)}`;
  if (checkedRois.get(rois.dataId)?.has(key) === true) return () => undefined;
  let values: unknown;
  try {
    values = be.readSync(rois.dataId);
  } catch (e) {
    throw new BackendError(
      { argument: 'rois', expected: 'RoIs whose values can be read to be checked', actual: 'a GPU tensor tfjs cannot read synchronously here' },
      `make the RoIs from host values (tf.tensor), or await rois.data() and pass those: ${String((e as Error)?.message ?? e)}`,
    );
  }
  if (!(values instanceof Float32Array)) throw new DTypeError({ argument: 'rois', expected: 'float32 values', actual: values });
  const v = values;
  return (g) => {
    OPS.deform_roi_pool.checkValues.rois!(v, g);
    let set = checkedRois.get(rois.dataId);
    if (set === undefined) checkedRois.set(rois.dataId, (set = new Set()));
    set.add(key);
  };
}

/**
 * The call's inputs by name, in the kernels' layout (NHWC ones transposed into temporaries), with
 * their buffers and core's view of them (adopted: shape-checked against the buffer).
 */
function gather(op: KernelOp, be: TfjsWebGpu, dcn: WebGpuBackend, temps: Temporaries, inputs: NamedTensorInfoMap, attrs: NamedAttrMap | undefined) {
  const names = attrs?.inputNames as string[] | undefined;
  const perms = attrs?.dataFormat === 'NHWC' ? TO_KERNEL_LAYOUT[op]! : {};
  const infos: Record<string, TensorInfo> = {};
  for (const [key, t] of Object.entries(inputs)) {
    if (t === undefined) continue;
    const name = Array.isArray(inputs) && names !== undefined ? names[Number(key)]! : key;
    if (t.dtype !== 'float32') throw new DTypeError({ argument: `${name}.dtype`, expected: 'float32', actual: t.dtype });
    const perm = perms[name];
    infos[name] = perm !== undefined && t.shape.length === 4 ? temps.add(transposed(be, t, perm)) : t;
  }
  const buffers: Record<string, GPUBuffer> = {};
  const resident: Record<string, ResidentTensor<unknown>> = {};
  for (const [name, t] of Object.entries(infos)) {
    buffers[name] = bufferOf(be, t, name);
    resident[name] = adopt(dcn as unknown as Backend<unknown>, buffers[name], t.shape);
  }
  return { infos, buffers, resident };
}

/** The permutation from the kernels' layout back to the caller's for result `name` (`gradOutput`: the output), or none. */
function backPerm(op: KernelOp, attrs: NamedAttrMap | undefined, name: string, rank: number): number[] | undefined {
  const perm = attrs?.dataFormat === 'NHWC' ? TO_KERNEL_LAYOUT[op]![name] : undefined;
  return perm === undefined || rank !== 4 ? undefined : inverse(perm);
}

/** A result `t` (kernels' layout) in the caller's layout: `t` itself, or a new tensor (and `t` is the caller's to dispose). */
function toCaller(op: KernelOp, be: TfjsWebGpu, attrs: NamedAttrMap | undefined, name: string, t: TensorInfo): TensorInfo {
  const perm = backPerm(op, attrs, name, t.shape.length);
  return perm === undefined ? t : transposed(be, t, perm);
}

/** An empty result of kernel-layout `shape`, made directly in the caller's layout. */
function emptyResult(op: KernelOp, be: TfjsWebGpu, attrs: NamedAttrMap | undefined, name: string, shape: readonly number[]): TensorInfo {
  const perm = backPerm(op, attrs, name, shape.length);
  return be.makeTensorInfo(perm === undefined ? [...shape] : perm.map((p) => shape[p]!), 'float32', new Float32Array(0));
}

function forwardKernel(op: KernelOp) {
  return ({ inputs, backend, attrs }: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo => {
    const be = backend as unknown as TfjsWebGpu;
    const dcn = dcnFor(be);
    const temps = new Temporaries(be);
    try {
      const d = OPS[op];
      const checkRois = op === 'deform_roi_pool' ? roiCheck(be, inputs, attrs) : null;
      const { buffers, resident } = gather(op, be, dcn, temps, inputs, attrs);
      const g = d.geometry(takeOpArgs(d, resident, false) as never, kernelParams(attrs) as never) as never;
      checkRois?.(g);
      const shape = d.shapes(g).output;
      if (size(shape) === 0) return emptyResult(op, be, attrs, 'gradOutput', shape);
      const out = outputOf(be, shape);
      let result: TensorInfo | null = null;
      try {
        flushTfjs(be);
        if (op === 'deform_conv2d') {
          dcn.submitDeformConv2d(g, { input: buffers.input!, weight: buffers.weight!, offset: buffers.offset!, mask: buffers.mask ?? null, bias: buffers.bias ?? null, output: out.buffer });
        } else {
          dcn.submitDeformRoiPool(g, { input: buffers.input!, rois: buffers.rois!, offset: buffers.offset ?? null, mask: buffers.mask ?? null, output: out.buffer });
        }
        result = toCaller(op, be, attrs, 'gradOutput', out.info);
      } finally {
        // Transposed to the caller's layout, or failed: the kernel-layout output is not returned.
        if (result !== out.info) be.disposeData(out.info.dataId);
      }
      return result;
    } finally {
      temps.dispose();
    }
  };
}

/** Upper-cases the first letter: `input` -> `Input` (the buffer sets' gradient names). */
const cap = (k: string) => k[0]!.toUpperCase() + k.slice(1);

function gradKernel(op: KernelOp) {
  return ({ inputs, backend, attrs }: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo[] => {
    const be = backend as unknown as TfjsWebGpu;
    const dcn = dcnFor(be);
    const temps = new Temporaries(be);
    const made: TensorInfo[] = [];
    try {
      const d = OPS[op];
      const gradNames = attrs!.gradNames as string[];
      const checkRois = op === 'deform_roi_pool' ? roiCheck(be, inputs, attrs) : null;
      const { infos, buffers, resident } = gather(op, be, dcn, temps, inputs, attrs);
      const { gradOutput: _, ...forward } = resident;
      const g = d.geometry(takeOpArgs(d, forward, false) as never, kernelParams(attrs) as never) as never;
      if (infos.gradOutput === undefined) throw new BackendError({ argument: 'gradOutput', expected: 'a tensor', actual: undefined });
      d.checkGradOutput(infos.gradOutput.shape, g);
      checkRois?.(g);
      const shapes = d.shapes(g) as Readonly<Record<string, readonly number[]>>;
      const grads: Record<string, GPUBuffer | null> = {};
      const results: Array<TensorInfo | null> = gradNames.map((k) => {
        const shape = shapes[k]!;
        if (size(shape) === 0) {
          grads[`grad${cap(k)}`] = null;
          return null;
        }
        const o = outputOf(be, shape);
        made.push(o.info);
        grads[`grad${cap(k)}`] = o.buffer;
        return o.info;
      });
      const want = (k: string) => grads[`grad${cap(k)}`] ?? null;
      flushTfjs(be);
      if (op === 'deform_conv2d') {
        dcn.submitDeformConv2dBackward(g, {
          input: buffers.input!, weight: buffers.weight!, offset: buffers.offset!, mask: buffers.mask ?? null, gradOutput: buffers.gradOutput!,
          gradInput: want('input'), gradWeight: want('weight'), gradOffset: want('offset'), gradMask: want('mask'), gradBias: want('bias'),
        });
      } else {
        dcn.submitDeformRoiPoolBackward(g, {
          input: buffers.input!, rois: buffers.rois!, offset: buffers.offset ?? null, mask: buffers.mask ?? null, gradOutput: buffers.gradOutput!,
          gradInput: want('input'), gradOffset: want('offset'), gradMask: want('mask'),
        });
      }
      const out: TensorInfo[] = [];
      try {
        results.forEach((t, i) => out.push(t === null ? emptyResult(op, be, attrs, gradNames[i]!, shapes[gradNames[i]!]!) : toCaller(op, be, attrs, gradNames[i]!, t)));
      } catch (e) {
        for (const r of out) if (!made.includes(r)) be.disposeData(r.dataId);
        throw e;
      }
      // The kernel-layout results that were transposed are not returned; the others are the caller's now.
      for (const t of made.splice(0)) if (!out.includes(t)) be.disposeData(t.dataId);
      return out;
    } finally {
      for (const t of made) be.disposeData(t.dataId);
      temps.dispose();
    }
  };
}

/** Registers the four kernels for tfjs backend `webgpu` (they need `prepareDcnv2('webgpu')` first). */
export function registerWebGpuKernels(): void {
  const backendName = 'webgpu';
  registerKernel({ kernelName: DEFORM_CONV2D, backendName, kernelFunc: forwardKernel('deform_conv2d') as never });
  registerKernel({ kernelName: DEFORM_CONV2D_GRAD, backendName, kernelFunc: gradKernel('deform_conv2d') as never });
  registerKernel({ kernelName: DEFORM_ROI_POOL, backendName, kernelFunc: forwardKernel('deform_roi_pool') as never });
  registerKernel({ kernelName: DEFORM_ROI_POOL_GRAD, backendName, kernelFunc: gradKernel('deform_roi_pool') as never });
}
