/**
 * The tfjs kernels: each reads its inputs from the tfjs backend synchronously, runs dcnv2's synchronous
 * call path (`runOpSync`: core's validation, typed errors, value-checked RoIs) on the dcnv2 backend that
 * serves that tfjs backend, and hands the results back to tfjs as new tensors.
 */
import { DTypeError, runOpBackwardSync, runOpSync, upload, type HostTensor, type ResidentTensor } from '@dcnv2/core';
import { engine, getBackend, registerKernel, type KernelBackend, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { dcnv2BackendFor } from './dcn-backends.js';
import { kernelParams, type KernelOp as Op } from './kernel-attrs.js';
import { cachedPermute, currentForwardAttrs, keepForBackward, takeForBackward } from './host-cache.js';
import { inverse, permute4d, TO_KERNEL_LAYOUT } from './layout.js';
import { DEFORM_CONV2D, DEFORM_CONV2D_GRAD, DEFORM_ROI_POOL, DEFORM_ROI_POOL_GRAD } from './kernel-names.js';

/** What the kernels need of a tfjs backend that reads back synchronously (tfjs cpu, wasm, webgl). */
interface SyncTfjsBackend {
  readSync(dataId: object): unknown;
  makeTensorInfo?(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  makeOutput?(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo;
  /** tfjs wasm: a view of a tensor's values in its own wasm memory (readSync would copy them out). */
  typedArrayFromHeap?(t: TensorInfo): unknown;
}

/** The tfjs backends whose kernels run on a synchronous dcnv2 backend (webgl: read back to the host). */
export const SYNC_TFJS_BACKENDS = ['cpu', 'wasm', 'webgl'] as const;

function hostOf(backend: SyncTfjsBackend, t: TensorInfo, argument: string): HostTensor {
  if (t.dtype !== 'float32') throw new DTypeError({ argument: `${argument}.dtype`, expected: 'float32', actual: t.dtype });
  // tfjs wasm: a view of its memory, which core then copies once into dcnv2's (as a direct call copies a
  // host array once); nothing allocates in tfjs's memory before that copy, so the view stays valid.
  // tfjs cpu (and webgl after its read-back) hand over the values themselves.
  const data = typeof backend.typedArrayFromHeap === 'function' ? backend.typedArrayFromHeap(t) : backend.readSync(t.dataId);
  if (!(data instanceof Float32Array)) throw new DTypeError({ argument: `${argument}`, expected: 'float32 values', actual: data });
  return { shape: t.shape, data };
}

function tensorInfoOf(backend: SyncTfjsBackend, t: HostTensor): TensorInfo {
  const shape = [...t.shape];
  if (typeof backend.makeTensorInfo === 'function') return backend.makeTensorInfo(shape, 'float32', t.data);
  if (typeof backend.typedArrayFromHeap === 'function') {
    // tfjs wasm: allocate the output in its memory and write the values there, once.
    const out = backend.makeOutput!(shape, 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).set(t.data);
    return out;
  }
  return backend.makeOutput!(shape, 'float32', undefined, t.data);
}

/** NHWC calls: the permutation of each input to the kernels' layout, by name (none for NCHW). */
function layoutOf(op: Op, attrs: NamedAttrMap | undefined): Readonly<Record<string, readonly [number, number, number, number]>> {
  return attrs?.dataFormat === 'NHWC' ? TO_KERNEL_LAYOUT[op]! : {};
}

/**
 * The host tensors of a kernel call by input name. A forward kernel gets its inputs as an array named by
 * `inputNames` (see ops.ts); a gradient kernel gets them by name, with `gradOutput`.
 */
function hostInputs(
  op: Op,
  backend: SyncTfjsBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap | undefined,
  skip: Readonly<Record<string, unknown>> = {},
): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  const names = attrs?.inputNames as string[] | undefined;
  const layout = layoutOf(op, attrs);
  for (const [key, t] of Object.entries(inputs)) {
    const name = Array.isArray(inputs) && names !== undefined ? names[Number(key)]! : key;
    if (t === undefined || skip[name] !== undefined) continue;
    const perm = layout[name];
    if (perm === undefined || t.shape.length !== 4) {
      out[name] = hostOf(backend, t, name);
    } else if (name === 'weight') {
      // A weight is usually a model's variable, called with many times: its reordered copy is kept per
      // dataId (host-cache.ts), so the reorder is paid once per weight value.
      out[name] = cachedPermute(t.dataId, t.shape, perm, () => permute4d(hostOf(backend, t, name), perm));
    } else {
      out[name] = permute4d(hostOf(backend, t, name), perm);
    }
  }
  return out;
}

/**
 * The tape tfjs is recording kernels on for a gradient (inside `tf.grads`, `variableGrads`, `minimize`,
 * `fit`), or null when it records none.
 */
function recordingTape(): object | null {
  const state = (engine() as unknown as { state?: { gradientDepth?: unknown; activeTape?: unknown } }).state;
  const recording = typeof state?.gradientDepth === 'number' && state.gradientDepth > 0;
  return recording && typeof state.activeTape === 'object' && state.activeTape !== null ? state.activeTape : null;
}

/** A result in the kernels' layout, back in the caller's: the inverse of what its input (or `output`: gradOutput's) went through. */
function callerLayout(op: Op, attrs: NamedAttrMap | undefined, name: string, t: HostTensor): HostTensor {
  const perm = layoutOf(op, attrs)[name];
  return perm !== undefined && t.shape.length === 4 ? permute4d(t, inverse(perm)) : t;
}

/**
 * tfjs wasm: results read straight into outputs allocated in tfjs's memory (core's `into`), for those
 * that need no layout change; `made` collects them (the caller's on success, disposed on failure), and
 * `use` gives a result's tensor: the one made for it, or a new one from its host values.
 */
class ResultSink {
  readonly made = new Map<string, TensorInfo>();
  constructor(private readonly tb: SyncTfjsBackend, private readonly op: Op, private readonly attrs: NamedAttrMap | undefined) {}

  /** core's `into`, or undefined where tfjs does not keep its tensors in wasm memory. */
  get into(): ((name: string, shape: readonly number[]) => Float32Array) | undefined {
    const tb = this.tb;
    if (typeof tb.typedArrayFromHeap !== 'function' || typeof tb.makeOutput !== 'function') return undefined;
    return (name, shape) => {
      if (layoutOf(this.op, this.attrs)[name === 'output' ? 'gradOutput' : name] !== undefined && shape.length === 4) {
        return new Float32Array(shape.reduce((a, b) => a * b, 1)); // reordered afterwards: a host array
      }
      const out = tb.makeOutput!([...shape], 'float32');
      this.made.set(name, out);
      // Read at once by core (nothing allocates in tfjs's memory before it is written).
      return tb.typedArrayFromHeap!(out) as Float32Array;
    };
  }

  use(name: string, layoutName: string, t: HostTensor): TensorInfo {
    return this.made.get(name) ?? tensorInfoOf(this.tb, callerLayout(this.op, this.attrs, layoutName, t));
  }

  /** On failure: frees what was made in tfjs's memory. */
  discard(): void {
    for (const t of this.made.values()) (this.tb as unknown as { disposeData(id: object): void }).disposeData(t.dataId);
    this.made.clear();
  }
}

// A kernel runs on tfjs's current backend, so `getBackend()` names the one whose tensors it receives.
function forwardKernel(op: Op) {
  return ({ inputs, backend, attrs }: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo => {
    const tb = backend as unknown as SyncTfjsBackend;
    const dcn = dcnv2BackendFor(getBackend());
    const host = hostInputs(op, tb, inputs, attrs);
    const sink = new ResultSink(tb, op, attrs);
    const into = sink.into;
    let out: HostTensor;
    const tape = op === 'deform_conv2d' && attrs !== undefined ? recordingTape() : null;
    if (tape !== null) {
      // On the tape: upload the inputs once, as resident tensors core borrows, and keep them for this
      // node's gradient kernel (host-cache.ts), which would otherwise read, reorder and upload them again.
      // (RoI pooling's RoIs are value-checked on every call, so that op keeps the plain path.)
      const resident: Record<string, ResidentTensor> = {};
      try {
        for (const [k, v] of Object.entries(host)) resident[k] = upload(dcn, v);
        out = runOpSync(op, resident, kernelParams(attrs), { backend: dcn, into });
      } catch (e) {
        for (const t of Object.values(resident)) t.dispose();
        sink.discard();
        throw e;
      }
      keepForBackward(attrs!, { backend: dcn, inputs: resident, tape });
    } else {
      try {
        out = runOpSync(op, host, kernelParams(attrs), { backend: dcn, into });
      } catch (e) {
        sink.discard();
        throw e;
      }
    }
    return sink.use('output', 'gradOutput', out);
  };
}

/**
 * One kernel for all gradients: its inputs are the forward call's plus `gradOutput`, its outputs one
 * gradient per differentiable input the call has, in the op's order (`gradNames` of the attributes).
 */
function gradKernel(op: Op) {
  return ({ inputs, backend, attrs }: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo[] => {
    const tb = backend as unknown as SyncTfjsBackend;
    const dcn = dcnv2BackendFor(getBackend());
    const names = attrs!.gradNames as string[];
    // The forward call's inputs as it uploaded them, when it kept them (see forwardKernel); the saved
    // inputs tfjs hands over hold the same values (tfjs saves a copy of each, or the tensor itself).
    const kept = takeForBackward(currentForwardAttrs(), dcn);
    const sink = new ResultSink(tb, op, attrs);
    try {
      const args: Record<string, HostTensor | ResidentTensor> = { ...hostInputs(op, tb, inputs, attrs, kept?.inputs), ...kept?.inputs };
      const grads = runOpBackwardSync(op, args, kernelParams(attrs), { backend: dcn, grads: names, into: sink.into });
      return names.map((k) => sink.use(k, k, grads[k]!));
    } catch (e) {
      sink.discard();
      throw e;
    } finally {
      if (kept !== null) for (const t of Object.values(kept.inputs)) t.dispose();
    }
  };
}

/** Registers the kernels for every synchronous tfjs backend. */
export function registerSyncKernels(): void {
  for (const backendName of SYNC_TFJS_BACKENDS) {
    registerKernel({ kernelName: DEFORM_CONV2D, backendName, kernelFunc: forwardKernel('deform_conv2d') as never });
    registerKernel({ kernelName: DEFORM_CONV2D_GRAD, backendName, kernelFunc: gradKernel('deform_conv2d') as never });
    registerKernel({ kernelName: DEFORM_ROI_POOL, backendName, kernelFunc: forwardKernel('deform_roi_pool') as never });
    registerKernel({ kernelName: DEFORM_ROI_POOL_GRAD, backendName, kernelFunc: gradKernel('deform_roi_pool') as never });
  }
}
