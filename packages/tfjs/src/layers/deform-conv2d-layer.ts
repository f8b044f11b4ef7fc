/**
 * `DeformConv2D`: the deformable convolution module of DCNv2 (Dai et al. 2019, "Deformable ConvNets v2:
 * More Deformable, Better Results") as a tfjs-layers layer.
 */
import { DivisibilityError, OutputSizeError, ParamError } from '@dcnv2/core';
import { customGrad, mul, serialization, sigmoid, tidy, transpose, zeros, Tensor, type Rank, type Tensor1D, type Tensor4D } from '@tensorflow/tfjs-core';
import { layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { deformConv2d } from '../ops.js';
import {
  ACTIVATIONS, activationOf, booleanOf, dataFormatOf, finitePositive, initializerOf, positiveInt, positivePair, regularizerOf, serialize,
  type Initializer, type InitializerSpec, type LayerDataFormat, type Regularizer, type RegularizerSpec,
} from './common.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
type Kwargs = Parameters<InstanceType<typeof layers.Layer>['call']>[1];

/** 'same' (tfjs's: output ceil(size / stride), the odd pixel of padding at the bottom / right), 'valid', or explicit. */
export type DeformConv2DPadding = 'same' | 'valid' | number | readonly [number, number] | readonly [number, number, number, number];

export interface DeformConv2DArgs extends LayerArgs {
  /** Output channels. */
  filters: number;
  /** `[kh, kw]` or one number for both. */
  kernelSize: number | [number, number];
  /** Default 1. */
  strides?: number | [number, number];
  /** Default 'valid'. A number, `[h, w]` (symmetric) or `[top, left, bottom, right]` are explicit zero padding. */
  padding?: DeformConv2DPadding;
  /** Default 1. */
  dilationRate?: number | [number, number];
  /** Convolution groups: input channels and `filters` must be divisible by it. Default 1. */
  groups?: number;
  /** Offset groups (og): input channels sharing one offset / mask field; input channels must be divisible by it. Default 1. */
  offsetGroups?: number;
  /** Default true. */
  useBias?: boolean;
  /** 'linear' (default), 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'softsign', 'swish', 'mish'. */
  activation?: string;
  /** Of the deformable convolution's kernel. Default 'glorotUniform'. */
  kernelInitializer?: InitializerSpec;
  /** Default 'zeros'. */
  biasInitializer?: InitializerSpec;
  kernelRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  /** 'channelsLast' (NHWC, default, kernel HWIO) or 'channelsFirst' (NCHW; the kernel is still stored HWIO, as tfjs layers do). */
  dataFormat?: LayerDataFormat;
  /** true (DCNv2, default): the branch also predicts a modulation mask. false: DCNv1, offsets only. */
  modulation?: boolean;
  /** The mask is `maskScale * sigmoid(logits)`: 1 (the paper's, default) or 2 (BiRefNet's: 1 at initialisation). */
  maskScale?: number;
  /**
   * Multiplies the gradients of the offset / mask branch's kernel and bias (not the gradient that flows
   * through the branch back to the layer's input). Default 1; the paper uses 0.1. With SGD (and momentum)
   * this is exactly a learning-rate multiplier for the branch. With Adam (and RMSProp, Adagrad, ...) it
   * changes almost nothing: they divide the gradient by its running scale, so a constant factor cancels
   * except through epsilon; lower the branch's learning rate by other means there if needed.
   */
  offsetLrMultiplier?: number;
}

/** Explicit `[top, left, bottom, right]` padding for an input of `inH` x `inW` (null: not known yet). */
function padsOf(padding: DeformConv2DPadding, inH: number | null, inW: number | null, k: [number, number], s: [number, number], d: [number, number]): [number, number, number, number] | null {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (inH === null || inW === null) return null;
    // tfjs's 'same' (computeConv2DInfo): out = ceil(in / stride), the extra pixel after.
    const along = (size: number, i: 0 | 1) => Math.max(0, (Math.ceil(size / s[i]) - 1) * s[i] + d[i] * (k[i] - 1) + 1 - size);
    const ph = along(inH, 0);
    const pw = along(inW, 1);
    return [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)];
  }
  if (typeof padding === 'number') return [padding, padding, padding, padding];
  if (padding.length === 2) return [padding[0], padding[1], padding[0], padding[1]];
  return [...padding] as [number, number, number, number];
}

function paddingOf(v: unknown): DeformConv2DPadding {
  if (v === undefined || v === null) return 'valid';
  if (v === 'same' || v === 'valid') return v;
  const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  if (ok(v)) return v as number;
  if (Array.isArray(v) && (v.length === 2 || v.length === 4) && v.every(ok)) return [...v] as unknown as DeformConv2DPadding;
  throw new ParamError({ argument: 'DeformConv2D.padding', expected: "'same', 'valid', a non-negative integer, [h, w] or [top, left, bottom, right]", actual: v });
}

/** Identity forward, gradient times `m`: the offset branch's learning-rate multiplier. */
function gradScale(x: Tensor, m: number): Tensor {
  return customGrad((t, save) => {
    void save;
    return { value: (t as Tensor).clone(), gradFunc: (dy: Tensor) => mul(dy, m) };
  })(x);
}

/**
 * Modulated deformable convolution with its offset / mask branch (DCNv2 section 2.1): a regular
 * convolution over the same input, with the same kernel size, strides, padding and dilation, predicts
 * `3 * og * kh * kw` channels: `2 * og * kh * kw` offsets (channel `((g*kh+i)*kw+j)*2` is dy, `+1` dx) and
 * `og * kh * kw` mask logits, made masks by `maskScale * sigmoid`. That convolution's kernel and bias start
 * at zero, so at initialisation the layer is a plain convolution times `maskScale * 0.5` (times 1 with
 * `modulation: false`). Weights, in this order: `kernel` `[kh, kw, Cin/groups, filters]`, `bias`
 * `[filters]` (with useBias), `offset_kernel` `[kh, kw, Cin, 2*og*kh*kw]`, `offset_bias`, and with
 * modulation `mask_kernel` `[kh, kw, Cin, og*kh*kw]`, `mask_bias`. The branch is one convolution with
 * `3*og*kh*kw` outputs (mmcv's `conv_offset`: offsets first, then mask logits) stored as two, so that no
 * activation is sliced along its channels (tfjs cpu's strided Slice and its gradient cost more than the
 * convolutions here); a PyTorch checkpoint's `conv_offset` splits at channel `2*og*kh*kw`.
 *
 * The branch's regular convolution runs as dcnv2's deformConv2d with zero offsets and no mask, which is
 * exactly a regular convolution (integer sampling positions; the padding reads zeros), rather than as
 * tf.conv2d: tfjs 4.22 has no gradient for tf.conv2d on its wasm backend (no Conv2DBackpropFilter kernel)
 * nor for dilation > 1 on any backend, and on tfjs cpu its JavaScript conv2d forward + backward measured
 * about 10x slower than dcnv2's here. Padding is resolved to explicit `[top, left, bottom, right]` once per
 * call and used by both convolutions, so their output sizes always agree ('same' is tfjs's: output
 * ceil(size / stride), the odd padding pixel at the bottom / right).
 */
export class DeformConv2D extends layers.Layer {
  static className = 'DeformConv2D';

  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: DeformConv2DPadding;
  readonly dilationRate: [number, number];
  readonly groups: number;
  readonly offsetGroups: number;
  readonly useBias: boolean;
  readonly activation: string;
  readonly dataFormat: LayerDataFormat;
  readonly modulation: boolean;
  readonly maskScale: number;
  readonly offsetLrMultiplier: number;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | undefined;
  readonly biasRegularizer: Regularizer | undefined;

  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;
  private offsetKernel: LayerVariable | null = null;
  private offsetBias: LayerVariable | null = null;
  private maskKernel: LayerVariable | null = null;
  private maskBias: LayerVariable | null = null;

  constructor(args: DeformConv2DArgs) {
    super(args);
    if (typeof args !== 'object' || args === null) throw new ParamError({ argument: 'DeformConv2D args', expected: 'an object with filters and kernelSize', actual: args });
    this.filters = positiveInt(args.filters, 'DeformConv2D.filters');
    this.kernelSize = positivePair(args.kernelSize, 'DeformConv2D.kernelSize');
    this.strides = positivePair(args.strides ?? 1, 'DeformConv2D.strides');
    this.padding = paddingOf(args.padding);
    this.dilationRate = positivePair(args.dilationRate ?? 1, 'DeformConv2D.dilationRate');
    this.groups = positiveInt(args.groups ?? 1, 'DeformConv2D.groups');
    this.offsetGroups = positiveInt(args.offsetGroups ?? 1, 'DeformConv2D.offsetGroups');
    if (this.filters % this.groups !== 0) {
      throw new DivisibilityError({ argument: 'DeformConv2D.filters', expected: `a multiple of groups (${this.groups})`, actual: this.filters });
    }
    this.useBias = booleanOf(args.useBias, true, 'DeformConv2D.useBias');
    this.activation = activationOf(args.activation, 'DeformConv2D.activation');
    this.dataFormat = dataFormatOf(args.dataFormat, 'DeformConv2D.dataFormat');
    this.modulation = booleanOf(args.modulation, true, 'DeformConv2D.modulation');
    this.maskScale = finitePositive(args.maskScale ?? 1, 'DeformConv2D.maskScale');
    const m = args.offsetLrMultiplier ?? 1;
    if (typeof m !== 'number' || !Number.isFinite(m) || m < 0) throw new ParamError({ argument: 'DeformConv2D.offsetLrMultiplier', expected: 'a finite number >= 0', actual: m });
    this.offsetLrMultiplier = m;
    this.kernelInitializer = initializerOf(args.kernelInitializer, 'glorotUniform', 'DeformConv2D.kernelInitializer');
    this.biasInitializer = initializerOf(args.biasInitializer, 'zeros', 'DeformConv2D.biasInitializer');
    this.kernelRegularizer = regularizerOf(args.kernelRegularizer, 'DeformConv2D.kernelRegularizer');
    this.biasRegularizer = regularizerOf(args.biasRegularizer, 'DeformConv2D.biasRegularizer');
  }

  /** Taps per offset group: kh * kw. */
  private get taps(): number {
    return this.kernelSize[0] * this.kernelSize[1];
  }

  /** Channels the offset / mask branch predicts: 3*og*K (2*og*K without modulation). */
  get branchChannels(): number {
    return (this.modulation ? 3 : 2) * this.offsetGroups * this.taps;
  }

  private channelsOf(inputShape: Shape): number {
    if (inputShape.length !== 4) throw new ParamError({ argument: 'DeformConv2D input shape', expected: 'rank 4', actual: inputShape });
    const c = inputShape[this.dataFormat === 'channelsLast' ? 3 : 1];
    if (typeof c !== 'number') throw new ParamError({ argument: 'DeformConv2D input shape', expected: 'a known channel dimension', actual: inputShape });
    return c;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const cin = this.channelsOf(shape);
    if (cin % this.groups !== 0) throw new DivisibilityError({ argument: 'DeformConv2D input channels', expected: `a multiple of groups (${this.groups})`, actual: cin });
    if (cin % this.offsetGroups !== 0) throw new DivisibilityError({ argument: 'DeformConv2D input channels', expected: `a multiple of offsetGroups (${this.offsetGroups})`, actual: cin });
    const [kh, kw] = this.kernelSize;
    this.kernel = this.addWeight('kernel', [kh, kw, cin / this.groups, this.filters], 'float32', this.kernelInitializer, this.kernelRegularizer, true);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', this.biasInitializer, this.biasRegularizer, true);
    const zero = initializerOf('zeros', 'zeros', 'offset initializer');
    const nOffset = 2 * this.offsetGroups * this.taps;
    this.offsetKernel = this.addWeight('offset_kernel', [kh, kw, cin, nOffset], 'float32', zero, undefined, true);
    this.offsetBias = this.addWeight('offset_bias', [nOffset], 'float32', zero, undefined, true);
    if (this.modulation) {
      this.maskKernel = this.addWeight('mask_kernel', [kh, kw, cin, this.offsetGroups * this.taps], 'float32', zero, undefined, true);
      this.maskBias = this.addWeight('mask_bias', [this.offsetGroups * this.taps], 'float32', zero, undefined, true);
    }
    this.inputSpec = [{ ndim: 4, axes: { [this.dataFormat === 'channelsLast' ? 3 : 1]: cin } } as never];
    this.built = true;
  }

  private outSize(size: number | null, before: number | undefined, after: number | undefined, i: 0 | 1): number | null {
    if (size === null || before === undefined || after === undefined) return null;
    const out = Math.floor((size + before + after - (this.dilationRate[i] * (this.kernelSize[i] - 1) + 1)) / this.strides[i]) + 1;
    if (out < 1) {
      throw new OutputSizeError({ argument: `DeformConv2D output ${i === 0 ? 'height' : 'width'}`, expected: '>= 1', actual: out },
        `input ${i === 0 ? 'height' : 'width'} ${size}, padding ${before} + ${after}, kernel ${this.kernelSize[i]}, dilation ${this.dilationRate[i]}, stride ${this.strides[i]}`);
    }
    return out;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const last = this.dataFormat === 'channelsLast';
    const [h, w] = last ? [shape[1]!, shape[2]!] : [shape[2]!, shape[3]!];
    const pads = padsOf(this.padding, h, w, this.kernelSize, this.strides, this.dilationRate);
    const ho = this.outSize(h, pads?.[0], pads?.[2], 0);
    const wo = this.outSize(w, pads?.[1], pads?.[3], 1);
    return last ? [shape[0]!, ho, wo, this.filters] : [shape[0]!, this.filters, ho, wo];
  }

  /** Explicit `[top, left, bottom, right]` padding and the output size for an input of `h` x `w`. */
  private geometryOf(h: number, w: number): { padding: [number, number, number, number]; outputSize: [number, number] } {
    const padding = padsOf(this.padding, h, w, this.kernelSize, this.strides, this.dilationRate)!;
    return { padding, outputSize: [this.outSize(h, padding[0], padding[2], 0)!, this.outSize(w, padding[1], padding[3], 1)!] };
  }

  /**
   * The offset / mask branch on `x`: regular convolutions (dcnv2's op with zero offsets and no mask, see
   * the class comment), their weights' gradients scaled by offsetLrMultiplier. Call inside a tidy.
   */
  private branch(x: Tensor4D, padding: [number, number, number, number], ho: number, wo: number): { offset: Tensor4D; mask: Tensor4D | null } {
    const last = this.dataFormat === 'channelsLast';
    const convParams = { stride: this.strides, padding, dilation: this.dilationRate };
    const format = last ? 'NHWC' : 'NCHW';
    const zeroOffset = zeros<Rank.R4>(last ? [x.shape[0], ho, wo, 2 * this.taps] : [x.shape[0], 2 * this.taps, ho, wo]);
    const regularConv = (kernel: LayerVariable, bias: LayerVariable): Tensor4D => {
      let k = kernel.read() as Tensor4D;
      let b = bias.read() as Tensor1D;
      if (this.offsetLrMultiplier !== 1) {
        k = gradScale(k, this.offsetLrMultiplier) as Tensor4D;
        b = gradScale(b, this.offsetLrMultiplier) as Tensor1D;
      }
      return deformConv2d({ input: x, weight: last ? k : (transpose(k, [3, 2, 0, 1]) as Tensor4D), offset: zeroOffset, bias: b }, { ...convParams, dataFormat: format });
    };
    const offset = regularConv(this.offsetKernel!, this.offsetBias!);
    let mask: Tensor4D | null = null;
    if (this.modulation) {
      const s = sigmoid(regularConv(this.maskKernel!, this.maskBias!)) as Tensor4D;
      mask = this.maskScale === 1 ? s : (mul(s, this.maskScale) as Tensor4D);
    }
    return { offset, mask };
  }

  /**
   * What the layer samples for `input` (rank 4, in the layer's data format; the layer must be built):
   * the offsets and masks its branch predicts, exactly as `call` uses them, and the explicit padding.
   * `offset` is `[N, Ho, Wo, 2*og*kh*kw]` (channelsLast; `[N, 2*og*kh*kw, Ho, Wo]` channelsFirst), channel
   * `((g*kh+i)*kw+j)*2` the dy and `+1` the dx of tap (i, j) of offset group g; `mask` is
   * `[N, Ho, Wo, og*kh*kw]` (`maskScale * sigmoid`), null without modulation. Tap (i, j) of output
   * position (y, x) samples the input at `(y*sh - top + i*dh + dy, x*sw - left + j*dw + dx)` (pixel
   * indices, bilinear; zeros outside). For analyses and visualisation (effective sampling locations);
   * the caller owns the returned tensors.
   */
  offsetsAndMasks(input: Tensor): { offset: Tensor4D; mask: Tensor4D | null; padding: [number, number, number, number]; outputSize: [number, number] } {
    if (!this.built) throw new ParamError({ argument: 'DeformConv2D.offsetsAndMasks', expected: 'a built layer (apply it or build it first)', actual: 'not built' });
    if (!(input instanceof Tensor) || input.rank !== 4) throw new ParamError({ argument: 'DeformConv2D.offsetsAndMasks input', expected: 'a rank-4 tf.Tensor', actual: input instanceof Tensor ? input.shape : input });
    const x = input as Tensor4D;
    const last = this.dataFormat === 'channelsLast';
    const { padding, outputSize } = this.geometryOf(last ? x.shape[1] : x.shape[2], last ? x.shape[2] : x.shape[3]);
    const [offset, mask] = tidy(() => {
      const b = this.branch(x, padding, outputSize[0], outputSize[1]);
      return b.mask === null ? [b.offset] : [b.offset, b.mask];
    }) as Tensor4D[];
    return { offset: offset!, mask: mask ?? null, padding, outputSize };
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    void kwargs;
    return tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
      this.invokeCallHook(inputs, kwargs);
      const last = this.dataFormat === 'channelsLast';
      const { padding: pads, outputSize: [ho, wo] } = this.geometryOf(last ? x.shape[1] : x.shape[2], last ? x.shape[2] : x.shape[3]);
      const convParams = { stride: this.strides, padding: pads, dilation: this.dilationRate };
      const format = last ? 'NHWC' : 'NCHW';
      const { offset, mask } = this.branch(x, pads, ho, wo);

      const kernel = this.kernel!.read() as Tensor4D;
      const y = deformConv2d(
        { input: x, weight: last ? kernel : transpose(kernel, [3, 2, 0, 1]), offset, mask, bias: this.useBias ? (this.bias!.read() as Tensor1D) : null },
        { ...convParams, groups: this.groups, offsetGroups: this.offsetGroups, dataFormat: format },
      );
      return ACTIVATIONS[this.activation]!(y);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      filters: this.filters,
      kernelSize: [...this.kernelSize],
      strides: [...this.strides],
      padding: typeof this.padding === 'string' || typeof this.padding === 'number' ? this.padding : [...this.padding],
      dilationRate: [...this.dilationRate],
      groups: this.groups,
      offsetGroups: this.offsetGroups,
      useBias: this.useBias,
      activation: this.activation,
      kernelInitializer: serialize(this.kernelInitializer),
      biasInitializer: serialize(this.biasInitializer),
      kernelRegularizer: serialize(this.kernelRegularizer),
      biasRegularizer: serialize(this.biasRegularizer),
      dataFormat: this.dataFormat,
      modulation: this.modulation,
      maskScale: this.maskScale,
      offsetLrMultiplier: this.offsetLrMultiplier,
      ...super.getConfig(),
    };
  }
}

// Registered as 'dcnv2>DeformConv2D', so a saved model names the package its layer comes from.
serialization.registerClass(DeformConv2D, 'dcnv2');

/** `new DeformConv2D(args)`, in the style of `tf.layers.conv2d`. */
export function deformConv2dLayer(args: DeformConv2DArgs): DeformConv2D {
  return new DeformConv2D(args);
}
