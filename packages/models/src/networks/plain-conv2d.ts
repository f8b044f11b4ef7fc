/**
 * `PlainConv2D`: a regular (non-deformable) 2-D convolution layer, NHWC, kernel HWIO, that runs as
 * dcnv2's `deformConv2d` with zero offsets and no mask, which is exactly a regular convolution (integer
 * sampling positions; the padding reads zeros). It is what `DeformConv2D`'s offset branch does, for the
 * same reason: tfjs 4.22 has no `Conv2DBackpropFilter` kernel on its wasm backend, so a model built from
 * `tf.layers.conv2d` cannot be trained there; and it makes the three networks run their convolutions
 * through the same kernels, so their timings compare. Its public fields (`filters`, `kernelSize`,
 * `strides`, `padding`, `dilationRate`) are those of `DeformConv2D`; registered for serialization as
 * `dcnv2-models>PlainConv2D`.
 */
import { deformConv2d } from '@dcnv2/tfjs';
import { relu, serialization, tidy, zeros, type Rank, type Tensor, type Tensor1D, type Tensor4D } from '@tensorflow/tfjs-core';
import { initializers, layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
type Kwargs = Parameters<InstanceType<typeof layers.Layer>['call']>[1];
type Initializer = ReturnType<typeof initializers.zeros>;

export interface PlainConv2DArgs extends LayerArgs {
  filters: number;
  /** Square kernel side. */
  kernelSize: number;
  /** Default 1. */
  strides?: number;
  /** 'same' (tfjs's: output ceil(size / stride), the odd pixel after) or 'valid'. Default 'same'. */
  padding?: 'same' | 'valid';
  /** Only 1 (kept in the config so that tools reading Conv2D-style configs find it). */
  dilationRate?: 1;
  /** 'linear' (default) or 'relu'. */
  activation?: 'linear' | 'relu';
  /** Default true. */
  useBias?: boolean;
  /** An initializer object or its serialized form; default glorotUniform (unseeded). */
  kernelInitializer?: Initializer | { className: string; config: serialization.ConfigDict };
}

function initializerFrom(v: PlainConv2DArgs['kernelInitializer']): Initializer {
  if (v === undefined) return initializers.glorotUniform({});
  if (v instanceof serialization.Serializable) return v as Initializer;
  const entry = serialization.SerializationMap.getMap().classNameMap[v.className];
  if (entry === undefined) throw new Error(`PlainConv2D: unknown initializer ${v.className}`);
  return entry[1](entry[0], v.config) as unknown as Initializer;
}

/** `[top, left, bottom, right]` of tfjs's 'same' (or zeros for 'valid'). */
export function samePads(size: number, k: number, s: number, padding: 'same' | 'valid'): [number, number] {
  if (padding === 'valid') return [0, 0];
  const total = Math.max(0, (Math.ceil(size / s) - 1) * s + k - size);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function convOutSize(size: number, k: number, s: number, padding: 'same' | 'valid'): number {
  const [a, b] = samePads(size, k, s, padding);
  return Math.floor((size + a + b - k) / s) + 1;
}

export class PlainConv2D extends layers.Layer {
  static className = 'PlainConv2D';

  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';
  readonly dilationRate: [number, number] = [1, 1];
  readonly activation: 'linear' | 'relu';
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;

  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;

  constructor(args: PlainConv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = [args.kernelSize, args.kernelSize];
    this.strides = [args.strides ?? 1, args.strides ?? 1];
    this.padding = args.padding ?? 'same';
    this.activation = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = initializerFrom(args.kernelInitializer);
    if (!Number.isInteger(this.filters) || this.filters < 1) throw new Error(`PlainConv2D: filters must be a positive integer, got ${String(args.filters)}`);
    if (this.activation !== 'linear' && this.activation !== 'relu') throw new Error(`PlainConv2D: activation must be 'linear' or 'relu'`);
    if (args.dilationRate !== undefined && args.dilationRate !== 1) throw new Error('PlainConv2D: dilationRate must be 1');
    if (this.padding !== 'same' && this.padding !== 'valid') throw new Error(`PlainConv2D: padding must be 'same' or 'valid'`);
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const cin = shape[3];
    if (typeof cin !== 'number') throw new Error('PlainConv2D: the input channels must be known');
    const k = this.kernelSize[0];
    this.kernel = this.addWeight('kernel', [k, k, cin, this.filters], 'float32', this.kernelInitializer, undefined, true);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', initializers.zeros(), undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const [k, s] = [this.kernelSize[0], this.strides[0]];
    const h = shape[1] === null ? null : convOutSize(shape[1]!, k, s, this.padding);
    const w = shape[2] === null ? null : convOutSize(shape[2]!, k, s, this.padding);
    return [shape[0]!, h, w, this.filters];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
      this.invokeCallHook(inputs, kwargs);
      const [k, s] = [this.kernelSize[0], this.strides[0]];
      const [t, b] = samePads(x.shape[1], k, s, this.padding);
      const [l, r] = samePads(x.shape[2], k, s, this.padding);
      const ho = convOutSize(x.shape[1], k, s, this.padding);
      const wo = convOutSize(x.shape[2], k, s, this.padding);
      const offset = zeros<Rank.R4>([x.shape[0], ho, wo, 2 * k * k]);
      const y = deformConv2d(
        { input: x, weight: this.kernel!.read() as Tensor4D, offset, bias: this.useBias ? (this.bias!.read() as Tensor1D) : null },
        { stride: [s, s], padding: [t, l, b, r], dataFormat: 'NHWC' },
      );
      return this.activation === 'relu' ? relu(y) : y;
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      filters: this.filters,
      kernelSize: this.kernelSize[0],
      strides: this.strides[0],
      padding: this.padding,
      dilationRate: 1,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: { className: this.kernelInitializer.getClassName(), config: this.kernelInitializer.getConfig() },
      ...super.getConfig(),
    };
  }
}

serialization.registerClass(PlainConv2D, 'dcnv2-models');
