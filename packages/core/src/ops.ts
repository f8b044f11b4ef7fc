/**
 * The op table: each op declared once. A descriptor holds the op's data (name, tensor inputs in call
 * order and which are optional, parameters with their defaults, the inputs that get gradients; see
 * op-specs.ts) and the functions every user of the op calls instead of spelling it out again: geometry
 * resolution (core's validation, typed errors), the one shape function, which inputs a call has, and the
 * gradient request a backward call makes.
 */
import { convShapes, type ConvGeometry, type DeformConv2dParams } from './conv-params.js';
import { ParamError } from './errors.js';
import { DEFORM_CONV2D_SPEC, DEFORM_ROI_POOL_SPEC, type OpInputSpec, type OpParamSpec } from './op-specs.js';
import { roiPoolShapes, type DeformRoiPoolParams, type RoiPoolGeometry } from './roi-pool-params.js';
import { resolveConvGeometry, type ConvShapeArgs } from './validate-conv.js';
import { resolveRoiPoolGeometry, type RoiPoolShapeArgs } from './validate-roi-pool.js';

/** What differs between ops, by op name. */
export interface OpTypes {
  readonly deform_conv2d: {
    readonly input: (typeof DEFORM_CONV2D_SPEC.inputs)[number]['name'];
    readonly grad: (typeof DEFORM_CONV2D_SPEC.grads)[number];
    readonly args: ConvShapeArgs;
    readonly params: DeformConv2dParams;
    readonly geometry: ConvGeometry;
  };
  readonly deform_roi_pool: {
    readonly input: (typeof DEFORM_ROI_POOL_SPEC.inputs)[number]['name'];
    readonly grad: (typeof DEFORM_ROI_POOL_SPEC.grads)[number];
    readonly args: RoiPoolShapeArgs;
    readonly params: DeformRoiPoolParams;
    readonly geometry: RoiPoolGeometry;
  };
}

export type OpName = keyof OpTypes;
/** The tensor inputs of an op (its `args` fields, without `gradOutput`). */
export type OpInputName<N extends OpName> = OpTypes[N]['input'];
/** The inputs of an op that get gradients. */
export type OpGradName<N extends OpName> = OpTypes[N]['grad'];
/** Shapes of every tensor of a call: each input (as it is, or would be, when present) and the output. */
export type OpShapes<N extends OpName> = { readonly [K in OpInputName<N> | 'output']: readonly number[] };

/** One op, declared once. */
export interface OpDescriptor<N extends OpName = OpName> {
  /** Snake case, as torchvision / mmcv / ONNX tooling spell it: `deform_conv2d`, `deform_roi_pool`. */
  readonly name: N;
  /** Tensor inputs in call order; `optional` ones may be omitted or null. */
  readonly inputs: readonly OpInputSpec<OpInputName<N>>[];
  /** `gradOutput` of a backward call: shaped like the output. */
  readonly gradOutput: { readonly rank: number; readonly dims: string };
  /** The fields of `params`, with their defaults (`required`: no default). */
  readonly params: readonly OpParamSpec<keyof OpTypes[N]['params'] & string>[];
  /** The inputs that get a gradient, in the order a backward call delivers them. */
  readonly grads: readonly OpGradName<N>[];
  /**
   * Validates a call's tensors (shapes, not data) and parameters with core's checks (typed errors, the
   * same messages as the op itself) and returns the resolved geometry backends receive.
   */
  resolveGeometry(args: OpTypes[N]['args'], params?: OpTypes[N]['params']): OpTypes[N]['geometry'];
  /**
   * The one shape function: the shape of every input (optional ones as they would be), of the output
   * (also `gradOutput`'s) and so of every gradient (gradient `k` has the shape of input `k`).
   */
  shapes(g: OpTypes[N]['geometry']): OpShapes<N>;
  /** Whether a call of geometry `g` has input `name` (required inputs: always). */
  hasInput(g: OpTypes[N]['geometry'], name: OpInputName<N>): boolean;
  /**
   * The request a backward call hands its backend: each gradient named in `names` whose input the call
   * has (core never asks for the gradient of an absent input).
   */
  gradRequest(g: OpTypes[N]['geometry'], names: readonly OpGradName<N>[]): { readonly [K in OpGradName<N>]: boolean };
}

function gradRequestOf<N extends OpName>(d: Pick<OpDescriptor<N>, 'grads' | 'hasInput'>) {
  return (g: OpTypes[N]['geometry'], names: readonly OpGradName<N>[]) => {
    const want = {} as { [K in OpGradName<N>]: boolean };
    for (const k of d.grads) want[k] = names.includes(k) && d.hasInput(g, k);
    return want;
  };
}

const convHas = (g: ConvGeometry, name: OpInputName<'deform_conv2d'>): boolean =>
  name === 'mask' ? g.hasMask : name === 'bias' ? g.hasBias : true;
const roiHas = (g: RoiPoolGeometry, name: OpInputName<'deform_roi_pool'>): boolean =>
  name === 'offset' ? g.hasOffset : name === 'mask' ? g.hasMask : true;

const DEFORM_CONV2D: OpDescriptor<'deform_conv2d'> = Object.freeze({
  ...DEFORM_CONV2D_SPEC,
  resolveGeometry: (args: ConvShapeArgs, params?: DeformConv2dParams) => resolveConvGeometry(args, params),
  shapes: convShapes,
  hasInput: convHas,
  gradRequest: gradRequestOf<'deform_conv2d'>({ grads: DEFORM_CONV2D_SPEC.grads, hasInput: convHas }),
});

const DEFORM_ROI_POOL: OpDescriptor<'deform_roi_pool'> = Object.freeze({
  ...DEFORM_ROI_POOL_SPEC,
  // Its params are required: a missing one is validation's ParamError, as in the op.
  resolveGeometry: (args: RoiPoolShapeArgs, params?: DeformRoiPoolParams) => resolveRoiPoolGeometry(args, params as DeformRoiPoolParams),
  shapes: roiPoolShapes,
  hasInput: roiHas,
  gradRequest: gradRequestOf<'deform_roi_pool'>({ grads: DEFORM_ROI_POOL_SPEC.grads, hasInput: roiHas }),
});

/** Every op, by name. */
export const OPS: { readonly [N in OpName]: OpDescriptor<N> } = Object.freeze({
  deform_conv2d: DEFORM_CONV2D,
  deform_roi_pool: DEFORM_ROI_POOL,
});

/** The names of every op, in table order. */
export const OP_NAMES: readonly OpName[] = Object.freeze(Object.keys(OPS) as OpName[]);

/** The descriptor of op `name`; an unknown name is a `ParamError`. */
export function opDescriptor<N extends OpName>(name: N): OpDescriptor<N> {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(OPS, name)) {
    throw new ParamError({ argument: 'name', expected: `an op name, one of ${OP_NAMES.join(', ')}`, actual: name });
  }
  return OPS[name];
}
