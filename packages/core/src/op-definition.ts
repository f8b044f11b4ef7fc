/**
 * What an op is, as data plus the few functions only it can answer, and `defineOp`, which turns such a
 * definition into the descriptor core's call path, conformance, the bench and the tfjs / ONNX packages
 * read. The built-in ops (ops.ts) are defined this way; so is an op defined outside core, which
 * `registerOp` then makes callable by name (`runOp('my_op', ...)`).
 */
import { ParamError, ShapeError } from './errors.js';
import { takeOpArgs, type TakenArgs } from './op-args.js';
import type { OpSpec } from './op-specs.js';
import { checkDim } from './validate-tensor.js';

/** The shape of every tensor of a call: each input (as it is, or would be, when present) and the output. */
export type ShapesOf<I extends string> = { readonly [K in I | 'output']: readonly number[] };

/**
 * An op, as its author writes it down (see `defineOp`): its data (`OpSpec`: name, inputs in call order,
 * gradOutput, params, gradient names) and what only it can answer.
 */
export interface OpDefinition<G = unknown, I extends string = string, Gr extends I = I, P extends string = string> extends OpSpec<string, I, Gr, P> {
  /** The public function's name, for messages: `deformConv2d` (its backward is `deformConv2dBackward`). */
  readonly functionName: string;
  /**
   * Validates the call's tensor shapes (already taken: rank and data checked) and its raw `params`, with
   * typed errors, and returns the resolved geometry kernels receive. It must not read tensor data.
   */
  geometry(tensors: Omit<TakenArgs<I>, 'gradOutput'>, params: unknown): G;
  /** The one shape function: every input's shape (optional ones as they would be) and the output's. */
  shapes(g: G): ShapesOf<I>;
  /** Whether a call of geometry `g` has input `name` (required inputs: always). */
  hasInput(g: G, name: I): boolean;
  /** Checks `gradOutput`'s shape; default: equal to `shapes(g).output`, dimension by dimension. */
  checkGradOutput?(shape: readonly number[], g: G): void;
  /**
   * Inputs whose values steer memory access (RoI batch indices and corners): core validates its own copy
   * of their data and the kernel receives exactly that copy, so nothing the caller does afterwards (a
   * write into the array, a getter) can reach a kernel. Each check throws a typed error.
   */
  readonly checkValues?: { readonly [K in I]?: (values: Float32Array, g: G) => void };
}

/** A defined op: its definition plus what core derives from it. Frozen all the way down. */
export interface OpDescriptorOf<G = unknown, I extends string = string, Gr extends I = I, P extends string = string, A = { readonly [K in I]?: unknown }>
  extends Omit<OpDefinition<G, I, Gr, P>, 'checkGradOutput' | 'checkValues'> {
  readonly checkValues: { readonly [K in I]?: (values: Float32Array, g: G) => void };
  /** Validates a call's tensors (shapes, not data) and parameters and returns the geometry. */
  resolveGeometry(args: A, params?: unknown): G;
  /** Checks a backward call's `gradOutput` shape against the geometry (a `ShapeError` naming the dimension). */
  checkGradOutput(shape: readonly number[], g: G): void;
  /** The request a backward call hands its kernel: each gradient named in `names` whose input the call has. */
  gradRequest(g: G, names: readonly Gr[]): { readonly [K in Gr]: boolean };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOpDescriptor = OpDescriptorOf<any, string, string, string, any>;

const DESCRIPTORS = new WeakSet<object>();

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const SNAKE = /^[a-z][a-z0-9_]*$/;
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function bad(argument: string, expected: string, actual: unknown): never {
  throw new ParamError({ argument: `definition.${argument}`, expected, actual });
}

/** Checks a definition's data: names, input list, gradient names, functions. */
function checkDefinition(d: OpDefinition): void {
  if (typeof d !== 'object' || d === null) throw new ParamError({ argument: 'definition', expected: 'an op definition object', actual: d });
  if (typeof d.name !== 'string' || !SNAKE.test(d.name)) bad('name', 'a snake_case name', d.name);
  if (typeof d.functionName !== 'string' || !IDENT.test(d.functionName)) bad('functionName', 'a JavaScript identifier', d.functionName);
  if (!Array.isArray(d.inputs) || d.inputs.length === 0) bad('inputs', 'a non-empty array of inputs', d.inputs);
  const names = new Set<string>();
  d.inputs.forEach((i, k) => {
    if (typeof i?.name !== 'string' || !IDENT.test(i.name) || i.name === 'gradOutput' || names.has(i.name)) {
      bad(`inputs[${k}].name`, 'a unique identifier other than gradOutput', i?.name);
    }
    if (!Number.isInteger(i.rank) || i.rank < 0) bad(`inputs[${k}].rank`, 'a non-negative integer', i.rank);
    names.add(i.name);
  });
  if (!Number.isInteger(d.gradOutput?.rank)) bad('gradOutput.rank', 'an integer', d.gradOutput?.rank);
  if (!Array.isArray(d.params)) bad('params', 'an array of parameters', d.params);
  if (!Array.isArray(d.grads)) bad('grads', 'an array of input names', d.grads);
  for (const g of d.grads) if (!names.has(g)) bad('grads', `names among the inputs (${[...names].join(', ')})`, g);
  for (const f of ['geometry', 'shapes', 'hasInput'] as const) if (typeof d[f] !== 'function') bad(f, 'a function', d[f]);
  if (d.checkGradOutput !== undefined && typeof d.checkGradOutput !== 'function') bad('checkGradOutput', 'a function or undefined', d.checkGradOutput);
  for (const [k, f] of Object.entries(d.checkValues ?? {})) {
    if (!names.has(k) || typeof f !== 'function') bad(`checkValues.${k}`, 'a function for one of the inputs', f);
  }
}

/** The default gradOutput check: the output's shape, dimension by dimension. */
function gradOutputLike<G>(shapes: (g: G) => ShapesOf<string>, dims: string) {
  return (s: readonly number[], g: G): void => {
    const want = shapes(g).output;
    if (s.length !== want.length) throw new ShapeError({ argument: 'gradOutput.shape', expected: `the output's shape ${dims}`, actual: s });
    for (let i = 0; i < want.length; i++) checkDim(s, i, want[i]!, 'gradOutput', `dimension ${i} of the output ${dims}`);
  };
}

/**
 * Turns an op definition into its descriptor: checks the definition, adds geometry resolution from raw
 * arguments, the gradient request and the gradOutput check, and freezes it all the way down (validation
 * reads it, so nothing written into it later may change what core checks).
 */
export function defineOp<G, I extends string, Gr extends I, P extends string, A = { readonly [K in I]?: unknown }>(
  def: OpDefinition<G, I, Gr, P>,
): OpDescriptorOf<G, I, Gr, P, A> {
  checkDefinition(def as unknown as OpDefinition);
  const d: OpDescriptorOf<G, I, Gr, P, A> = {
    name: def.name,
    functionName: def.functionName,
    inputs: def.inputs,
    gradOutput: def.gradOutput,
    params: def.params,
    grads: def.grads,
    checkValues: { ...(def.checkValues ?? {}) },
    geometry: def.geometry,
    shapes: def.shapes,
    hasInput: def.hasInput,
    resolveGeometry: (args: A, params?: unknown) => def.geometry(takeOpArgs(def, args, false), params),
    checkGradOutput: def.checkGradOutput ?? gradOutputLike(def.shapes as (g: G) => ShapesOf<string>, def.gradOutput.dims),
    gradRequest: (g: G, names: readonly Gr[]) => {
      const want = {} as { [K in Gr]: boolean };
      for (const k of def.grads) want[k] = names.includes(k) && def.hasInput(g, k);
      return want;
    },
  };
  deepFreeze(d);
  DESCRIPTORS.add(d);
  return d;
}

/** Whether `v` is a descriptor made by `defineOp` (a look-alike object is refused by the call path). */
export function isOpDescriptor(v: unknown): v is AnyOpDescriptor {
  return typeof v === 'object' && v !== null && DESCRIPTORS.has(v);
}
