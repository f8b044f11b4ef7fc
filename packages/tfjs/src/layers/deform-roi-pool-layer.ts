/**
 * `DeformRoiPool`: the modulated deformable RoI pooling module of DCNv2 (Dai et al. 2019, section 2.2)
 * as a tfjs-layers layer.
 */
import { ParamError } from '@dcnv2/core';
import { add, matMul, relu, reshape, serialization, sigmoid, slice, tidy, type Tensor, type Tensor2D, type Tensor4D } from '@tensorflow/tfjs-core';
import { layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { deformRoiPool } from '../ops.js';
import { dataFormatOf, finitePositive, initializerOf, nonNegativeInt, positiveInt, positivePair, serialize, type Initializer, type InitializerSpec, type LayerDataFormat } from './common.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
type Kwargs = Parameters<InstanceType<typeof layers.Layer>['call']>[1];

export interface DeformRoiPoolLayerArgs extends LayerArgs {
  /** Bins per RoI, `[ph, pw]` or one number for both. */
  outputSize: number | [number, number];
  /** Multiplies RoI coordinates to map them onto the feature map (1 / the feature stride). Default 1. */
  spatialScale?: number;
  /** Samples per bin along each axis; 0 = adaptive (ceil of the bin size). Default 0. */
  samplingRatio?: number;
  /** Offsets are in units of gamma times the RoI size. Default 0.1 (the paper's). */
  gamma?: number;
  /** Width of the two hidden fc layers of the offset / mask branch. Default 256 (the paper: 1024). */
  hiddenUnits?: number;
  /** Of the two hidden fc layers. Default 'glorotUniform'. (The last fc always starts at zero.) */
  kernelInitializer?: InitializerSpec;
  /** 'channelsLast' (default: features `[N, H, W, C]`, output `[R, ph, pw, C]`) or 'channelsFirst' (`[N, C, H, W]`, `[R, C, ph, pw]`). */
  dataFormat?: LayerDataFormat;
}

/**
 * Modulated deformable RoI pooling with its offset / mask branch. Inputs `[features, rois]`, rois
 * `[R, 5]` = (batch index, x1, y1, x2, y2) in image coordinates. Plain RoI pooling (deformRoiPool with no
 * offset) gives `[R, ph, pw, C]`; flattened, two fc layers of `hiddenUnits` with ReLU and an fc with
 * `3 * ph * pw` outputs (kernel and bias start at zero) predict normalised offsets (`2 * ph * pw`, x first,
 * in units of `gamma` times the RoI size) and masks (`ph * pw`, through a sigmoid: 0.5 at the start), which
 * a second, modulated deformable RoI pooling over the same features uses. At initialisation the output is
 * plain RoI pooling times 0.5.
 *
 * Weights: `fc1_kernel` `[ph*pw*C, hidden]`, `fc1_bias`, `fc2_kernel` `[hidden, hidden]`, `fc2_bias`,
 * `offset_kernel` `[hidden, 3*ph*pw]`, `offset_bias`. The RoIs get no gradient.
 *
 * In a functional model the features and the RoIs have different leading dimensions (N images, R RoIs);
 * `model.predict` slices every input by the first input's batch size, so run such a model with
 * `model.execute` / `model.apply` or `predict` with one RoI per image.
 */
export class DeformRoiPool extends layers.Layer {
  static className = 'DeformRoiPool';

  readonly outputSize: [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly gamma: number;
  readonly hiddenUnits: number;
  readonly dataFormat: LayerDataFormat;
  readonly kernelInitializer: Initializer;

  private fc1Kernel: LayerVariable | null = null;
  private fc1Bias: LayerVariable | null = null;
  private fc2Kernel: LayerVariable | null = null;
  private fc2Bias: LayerVariable | null = null;
  private offsetKernel: LayerVariable | null = null;
  private offsetBias: LayerVariable | null = null;

  constructor(args: DeformRoiPoolLayerArgs) {
    super(args);
    if (typeof args !== 'object' || args === null) throw new ParamError({ argument: 'DeformRoiPool args', expected: 'an object with outputSize', actual: args });
    this.outputSize = positivePair(args.outputSize, 'DeformRoiPool.outputSize');
    this.spatialScale = finitePositive(args.spatialScale ?? 1, 'DeformRoiPool.spatialScale');
    this.samplingRatio = nonNegativeInt(args.samplingRatio ?? 0, 'DeformRoiPool.samplingRatio');
    const gamma = args.gamma ?? 0.1;
    if (typeof gamma !== 'number' || !Number.isFinite(gamma)) throw new ParamError({ argument: 'DeformRoiPool.gamma', expected: 'a finite number', actual: gamma });
    this.gamma = gamma;
    this.hiddenUnits = positiveInt(args.hiddenUnits ?? 256, 'DeformRoiPool.hiddenUnits');
    this.dataFormat = dataFormatOf(args.dataFormat, 'DeformRoiPool.dataFormat');
    this.kernelInitializer = initializerOf(args.kernelInitializer, 'glorotUniform', 'DeformRoiPool.kernelInitializer');
  }

  private get bins(): number {
    return this.outputSize[0] * this.outputSize[1];
  }

  private shapesOf(inputShape: Shape | Shape[]): [Shape, Shape] {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new ParamError({ argument: 'DeformRoiPool inputs', expected: 'two: [features, rois]', actual: inputShape });
    }
    const [f, r] = inputShape as Shape[];
    if (f!.length !== 4) throw new ParamError({ argument: 'DeformRoiPool features shape', expected: 'rank 4', actual: f });
    if (r!.length !== 2 || (r![1] !== null && r![1] !== 5)) throw new ParamError({ argument: 'DeformRoiPool rois shape', expected: '[R, 5]', actual: r });
    return [f!, r!];
  }

  override build(inputShape: Shape | Shape[]): void {
    const [f] = this.shapesOf(inputShape);
    const c = f[this.dataFormat === 'channelsLast' ? 3 : 1];
    if (typeof c !== 'number') throw new ParamError({ argument: 'DeformRoiPool features shape', expected: 'a known channel dimension', actual: f });
    const hidden = this.hiddenUnits;
    const zero = initializerOf('zeros', 'zeros', 'bias initializer');
    this.fc1Kernel = this.addWeight('fc1_kernel', [this.bins * c, hidden], 'float32', this.kernelInitializer, undefined, true);
    this.fc1Bias = this.addWeight('fc1_bias', [hidden], 'float32', zero, undefined, true);
    this.fc2Kernel = this.addWeight('fc2_kernel', [hidden, hidden], 'float32', this.kernelInitializer, undefined, true);
    this.fc2Bias = this.addWeight('fc2_bias', [hidden], 'float32', zero, undefined, true);
    this.offsetKernel = this.addWeight('offset_kernel', [hidden, 3 * this.bins], 'float32', zero, undefined, true);
    this.offsetBias = this.addWeight('offset_bias', [3 * this.bins], 'float32', zero, undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [f, r] = this.shapesOf(inputShape);
    const [ph, pw] = this.outputSize;
    return this.dataFormat === 'channelsLast' ? [r[0]!, ph, pw, f[3]!] : [r[0]!, f[1]!, ph, pw];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) throw new ParamError({ argument: 'DeformRoiPool inputs', expected: 'two tensors: [features, rois]', actual: inputs });
      this.invokeCallHook(inputs, kwargs);
      const [features, rois] = inputs as [Tensor4D, Tensor2D];
      const last = this.dataFormat === 'channelsLast';
      const params = { outputSize: this.outputSize, spatialScale: this.spatialScale, samplingRatio: this.samplingRatio, gamma: this.gamma, dataFormat: last ? 'NHWC' : 'NCHW' } as const;
      const [ph, pw] = this.outputSize;
      const r = rois.shape[0];

      const pooled = deformRoiPool({ input: features, rois }, params);
      const flat = reshape(pooled, [r, -1]) as Tensor2D;
      const h1 = relu(add(matMul(flat, this.fc1Kernel!.read() as Tensor2D), this.fc1Bias!.read())) as Tensor2D;
      const h2 = relu(add(matMul(h1, this.fc2Kernel!.read() as Tensor2D), this.fc2Bias!.read())) as Tensor2D;
      const o = add(matMul(h2, this.offsetKernel!.read() as Tensor2D), this.offsetBias!.read()) as Tensor2D;
      const bins = this.bins;
      // Offsets: the first 2*bins outputs, per bin (x, y) in channelsLast, per channel then bin in channelsFirst.
      const offset = reshape(slice(o, [0, 0], [r, 2 * bins]), last ? [r, ph, pw, 2] : [r, 2, ph, pw]) as Tensor4D;
      const mask = reshape(sigmoid(slice(o, [0, 2 * bins], [r, bins])), last ? [r, ph, pw, 1] : [r, 1, ph, pw]) as Tensor4D;
      return deformRoiPool({ input: features, rois, offset, mask }, params);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      outputSize: [...this.outputSize],
      spatialScale: this.spatialScale,
      samplingRatio: this.samplingRatio,
      gamma: this.gamma,
      hiddenUnits: this.hiddenUnits,
      kernelInitializer: serialize(this.kernelInitializer),
      dataFormat: this.dataFormat,
      ...super.getConfig(),
    };
  }
}

serialization.registerClass(DeformRoiPool, 'dcnv2');

/** `new DeformRoiPool(args)`, in the style of `tf.layers.*`. */
export function deformRoiPoolLayer(args: DeformRoiPoolLayerArgs): DeformRoiPool {
  return new DeformRoiPool(args);
}
