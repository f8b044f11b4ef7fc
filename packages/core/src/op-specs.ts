/**
 * The data half of the op table (see ops.ts): per op its tensor inputs in call order, its parameters with
 * their defaults, and the inputs that get gradients. Plain data with no imports, so that the validation
 * modules read it too (argument order, rank and dimension names in messages, known parameter names,
 * defaults) without an import cycle.
 */

/** One tensor argument of an op, in call order. */
export interface OpInputSpec<N extends string = string> {
  readonly name: N;
  /** May be omitted or null (a mask of 1, no bias, no offset). */
  readonly optional: boolean;
  readonly rank: number;
  /** The dimensions as error messages name them. */
  readonly dims: string;
}

/** One parameter of an op (a field of its `params` object). */
export interface OpParamSpec<N extends string = string> {
  readonly name: N;
  /** No default: the call must give it. */
  readonly required: boolean;
  /** The value used when it is omitted; `undefined` when required or derived from the tensors. */
  readonly default: number | undefined;
  readonly doc: string;
}

/** The data of one op. */
export interface OpSpec<Name extends string = string, Input extends string = string, Grad extends Input = Input, Param extends string = string> {
  /** The op's name in snake case, as torchvision / mmcv / ONNX tooling spell it. */
  readonly name: Name;
  readonly inputs: readonly OpInputSpec<Input>[];
  /** dL/d(output) of a backward call: shaped like the output. */
  readonly gradOutput: { readonly rank: number; readonly dims: string };
  readonly params: readonly OpParamSpec<Param>[];
  /** The inputs that get a gradient, in the order backward results are delivered. */
  readonly grads: readonly Grad[];
}

/**
 * Freezes the table all the way down: validation reads it, so a caller writing into `OPS` (a plain-JS
 * user, a dependency) must not be able to change what core checks.
 */
function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

export const DEFORM_CONV2D_SPEC = deepFreeze({
  name: 'deform_conv2d',
  inputs: [
    { name: 'input', optional: false, rank: 4, dims: '[N, Cin, H, W]' },
    { name: 'weight', optional: false, rank: 4, dims: '[Cout, Cin/groups, kh, kw]' },
    { name: 'offset', optional: false, rank: 4, dims: '[N, 2*offsetGroups*kh*kw, Ho, Wo]' },
    { name: 'mask', optional: true, rank: 4, dims: '[N, offsetGroups*kh*kw, Ho, Wo]' },
    { name: 'bias', optional: true, rank: 1, dims: '[Cout]' },
  ],
  gradOutput: { rank: 4, dims: '[N, Cout, Ho, Wo]' },
  params: [
    { name: 'stride', required: false, default: 1, doc: 'number or [h, w]' },
    { name: 'padding', required: false, default: 0, doc: 'number, [h, w] or [top, left, bottom, right]' },
    { name: 'dilation', required: false, default: 1, doc: 'number or [h, w]' },
    { name: 'groups', required: false, default: 1, doc: 'convolution groups' },
    { name: 'offsetGroups', required: false, default: undefined, doc: "offset groups; default inferred from the offset's channels" },
  ],
  grads: ['input', 'offset', 'mask', 'weight', 'bias'],
} as const satisfies OpSpec);

export const DEFORM_ROI_POOL_SPEC = deepFreeze({
  name: 'deform_roi_pool',
  inputs: [
    { name: 'input', optional: false, rank: 4, dims: '[N, C, H, W]' },
    { name: 'rois', optional: false, rank: 2, dims: '[R, 5] = (batch index, x1, y1, x2, y2)' },
    { name: 'offset', optional: true, rank: 4, dims: '[R, 2, ph, pw]' },
    { name: 'mask', optional: true, rank: 4, dims: '[R, 1, ph, pw]' },
  ],
  gradOutput: { rank: 4, dims: '[R, C, ph, pw]' },
  params: [
    { name: 'outputSize', required: true, default: undefined, doc: 'bins per RoI: number or [ph, pw]' },
    { name: 'spatialScale', required: false, default: 1, doc: 'image to feature-map scale' },
    { name: 'samplingRatio', required: false, default: 0, doc: 'samples per bin per axis; 0 = adaptive' },
    { name: 'gamma', required: false, default: 0.1, doc: 'offset scale' },
  ],
  grads: ['input', 'offset', 'mask'],
} as const satisfies OpSpec);

/** The gradient names of the convolution. */
export type GradName = (typeof DEFORM_CONV2D_SPEC.grads)[number];
/** The gradient names of RoI pooling (RoIs get none). */
export type RoiPoolGradName = (typeof DEFORM_ROI_POOL_SPEC.grads)[number];

/** `{ a, b?, c }`: an op's argument object as messages describe it (`?` marks an optional input). */
export function describeArgs(spec: OpSpec, backward: boolean): string {
  const names = spec.inputs.map((i) => (i.optional ? `${i.name}?` : i.name));
  if (backward) names.push('gradOutput');
  return `{ ${names.join(', ')} }`;
}

/** The names of an op's parameters. */
export function paramNames<P extends string>(spec: OpSpec<string, string, string, P>): readonly P[] {
  return spec.params.map((p) => p.name);
}

/** The default of one parameter that has one. */
export function paramDefault<P extends string>(spec: OpSpec<string, string, string, P>, name: P): number {
  const d = spec.params.find((p) => p.name === name)?.default;
  if (d === undefined) throw new Error(`${spec.name}: params.${name} has no default`);
  return d;
}
