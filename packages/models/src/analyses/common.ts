/**
 * What the three analyses share: the analysed node (a layer's output position and channel), the image
 * as a `[1, H, W, C]` tensor, the sub-model from the model's input to the node's layer, the node's
 * response and its gradient with respect to the image.
 *
 * The analyses differentiate through the model with `tf.grad`: the gradients of tfjs's own ops (conv2d,
 * relu, slice, ...) must be registered, which importing the union package `@tensorflow/tfjs` does
 * (tfjs-core alone does not). Only NHWC (`channelsLast`) models with one image input are analysed.
 */
import { grad, reshape, slice, sum, tensor4d, tidy, Tensor, type Tensor4D } from '@tensorflow/tfjs-core';
import { model as functionalModel, type LayersModel, type SymbolicTensor, type layers } from '@tensorflow/tfjs-layers';
import { OptionError } from '../errors.js';

type Layer = layers.Layer;

/** The analysed network node: the output of `layer` (name or index into `model.layers`) at (y, x). */
export interface AnalysisNode {
  /** The layer's name or its index in `model.layers`. */
  readonly layer: string | number;
  /** Output row, 0-based, in the layer's output. */
  readonly y: number;
  /** Output column. */
  readonly x: number;
  /** Output channel; omitted: the response is the sum over all channels at (y, x). */
  readonly channel?: number;
}

/** An image: a tf.Tensor `[H, W]`, `[H, W, C]` or `[1, H, W, C]`, or its values, row-major HWC. */
export type AnalysisImage = Tensor | { readonly data: ArrayLike<number>; readonly height: number; readonly width: number; readonly channels?: number };

/** A 4-D image tensor `[1, H, W, C]` (a new tensor the caller disposes). */
export function imageTensor(image: AnalysisImage): Tensor4D {
  if (image instanceof Tensor) {
    const s = image.shape;
    if (image.rank === 2) return reshape(image, [1, s[0]!, s[1]!, 1]) as Tensor4D;
    if (image.rank === 3) return reshape(image, [1, s[0]!, s[1]!, s[2]!]) as Tensor4D;
    if (image.rank === 4 && s[0] === 1) return image.clone() as Tensor4D;
    throw new OptionError(`image: expected a tensor [H, W], [H, W, C] or [1, H, W, C], got shape [${s.join(', ')}]`);
  }
  if (typeof image !== 'object' || image === null) throw new OptionError('image: expected a tf.Tensor or { data, height, width, channels? }');
  const c = image.channels ?? 1;
  for (const [k, v] of [['height', image.height], ['width', image.width], ['channels', c]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new OptionError(`image.${k}: expected a positive integer, got ${String(v)}`);
  }
  if (image.data.length !== image.height * image.width * c) {
    throw new OptionError(`image.data: expected ${image.height * image.width * c} values (height x width x channels), got ${image.data.length}`);
  }
  return tensor4d(Float32Array.from(image.data), [1, image.height, image.width, c]);
}

/** The layer a node names. */
export function layerOf(model: LayersModel, which: string | number): Layer {
  if (typeof which === 'number') {
    const l = model.layers[which];
    if (!Number.isInteger(which) || l === undefined) throw new OptionError(`node.layer: index ${which} is not one of the model's ${model.layers.length} layers`);
    return l;
  }
  try {
    return model.getLayer(which);
  } catch (e) {
    throw new OptionError(`node.layer: the model has no layer named '${which}'`, { cause: e });
  }
}

/** The symbolic input tensor of a layer's first call. */
export function symbolicInputOf(layer: Layer): SymbolicTensor {
  const node = layer.inboundNodes[0];
  if (node === undefined || node.inputTensors.length !== 1) throw new OptionError(`layer '${layer.name}': expected a layer called once on one input`);
  return node.inputTensors[0]!;
}

/** A model from `model`'s input to `outputs` (sharing its layers and weights). */
export function subModel(model: LayersModel, outputs: SymbolicTensor[]): LayersModel {
  if (model.inputs.length !== 1) throw new OptionError(`model: expected one input, it has ${model.inputs.length}`);
  return functionalModel({ inputs: model.inputs[0]!, outputs });
}

/**
 * The node's response as a function of the image: the layer's output at (y, x), channel `channel` (or
 * summed over channels), for the first item of the batch. Checks the node against the output's shape.
 */
export class NodeResponse {
  readonly layer: Layer;
  readonly model: LayersModel;

  constructor(model: LayersModel, readonly node: AnalysisNode) {
    this.layer = layerOf(model, node.layer);
    const out = this.layer.inboundNodes[0]?.outputTensors;
    if (out === undefined || out.length !== 1 || out[0]!.rank !== 4) throw new OptionError(`node.layer '${this.layer.name}': expected a layer with one rank-4 (NHWC) output`);
    this.model = subModel(model, [out[0]!]);
  }

  /** Checks (y, x, channel) against an output `[N, Ho, Wo, C]`. */
  check(shape: readonly number[]): void {
    const { y, x, channel } = this.node;
    const [, ho, wo, c] = shape as [number, number, number, number];
    if (!Number.isInteger(y) || y < 0 || y >= ho) throw new OptionError(`node.y: expected an integer in [0, ${ho}), got ${y}`);
    if (!Number.isInteger(x) || x < 0 || x >= wo) throw new OptionError(`node.x: expected an integer in [0, ${wo}), got ${x}`);
    if (channel !== undefined && (!Number.isInteger(channel) || channel < 0 || channel >= c)) throw new OptionError(`node.channel: expected an integer in [0, ${c}), got ${channel}`);
  }

  /** The scalar response for a `[1, H, W, C]` image (a tensor, differentiable). */
  scalar(image: Tensor4D): Tensor {
    const out = this.model.apply(image) as Tensor4D;
    this.check(out.shape);
    const { y, x, channel } = this.node;
    const c = out.shape[3];
    return sum(slice(out, [0, y, x, channel ?? 0], [1, 1, 1, channel === undefined ? c : 1]));
  }

  /** The responses of a batch `[B, H, W, C]` of images. */
  batch(images: Tensor4D): Float32Array {
    const out = this.model.predict(images) as Tensor4D;
    try {
      this.check(out.shape);
      const { y, x, channel } = this.node;
      const c = out.shape[3];
      return tidy(() => sum(slice(out, [0, y, x, channel ?? 0], [-1, 1, 1, channel === undefined ? c : 1]), [1, 2, 3]).dataSync() as Float32Array);
    } finally {
      out.dispose();
    }
  }

  /** The response and its gradient with respect to the image, `[H, W, C]` row-major. */
  gradient(image: Tensor4D): { response: number; gradient: Float32Array } {
    return tidy(() => {
      const r = this.scalar(image);
      const response = r.dataSync()[0]!;
      const g = grad((img: Tensor) => this.scalar(img as Tensor4D))(image);
      return { response, gradient: g.dataSync() as Float32Array };
    });
  }
}
