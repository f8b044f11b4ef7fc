/**
 * Effective receptive field (DCNv2 section 2.1, Figure 1 middle row): the gradient of a node's response
 * with respect to every image pixel.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { OptionError } from '../errors.js';
import { imageTensor, NodeResponse, type AnalysisImage, type AnalysisNode } from './common.js';

export interface ErfOptions {
  /**
   * How an image with C > 1 channels becomes one value per pixel: 'sum' (default) sums the gradient over
   * channels (for C = 1, the gradient itself, signed); 'abs' sums the absolute values.
   */
  readonly channelReduce?: 'sum' | 'abs';
  /**
   * 'none' (default): the gradient as it is; 'max': divided by the largest absolute value (so in
   * [-1, 1]); 'sum': divided by the sum of absolute values (so the absolute values sum to 1). An
   * all-zero map stays zero.
   */
  readonly normalize?: 'none' | 'max' | 'sum';
}

export interface ErfResult {
  /** H x W, row-major: d(response)/d(pixel), reduced over channels and normalised as asked. */
  readonly heatmap: Float32Array;
  readonly height: number;
  readonly width: number;
  /** The node's response on the image. */
  readonly response: number;
  /** The largest absolute value of the map before normalisation. */
  readonly maxAbs: number;
  /** The sum of absolute values before normalisation. */
  readonly sumAbs: number;
}

/**
 * The effective receptive field of `node` on `image`: `tf.grad` of the node's response (the layer's
 * output at (y, x), channel `node.channel` or summed over channels) with respect to the input image,
 * reduced over the image's channels. Plain data; `renderErf` draws it.
 */
export function effectiveReceptiveField(model: LayersModel, image: AnalysisImage, node: AnalysisNode, options: ErfOptions = {}): ErfResult {
  const reduce = options.channelReduce ?? 'sum';
  const normalize = options.normalize ?? 'none';
  if (reduce !== 'sum' && reduce !== 'abs') throw new OptionError(`channelReduce: expected 'sum' or 'abs', got ${String(reduce)}`);
  if (normalize !== 'none' && normalize !== 'max' && normalize !== 'sum') throw new OptionError(`normalize: expected 'none', 'max' or 'sum', got ${String(normalize)}`);
  const img = imageTensor(image);
  try {
    const [, height, width, channels] = img.shape;
    const { response, gradient } = new NodeResponse(model, node).gradient(img);
    const heatmap = reduceChannels(gradient, height * width, channels, reduce);
    let maxAbs = 0;
    let sumAbs = 0;
    for (const v of heatmap) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      sumAbs += Math.abs(v);
    }
    const d = normalize === 'max' ? maxAbs : normalize === 'sum' ? sumAbs : 1;
    if (d !== 1 && d > 0) for (let i = 0; i < heatmap.length; i++) heatmap[i] = heatmap[i]! / d;
    return { heatmap, height, width, response, maxAbs, sumAbs };
  } finally {
    img.dispose();
  }
}

/** Per-pixel sum (or sum of absolute values) over `channels` of an HWC array. */
export function reduceChannels(hwc: Float32Array, pixels: number, channels: number, reduce: 'sum' | 'abs'): Float32Array {
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) {
      const v = hwc[p * channels + c]!;
      s += reduce === 'abs' ? Math.abs(v) : v;
    }
    out[p] = s;
  }
  return out;
}
