/**
 * Kernels, registered per op and direction. A backend lists the kernels it has in its `kernels` table
 * (`{ deform_conv2d: { forward, backward }, ... }`); code outside a backend package can add kernels to a
 * backend by name with `registerKernel` (an op defined outside core, a kernel a backend lacks), as tfjs's
 * `registerKernel` does. What a backend can do is derived from these tables, never declared separately:
 * a missing kernel is a `CapabilityError` naming the op and the direction.
 *
 * Each kernel takes one argument object (burn and candle's "one argument struct per kernel"): adding a
 * field later (a stream, a workspace) does not change any kernel's signature.
 */
import type { Backend, ConvGradRequest, ConvGrads, ConvInputs, MaybePromise } from './backend.js';
import type { ConvGeometry } from './conv-params.js';
import { BackendError, CapabilityError } from './errors.js';
import type { RoiPoolGeometry, RoiPoolGradRequest, RoiPoolGrads, RoiPoolInputs } from './roi-pool-params.js';

export type KernelDirection = 'forward' | 'backward';
export const KERNEL_DIRECTIONS: readonly KernelDirection[] = Object.freeze(['forward', 'backward']);

/** A call's input handles by name (null: an optional input left out). */
export type InputHandles<H> = { readonly [name: string]: H | null };

/** What a forward kernel receives: the resolved geometry and the input handles. */
export interface ForwardCall<H, G = unknown, In = InputHandles<H>> {
  readonly geometry: G;
  readonly inputs: In;
  /** The backend the call runs on (for kernels registered from outside it: upload, download, release). */
  readonly backend: Backend<H>;
}

/** What a backward kernel receives: a forward call's fields, dL/d(output), and the gradients asked for. */
export interface BackwardCall<H, G = unknown, In = InputHandles<H>, W = { readonly [name: string]: boolean }> extends ForwardCall<H, G, In> {
  readonly gradOutput: H;
  /** Core never asks for the gradient of an absent input. */
  readonly want: W;
}

/** Returns a new handle holding the output. */
export type ForwardKernel<H, G = unknown, In = InputHandles<H>> = (call: ForwardCall<H, G, In>) => MaybePromise<H>;
/** Returns a handle per gradient: null where not requested (a handle that was not asked for is released). */
export type BackwardKernel<H, G = unknown, In = InputHandles<H>, W = { readonly [name: string]: boolean }, Out = InputHandles<H>> =
  (call: BackwardCall<H, G, In, W>) => MaybePromise<Out>;

/**
 * The kernels a backend has for one op: either direction may be missing. Declared as methods so that a
 * `Backend<GPUBuffer>` is still a `Backend` (method parameters are compared bivariantly).
 */
export interface OpKernels<H, G = unknown, In = InputHandles<H>, W = { readonly [name: string]: boolean }, Out = InputHandles<H>> {
  forward?(call: ForwardCall<H, G, In>): MaybePromise<H>;
  backward?(call: BackwardCall<H, G, In, W>): MaybePromise<Out>;
}

/** The kernels of the built-in ops, typed by op. */
export interface BuiltinKernels<H> {
  readonly deform_conv2d?: OpKernels<H, ConvGeometry, ConvInputs<H>, ConvGradRequest, ConvGrads<H>>;
  readonly deform_roi_pool?: OpKernels<H, RoiPoolGeometry, RoiPoolInputs<H>, RoiPoolGradRequest, RoiPoolGrads<H>>;
}

/**
 * A backend's kernels by op name. Ops defined outside core (`defineOp`) take any other key; their kernels
 * are typed by whoever defines them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KernelTable<H> = BuiltinKernels<H> & { readonly [op: string]: OpKernels<H, any, any, any, any> | undefined };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKernel = (call: any) => unknown;

export interface KernelRegistration {
  /** The backend's registry name (`backend.name`): `cpu`, `wasm`, `webgpu`, ... */
  readonly backendName: string;
  readonly op: string;
  readonly direction: KernelDirection;
  readonly kernel: AnyKernel;
}

/** Kernels registered from outside their backend, by `backend/op/direction`. */
const registered = new Map<string, AnyKernel>();
const keyOf = (backendName: string, op: string, direction: KernelDirection): string => `${backendName}\u0000${op}\u0000${direction}`;

function checkDirection(direction: unknown, argument: string): asserts direction is KernelDirection {
  if (direction !== 'forward' && direction !== 'backward') {
    throw new BackendError({ argument, expected: "'forward' or 'backward'", actual: direction });
  }
}

function checkName(v: unknown, argument: string): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw new BackendError({ argument, expected: 'a non-empty string', actual: v });
}

/**
 * Adds a kernel to every backend named `backendName` (its own table wins where it has the kernel too).
 * Returns a function that removes the registration. Registering the same backend, op and direction twice
 * is a `BackendError`.
 */
export function registerKernel(r: KernelRegistration): () => void {
  if (typeof r !== 'object' || r === null) throw new BackendError({ argument: 'registration', expected: 'an object { backendName, op, direction, kernel }', actual: r });
  const { backendName, op, direction, kernel } = r;
  checkName(backendName, 'registration.backendName');
  checkName(op, 'registration.op');
  checkDirection(direction, 'registration.direction');
  if (typeof kernel !== 'function') throw new BackendError({ argument: 'registration.kernel', expected: 'a function', actual: kernel });
  const key = keyOf(backendName, op, direction);
  if (registered.has(key)) {
    throw new BackendError({ argument: 'registration', expected: `no ${op} ${direction} kernel registered for backend ${backendName} yet`, actual: `${backendName} ${op} ${direction}` });
  }
  registered.set(key, kernel);
  return () => {
    if (registered.get(key) === kernel) registered.delete(key);
  };
}

/** The backend's own table, read once (a getter is not trusted to answer the same twice). */
function tableOf(backend: Backend): Readonly<Record<string, unknown>> | null {
  const t: unknown = (backend as { kernels?: unknown }).kernels;
  return typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : null;
}

function ownKernel(table: Readonly<Record<string, unknown>> | null, op: string, direction: KernelDirection): AnyKernel | null {
  if (table === null || !Object.prototype.hasOwnProperty.call(table, op)) return null;
  const entry = table[op];
  if (typeof entry !== 'object' || entry === null || !Object.prototype.hasOwnProperty.call(entry, direction)) return null;
  const k = (entry as Record<string, unknown>)[direction];
  return typeof k === 'function' ? (k as AnyKernel) : null;
}

/** The kernel `backend` runs for `op` in `direction`: its own, else one registered for its name; null if none. */
export function findKernel(backend: Backend, op: string, direction: KernelDirection): AnyKernel | null {
  checkDirection(direction, 'direction');
  return ownKernel(tableOf(backend), op, direction) ?? registered.get(keyOf(backend.name, op, direction)) ?? null;
}

/** Whether `backend` has a kernel for `op` in `direction`. */
export function hasKernel(backend: Backend, op: string, direction: KernelDirection): boolean {
  return findKernel(backend, op, direction) !== null;
}

/** Every kernel `backend` has, as `{ op, direction }`, its own first, in table order. */
export function listKernels(backend: Backend): readonly { readonly op: string; readonly direction: KernelDirection }[] {
  const seen = new Set<string>();
  const out: { op: string; direction: KernelDirection }[] = [];
  const add = (op: string, direction: KernelDirection): void => {
    const k = `${op} ${direction}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ op, direction });
    }
  };
  const table = tableOf(backend);
  if (table !== null) {
    for (const op of Object.keys(table)) for (const d of KERNEL_DIRECTIONS) if (ownKernel(table, op, d) !== null) add(op, d);
  }
  const prefix = `${backend.name}\u0000`;
  for (const key of registered.keys()) {
    if (!key.startsWith(prefix)) continue;
    const [, op, d] = key.split('\u0000') as [string, string, KernelDirection];
    add(op, d);
  }
  return out;
}

/** The kernel, or a `CapabilityError` naming the op, the direction and what the backend has instead. */
export function requireKernel(backend: Backend, op: string, direction: KernelDirection, argument = 'options.backend'): AnyKernel {
  const k = findKernel(backend, op, direction);
  if (k !== null) return k;
  const has = listKernels(backend).map((x) => `${x.op} ${x.direction}`);
  throw new CapabilityError(
    { argument, expected: `a backend with a ${op} ${direction} kernel`, actual: backend.name },
    has.length === 0 ? 'it has no kernels' : `it has ${has.join(', ')}`,
  );
}

/** The built-in ops' kernels as methods named after the public functions (`deformConv2d`, `deformConv2dBackward`, ...). */
export interface BuiltinKernelMethods<H> {
  deformConv2d(g: ConvGeometry, inputs: ConvInputs<H>): MaybePromise<H>;
  deformConv2dBackward(g: ConvGeometry, inputs: ConvInputs<H>, gradOutput: H, want: ConvGradRequest): MaybePromise<ConvGrads<H>>;
  deformRoiPool(g: RoiPoolGeometry, inputs: RoiPoolInputs<H>): MaybePromise<H>;
  deformRoiPoolBackward(g: RoiPoolGeometry, inputs: RoiPoolInputs<H>, gradOutput: H, want: RoiPoolGradRequest): MaybePromise<RoiPoolGrads<H>>;
}

/**
 * A kernel table from methods named after each op's public function: for op `d` of `ops`, `impl[d.functionName]`
 * is its forward kernel and `impl[d.functionName + 'Backward']` its backward one, where they are functions.
 * The methods are read once, here. For backends whose kernels are also their own typed API (their tests
 * call `backend.deformConv2d(g, inputs)` directly).
 */
export function kernelsFromMethods<H>(
  impl: Partial<BuiltinKernelMethods<H>> | object,
  ops: readonly AnyOpLike[],
): KernelTable<H> {
  const table: Record<string, OpKernels<H, unknown, unknown, unknown, unknown>> = {};
  const methods = impl as Record<string, unknown>;
  for (const op of ops) {
    const fwd = methods[op.functionName];
    const bwd = methods[`${op.functionName}Backward`];
    const entry: { forward?: (c: ForwardCall<H>) => MaybePromise<H>; backward?: (c: BackwardCall<H>) => MaybePromise<unknown> } = {};
    if (typeof fwd === 'function') entry.forward = (c) => (fwd as (g: unknown, i: unknown) => MaybePromise<H>).call(impl, c.geometry, c.inputs);
    if (typeof bwd === 'function') {
      entry.backward = (c) => (bwd as (g: unknown, i: unknown, go: H, w: unknown) => MaybePromise<unknown>).call(impl, c.geometry, c.inputs, c.gradOutput, c.want);
    }
    if (entry.forward !== undefined || entry.backward !== undefined) table[op.name] = Object.freeze(entry) as OpKernels<H, unknown, unknown, unknown, unknown>;
  }
  return Object.freeze(table) as KernelTable<H>;
}

/** What `kernelsFromMethods` reads of an op descriptor. */
interface AnyOpLike {
  readonly name: string;
  readonly functionName: string;
}
