/**
 * The ops on tf.Tensors. Each converts its arguments (float32) and runs the registered kernel, so tfjs
 * records it for autodiff; NHWC / HWIO calls are brought to the kernels' NCHW / OIHW inside the kernel
 * (layout.ts). Shapes and parameters are validated by dcnv2's core inside the kernel, with its typed errors.
 */
import { DTypeError, ParamError, RankError, type DeformConv2dParams, type DeformRoiPoolParams } from '@dcnv2/core';
import { engine, Tensor, tensor as makeTensor, type NamedAttrMap, type NamedTensorMap, type Tensor4D, type TensorLike } from '@tensorflow/tfjs-core';
import { DEFORM_CONV2D, DEFORM_ROI_POOL } from './kernel-names.js';

/** Where channels are: 'NHWC' (tfjs's default; weights HWIO) or 'NCHW' (torchvision's; weights OIHW). */
export type DataFormat = 'NHWC' | 'NCHW';

/** A tf.Tensor of any declared rank (the rank is checked when called: `RankError`) or data tfjs accepts. */
type T4 = Tensor | TensorLike;

export interface DeformConv2dArgs {
  /** NHWC `[N, H, W, Cin]` or NCHW `[N, Cin, H, W]`. */
  readonly input: T4;
  /** NHWC: HWIO `[kh, kw, Cin/groups, Cout]`; NCHW: OIHW `[Cout, Cin/groups, kh, kw]`. */
  readonly weight: T4;
  /** `[N, Ho, Wo, 2*og*kh*kw]` (NHWC) or `[N, 2*og*kh*kw, Ho, Wo]`; channel `((g*kh+i)*kw+j)*2` is dy, `+1` dx. */
  readonly offset: T4;
  /** `[N, Ho, Wo, og*kh*kw]` (NHWC) or `[N, og*kh*kw, Ho, Wo]`; omit or null for DCNv1. */
  readonly mask?: T4 | null;
  /** `[Cout]`; omit or null for none. */
  readonly bias?: Tensor | TensorLike | null;
}

export interface DeformConv2dOpParams extends DeformConv2dParams {
  /** Default 'NHWC', as tfjs's own convolutions. */
  readonly dataFormat?: DataFormat;
}

export interface DeformRoiPoolArgs {
  /** NHWC `[N, H, W, C]` or NCHW `[N, C, H, W]`. */
  readonly input: T4;
  /** `[R, 5]` = (batch index, x1, y1, x2, y2) in image coordinates. */
  readonly rois: Tensor | TensorLike;
  /** `[R, ph, pw, 2]` (NHWC) or `[R, 2, ph, pw]`: per-bin offsets, x first, in units of gamma times the RoI size. */
  readonly offset?: T4 | null;
  /** `[R, ph, pw, 1]` (NHWC) or `[R, 1, ph, pw]`: per-bin modulation. */
  readonly mask?: T4 | null;
}

export interface DeformRoiPoolOpParams extends DeformRoiPoolParams {
  /** Default 'NHWC'. */
  readonly dataFormat?: DataFormat;
}


function formatOf(v: unknown): DataFormat {
  if (v === undefined) return 'NHWC';
  if (v !== 'NHWC' && v !== 'NCHW') throw new ParamError({ argument: 'params.dataFormat', expected: "'NHWC' or 'NCHW'", actual: v });
  return v;
}

/** A float32 tensor of `rank` from a tf.Tensor or nested arrays / a typed array, or core's typed errors. */
function tensor(v: unknown, name: string, op: string, rank: number, dims: string): Tensor {
  const t = v instanceof Tensor ? v : makeTensor(v as TensorLike, undefined, 'float32');
  if (t.dtype !== 'float32') throw new DTypeError({ argument: `${name}.dtype`, expected: `float32 (${op})`, actual: t.dtype });
  if (t.rank !== rank) throw new RankError({ argument: `${name}.shape`, expected: `rank ${rank} ${dims}`, actual: t.shape });
  return t;
}

function optional(v: unknown, name: string, op: string, rank: number, dims: string): Tensor | null {
  return v === undefined || v === null ? null : tensor(v, name, op, rank, dims);
}

/**
 * Runs `kernel` on the inputs present (in the op's order; absent optional ones left out). tfjs saves a
 * kernel's inputs for its gradient by name, which cannot express an absent optional input, or all of
 * them when they come as an array: so they go as an array, and `inputNames` says which is which.
 */
function run(kernel: string, inputs: Record<string, Tensor | null>, params: object): Tensor {
  const names = Object.keys(inputs).filter((k) => inputs[k] !== null);
  const attrs = { ...params, inputNames: names } as unknown as NamedAttrMap;
  return engine().runKernel(kernel, names.map((k) => inputs[k]!) as unknown as NamedTensorMap, attrs) as Tensor;
}

/**
 * Modulated deformable convolution (DCNv2) on tf.Tensors: torchvision's `deform_conv2d` / ONNX
 * `DeformConv` (opset 19), as a tfjs op with gradients. Returns `[N, Ho, Wo, Cout]` (NHWC) or
 * `[N, Cout, Ho, Wo]` (NCHW).
 */
export function deformConv2d(args: DeformConv2dArgs, params: DeformConv2dOpParams = {}): Tensor4D {
  const { dataFormat, ...core } = params;
  const format = formatOf(dataFormat);
  const nhwc = format === 'NHWC';
  const op = 'deformConv2d';
  const dims = nhwc ? '[N, H, W, C]' : '[N, C, H, W]';
  // Layout is changed inside the kernel (layout.ts), so the op is one tfjs node and differentiates alone.
  return run(DEFORM_CONV2D, {
    input: tensor(args.input, 'input', op, 4, dims),
    weight: tensor(args.weight, 'weight', op, 4, nhwc ? '[kh, kw, Cin/groups, Cout]' : '[Cout, Cin/groups, kh, kw]'),
    offset: tensor(args.offset, 'offset', op, 4, dims),
    mask: optional(args.mask, 'mask', op, 4, dims),
    bias: optional(args.bias, 'bias', op, 1, '[Cout]'),
  }, { ...core, dataFormat: format }) as Tensor4D;
}

/**
 * Modulated deformable RoI pooling (mmcv's deformable RoI pooling times a per-bin mask) on tf.Tensors,
 * with gradients for input, offset and mask. Returns `[R, ph, pw, C]` (NHWC) or `[R, C, ph, pw]` (NCHW).
 */
export function deformRoiPool(args: DeformRoiPoolArgs, params: DeformRoiPoolOpParams): Tensor4D {
  const { dataFormat, ...core } = params ?? ({} as DeformRoiPoolOpParams);
  const format = formatOf(dataFormat);
  const nhwc = format === 'NHWC';
  const op = 'deformRoiPool';
  return run(DEFORM_ROI_POOL, {
    input: tensor(args.input, 'input', op, 4, nhwc ? '[N, H, W, C]' : '[N, C, H, W]'),
    rois: tensor(args.rois, 'rois', op, 2, '[R, 5]'),
    offset: optional(args.offset, 'offset', op, 4, nhwc ? '[R, ph, pw, 2]' : '[R, 2, ph, pw]'),
    mask: optional(args.mask, 'mask', op, 4, nhwc ? '[R, ph, pw, 1]' : '[R, 1, ph, pw]'),
  }, { ...core, dataFormat: format }) as Tensor4D;
}
