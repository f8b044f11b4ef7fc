/**
 * The op table: each op declared once. A descriptor holds the op's data (name, tensor inputs in call
 * order and which are optional, parameters with their defaults, the inputs that get gradients; see
 * op-specs.ts) and the functions every user of the op calls instead of spelling it out again: geometry
 * resolution (core's validation, typed errors), the one shape function, which inputs a call has, and the
 * gradient request a backward call makes.
 */
import { convShapes, type ConvGeometry, type DeformConv2dParams } from './conv-params.js';
import { ParamError } from './errors.js';
import { defineOp, isOpDescriptor, type AnyOpDescriptor, type OpDescriptorOf, type ShapesOf } from './op-definition.js';
import { DEFORM_CONV2D_SPEC, DEFORM_ROI_POOL_SPEC } from './op-specs.js';
import { roiPoolShapes, type DeformRoiPoolParams, type RoiPoolGeometry } from './roi-pool-params.js';
import { checkGradOutputShape, convGeometryOf, type ConvShapeArgs } from './validate-conv.js';
import { checkRoiGradOutputShape, checkRoiValues, roiGeometryOf, type RoiPoolShapeArgs } from './validate-roi-pool.js';

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
export type OpShapes<N extends OpName> = ShapesOf<OpInputName<N>>;

/** One built-in op, declared once (see `OpDescriptorOf` for each field). */
export type OpDescriptor<N extends OpName = OpName> = OpDescriptorOf<
  OpTypes[N]['geometry'],
  OpInputName<N>,
  OpGradName<N>,
  keyof OpTypes[N]['params'] & string,
  OpTypes[N]['args']
> & { readonly name: N };

const convHas = (g: ConvGeometry, name: OpInputName<'deform_conv2d'>): boolean =>
  name === 'mask' ? g.hasMask : name === 'bias' ? g.hasBias : true;
const roiHas = (g: RoiPoolGeometry, name: OpInputName<'deform_roi_pool'>): boolean =>
  name === 'offset' ? g.hasOffset : name === 'mask' ? g.hasMask : true;

const DEFORM_CONV2D = defineOp<ConvGeometry, OpInputName<'deform_conv2d'>, OpGradName<'deform_conv2d'>, keyof DeformConv2dParams & string, ConvShapeArgs>({
  ...DEFORM_CONV2D_SPEC,
  functionName: 'deformConv2d',
  geometry: convGeometryOf,
  shapes: convShapes,
  hasInput: convHas,
  checkGradOutput: checkGradOutputShape,
}) as OpDescriptor<'deform_conv2d'>;

const DEFORM_ROI_POOL = defineOp<RoiPoolGeometry, OpInputName<'deform_roi_pool'>, OpGradName<'deform_roi_pool'>, keyof DeformRoiPoolParams & string, RoiPoolShapeArgs>({
  ...DEFORM_ROI_POOL_SPEC,
  functionName: 'deformRoiPool',
  // Its params are required: a missing one is validation's ParamError, as in the op.
  geometry: roiGeometryOf,
  shapes: roiPoolShapes,
  hasInput: roiHas,
  checkGradOutput: checkRoiGradOutputShape,
  // RoI batch indices and corners steer memory access: kernels get core's checked copy.
  checkValues: { rois: checkRoiValues },
}) as OpDescriptor<'deform_roi_pool'>;

/** The built-in ops, by name. */
export const OPS: { readonly [N in OpName]: OpDescriptor<N> } = Object.freeze({
  deform_conv2d: DEFORM_CONV2D,
  deform_roi_pool: DEFORM_ROI_POOL,
});

/** The names of the built-in ops, in table order. */
export const OP_NAMES: readonly OpName[] = Object.freeze(Object.keys(OPS) as OpName[]);

/** Ops defined outside core and registered with `registerOp`, by name. */
const registered = new Map<string, AnyOpDescriptor>();

/**
 * Makes an op defined with `defineOp` callable by name (`runOp(name, ...)`, conformance, tools). Returns a
 * function that removes it. A name already taken (built in or registered) is a `ParamError`.
 */
export function registerOp(descriptor: AnyOpDescriptor): () => void {
  if (!isOpDescriptor(descriptor)) throw new ParamError({ argument: 'descriptor', expected: 'an op descriptor made by defineOp', actual: descriptor });
  const name = descriptor.name;
  if (Object.prototype.hasOwnProperty.call(OPS, name) || registered.has(name)) {
    throw new ParamError({ argument: 'descriptor.name', expected: 'a name no other op has', actual: name });
  }
  registered.set(name, descriptor);
  return () => {
    if (registered.get(name) === descriptor) registered.delete(name);
  };
}

/** Every op's name: the built-in ones, then the registered ones. */
export function listOps(): readonly string[] {
  return [...OP_NAMES, ...registered.keys()];
}

/** The descriptor of op `name` (built in or registered); an unknown name is a `ParamError`. */
export function opDescriptor<N extends OpName>(name: N): OpDescriptor<N>;
export function opDescriptor(name: string): AnyOpDescriptor;
export function opDescriptor(name: string): AnyOpDescriptor {
  if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(OPS, name)) return OPS[name as OpName] as AnyOpDescriptor;
  const d = typeof name === 'string' ? registered.get(name) : undefined;
  if (d === undefined) throw new ParamError({ argument: 'name', expected: `an op name, one of ${listOps().join(', ')}`, actual: name });
  return d;
}
