/**
 * Work the kernels can skip because a tfjs tensor never changes: its values under one `dataId` are fixed
 * for the tensor's life (tfjs tensors are immutable; a variable's `assign` gives the variable a new
 * `dataId`), so what was derived from them stays right as long as it is keyed by that object.
 *
 * - `cachedPermute`: the NHWC call's weight, HWIO, reordered to the kernels' OIHW on the host, kept per
 *   weight `dataId` in a WeakMap (the entry goes with the tensor; the shape and permutation are part of
 *   the key, since a reshape shares its `dataId`). A model's weights are then reordered once per value,
 *   not once per call.
 * - `keepForBackward` / `takeForBackward`: a forward call recorded on tfjs's tape uploads its inputs to
 *   the dcnv2 backend as resident tensors (`upload` of @dcnv2/core) rather than as temporaries, and keeps
 *   them for that node's gradient kernel, which then reuses them: it neither reads the inputs back from
 *   tfjs, nor reorders them again, nor uploads them again. tfjs runs a node's forward and its gradient in
 *   one synchronous stretch (`tf.grads`, `tf.variableGrads`, `optimizer.minimize` are synchronous), so
 *   whatever no gradient kernel took is released in the next microtask: nothing outlives the task that
 *   made it (nor, in a synchronous loop, the next tape's first call), and calls made without a tape keep
 *   nothing at all. A gradient kernel that finds nothing kept reads its inputs as before.
 */
import type { Backend, HostTensor, ResidentTensor } from '@dcnv2/core';

interface Permuted {
  readonly shape: string;
  readonly perm: string;
  readonly t: HostTensor;
}

const permuted = new WeakMap<object, Permuted>();

/**
 * `make()` (the permuted copy of the tensor with `dataId` and `shape`), computed once per dataId, shape and
 * permutation. The caller must not change the returned data.
 */
export function cachedPermute(dataId: object, shape: readonly number[], perm: readonly number[], make: () => HostTensor): HostTensor {
  const s = shape.join(',');
  const p = perm.join(',');
  const have = permuted.get(dataId);
  if (have !== undefined && have.shape === s && have.perm === p) return have.t;
  const t = make();
  permuted.set(dataId, { shape: s, perm: p, t });
  return t;
}

/** What one forward call kept for its gradient: its inputs, resident on `backend`, by input name. */
export interface KeptInputs {
  readonly backend: Backend;
  readonly inputs: Readonly<Record<string, ResidentTensor>>;
  /** tfjs's tape the call was recorded on (a new one per outermost `tf.grads`, ...). */
  readonly tape: unknown;
}

/**
 * By the forward call's attribute object (tfjs hands the same object to the node's gradient function;
 * ops.ts makes a new one per call). null: two taped calls shared one attribute object (a direct
 * `runKernel` reusing it), so neither node's gradient may take what either kept.
 */
const kept = new Map<object, KeptInputs | null>();
let releaseQueued = false;

function disposeAll(k: KeptInputs | null): void {
  if (k !== null) for (const t of Object.values(k.inputs)) t.dispose();
}

function releaseKept(): void {
  releaseQueued = false;
  const all = [...kept.values()];
  kept.clear();
  for (const k of all) disposeAll(k);
}

/**
 * Keeps a forward call's resident inputs for its gradient kernel, until the end of the current task. The
 * caller no longer owns them.
 */
export function keepForBackward(key: object, k: KeptInputs): void {
  // What calls on an earlier tape kept can no longer be asked for (their tf.grads has returned): released
  // now rather than at the end of the task, so a synchronous training loop holds one step's at most.
  for (const [key2, k2] of kept) {
    if (k2 !== null && k2.tape !== k.tape) {
      kept.delete(key2);
      disposeAll(k2);
    }
  }
  if (kept.has(key)) {
    disposeAll(kept.get(key)!);
    disposeAll(k);
    kept.set(key, null);
  } else {
    kept.set(key, k);
  }
  if (!releaseQueued) {
    releaseQueued = true;
    queueMicrotask(releaseKept);
  }
}

/**
 * The inputs the forward call with attributes `key` kept, on `backend`, now owned by the caller (who
 * disposes them), or null.
 */
export function takeForBackward(key: unknown, backend: Backend): KeptInputs | null {
  if (typeof key !== 'object' || key === null) return null;
  const k = kept.get(key);
  if (k === undefined || k === null) return null;
  kept.delete(key);
  if (k.backend !== backend) {
    disposeAll(k);
    return null;
  }
  return k;
}

/** How many forward calls' inputs are kept now (tests). */
export function keptForBackwardCount(): number {
  let n = 0;
  for (const k of kept.values()) if (k !== null) n++;
  return n;
}

let currentForward: object | null = null;

/**
 * Runs `f` (the gradient kernel's call, synchronous) with `forwardAttrs`, the forward call's attribute
 * object, as the key `takeForBackward(currentForwardAttrs())` looks up.
 */
export function duringGradientOf<T>(forwardAttrs: object, f: () => T): T {
  const outer = currentForward;
  currentForward = forwardAttrs;
  try {
    return f();
  } finally {
    currentForward = outer;
  }
}

/** The forward call's attribute object of the gradient kernel running now (see duringGradientOf), or null. */
export function currentForwardAttrs(): object | null {
  return currentForward;
}

