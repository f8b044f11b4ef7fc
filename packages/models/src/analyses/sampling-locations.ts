/**
 * Effective sampling locations (DCNv2 section 2.1 and Figure 1 top row; DCNv1's figure of sampling
 * points): where in the image a node reads, composed through the stacked (deformable and regular)
 * convolution and pooling layers below it, each location weighted by the node's gradient there.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor, layers } from '@tensorflow/tfjs-layers';
import { OptionError } from '../errors.js';
import { imageTensor, NodeResponse, subModel, symbolicInputOf, type AnalysisImage, type AnalysisNode } from './common.js';
import { reduceChannels } from './erf.js';

type Layer = layers.Layer;
type Pads = [number, number, number, number];

/** One location: image pixel coordinates (pixel (row i, column j) is at y = i, x = j; fractional between). */
export interface SamplingPoint {
  readonly x: number;
  readonly y: number;
  /** `mask * gradient`: what the renderer sizes and colours the dot by. */
  readonly weight: number;
  /**
   * Summed over the paths that reach this location: the product along the path of the masks of the taps
   * taken (1 for regular convolutions, pooling and DCNv1), times, with `interpolation: 'bilinear'`, the
   * bilinear factors of the neighbours taken.
   */
  readonly mask: number;
  /** `sum over channels |d(response) / d(image)|` at this location (bilinearly interpolated at fractional ones, 0 outside the image). */
  readonly gradient: number;
  /** How many tap paths reach this location. */
  readonly paths: number;
}

/** The locations after one layer, in that layer's input coordinates. */
export interface SamplingLevel {
  /** The layer whose taps produced these locations. */
  readonly layer: string;
  /** The size of that layer's input. */
  readonly height: number;
  readonly width: number;
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number; readonly mask: number; readonly paths: number }>;
}

export interface SamplingLocationsOptions {
  /**
   * 'fractional' (default): a location keeps its fractional position through the layers below (where a
   * layer's offsets and masks are needed at a fractional position, they are bilinearly interpolated from
   * its predicted fields, clamped at the borders); locations whose bilinear read would be all zeros
   * (outside (-1, H) x (-1, W)) are dropped. 'bilinear': each location is replaced by its (up to 4)
   * integer neighbours inside the map, with their bilinear factors multiplied into `mask`.
   */
  readonly interpolation?: 'fractional' | 'bilinear';
  /** Most locations a level may expand to before identical ones are merged. Default 1 000 000. */
  readonly maxPoints?: number;
}

export interface SamplingLocationsResult {
  /** The locations in the image, merged where they coincide exactly. */
  readonly points: SamplingPoint[];
  /** Image size. */
  readonly height: number;
  readonly width: number;
  /** The node's response. */
  readonly response: number;
  /** From the node's layer down to the image: the locations after each spatial layer. */
  readonly levels: SamplingLevel[];
}

/** A layer's spatial sampling: its taps' displacement (offsets and masks per output position for DeformConv2D). */
interface Spatial {
  readonly name: string;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly pads: Pads;
  readonly inH: number;
  readonly inW: number;
  /** DeformConv2D: [Ho, Wo, 2*og*K] offsets, [Ho, Wo, og*K] masks (null: DCNv1), og. */
  readonly deform?: { offset: Float32Array; mask: Float32Array | null; og: number; ho: number; wo: number };
}

/** Layers that act on each position alone: they pass a location through unchanged. */
const POINTWISE = new Set([
  'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax', 'BatchNormalization', 'LayerNormalization',
  'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout',
]);
// PlainConv2D: @dcnv2/models' regular convolution on dcnv2's kernels (its config has Conv2D's fields).
const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'PlainConv2D']);
const POOLS = new Set(['MaxPooling2D', 'AveragePooling2D']);

const pair = (v: unknown, dflt: number): [number, number] => (v === undefined || v === null ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [(v as number[])[0]!, (v as number[])[1]!]);

/** tfjs's 'same' / 'valid' padding, [top, left, bottom, right]. */
function tfjsPads(padding: unknown, inH: number, inW: number, k: [number, number], s: [number, number], d: [number, number], name: string): Pads {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') throw new OptionError(`layer '${name}': padding ${String(padding)} is not supported (only 'same' and 'valid')`);
  const along = (size: number, i: 0 | 1) => Math.max(0, (Math.ceil(size / s[i]) - 1) * s[i] + d[i] * (k[i] - 1) + 1 - size);
  const ph = along(inH, 0);
  const pw = along(inW, 1);
  return [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)];
}

/** The layers from the node's layer down to the model's input, all of one input; spatial or pointwise. */
function chainOf(model: LayersModel, top: Layer): Layer[] {
  const input = model.inputs[0]!;
  const chain: Layer[] = [];
  let layer = top;
  for (;;) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') break;
    if (cls !== 'DeformConv2D' && !CONVS.has(cls) && !POOLS.has(cls) && !POINTWISE.has(cls)) {
      throw new OptionError(`layer '${layer.name}' (${cls}): sampling locations compose only convolutions (DeformConv2D, Conv2D, DepthwiseConv2D, SeparableConv2D, PlainConv2D), pooling and per-position layers`);
    }
    const fmt = (layer.getConfig() as { dataFormat?: string }).dataFormat;
    if (fmt !== undefined && fmt !== 'channelsLast') throw new OptionError(`layer '${layer.name}': only channelsLast (NHWC) layers are analysed`);
    chain.push(layer);
    const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
    if (inbound.length !== 1) throw new OptionError(`layer '${layer.name}': sampling locations need a chain of single-input layers down to the image`);
    if (symbolicInputOf(layer) === input) break;
    layer = inbound[0]!;
  }
  return chain;
}

/** The spatial description of each spatial layer in the chain, top first, from one forward pass. */
function spatialsOf(model: LayersModel, chain: Layer[], img: Tensor4D): Spatial[] {
  const input = model.inputs[0]!;
  const spatial = chain.filter((l) => !POINTWISE.has(l.getClassName()));
  const symbolic = spatial.map(symbolicInputOf);
  const inner = symbolic.map((s, i) => [s, i] as const).filter(([s]) => s !== input);
  const values: Tensor[] = [];
  if (inner.length > 0) {
    const out = subModel(model, inner.map(([s]) => s as SymbolicTensor)).predict(img);
    values.push(...(Array.isArray(out) ? out : [out as Tensor]));
  }
  const inputOf = new Map<number, Tensor4D>(inner.map(([, i], j) => [i, values[j] as Tensor4D]));
  try {
    return spatial.map((layer, i): Spatial => {
      const x = inputOf.get(i) ?? img;
      const [, inH, inW] = x.shape as [number, number, number, number];
      const cls = layer.getClassName();
      const cfg = layer.getConfig() as Record<string, unknown>;
      if (cls === 'DeformConv2D') {
        const l = layer as unknown as {
          kernelSize: [number, number]; strides: [number, number]; dilationRate: [number, number]; offsetGroups: number;
          offsetsAndMasks(x: Tensor): { offset: Tensor4D; mask: Tensor4D | null; padding: Pads; outputSize: [number, number] };
        };
        if (typeof l.offsetsAndMasks !== 'function') throw new OptionError(`layer '${layer.name}': a DeformConv2D without offsetsAndMasks (an older @dcnv2/tfjs)`);
        const r = l.offsetsAndMasks(x);
        const deform = { offset: r.offset.dataSync() as Float32Array, mask: r.mask ? (r.mask.dataSync() as Float32Array) : null, og: l.offsetGroups, ho: r.outputSize[0], wo: r.outputSize[1] };
        r.offset.dispose();
        r.mask?.dispose();
        return { name: layer.name, kernel: l.kernelSize, stride: l.strides, dilation: l.dilationRate, pads: r.padding, inH, inW, deform };
      }
      const kernel = pair(CONVS.has(cls) ? cfg.kernelSize : cfg.poolSize, 1);
      const stride = pair(cfg.strides ?? (POOLS.has(cls) ? kernel : 1), 1);
      const dilation = pair(CONVS.has(cls) ? cfg.dilationRate : 1, 1);
      return { name: layer.name, kernel, stride, dilation, pads: tfjsPads(cfg.padding, inH, inW, kernel, stride, dilation, layer.name), inH, inW };
    });
  } finally {
    for (const v of values) v.dispose();
  }
}

/** Bilinear interpolation of channel `c` of an [H, W, C] field at (y, x), clamped to the field. */
function sampleClamped(field: Float32Array, h: number, w: number, channels: number, c: number, y: number, x: number): number {
  y = Math.min(Math.max(y, 0), h - 1);
  x = Math.min(Math.max(x, 0), w - 1);
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const y1 = Math.min(y0 + 1, h - 1);
  const x1 = Math.min(x0 + 1, w - 1);
  const fy = y - y0;
  const fx = x - x0;
  const at = (yy: number, xx: number) => field[(yy * w + xx) * channels + c]!;
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
}

/** Bilinear interpolation of an [H, W] map at (y, x), zero outside (as the deformable sampling reads). */
function sampleZero(map: Float32Array, h: number, w: number, y: number, x: number): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  let s = 0;
  for (const [yy, fy] of [[y0, 1 - (y - y0)], [y0 + 1, y - y0]] as const) {
    for (const [xx, fx] of [[x0, 1 - (x - x0)], [x0 + 1, x - x0]] as const) {
      if (fy === 0 || fx === 0 || yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      s += fy * fx * map[yy * w + xx]!;
    }
  }
  return s;
}

interface Loc { y: number; x: number; mask: number; paths: number }

/** Adds a location, merging exact duplicates. */
function put(into: Map<string, Loc>, y: number, x: number, mask: number, paths: number): void {
  const key = `${y},${x}`;
  const e = into.get(key);
  if (e) {
    e.mask += mask;
    e.paths += paths;
  } else into.set(key, { y, x, mask, paths });
}

/**
 * The effective sampling locations of `node` on `image`. From the node's output position, each tap
 * (i, j) of its layer samples that layer's input at `(y*sh - top + i*dh + dy, x*sw - left + j*dw + dx)`
 * (for DeformConv2D, (dy, dx) and the mask m are what its offset branch predicts at that position, per
 * offset group; for Conv2D and pooling dy = dx = 0, m = 1); each such location is a position in the
 * output of the layer below and expands through it the same way (pointwise layers pass it through),
 * down to image pixel coordinates. See `SamplingPoint` for what each location carries: `mask` is the
 * product of the masks along a path (summed over coinciding paths), `gradient` the node's
 * `sum_c |d response / d image|` at the location, `weight = mask * gradient`.
 */
export function effectiveSamplingLocations(model: LayersModel, image: AnalysisImage, node: AnalysisNode, options: SamplingLocationsOptions = {}): SamplingLocationsResult {
  const mode = options.interpolation ?? 'fractional';
  if (mode !== 'fractional' && mode !== 'bilinear') throw new OptionError(`interpolation: expected 'fractional' or 'bilinear', got ${String(mode)}`);
  const maxPoints = options.maxPoints ?? 1_000_000;
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new OptionError(`maxPoints: expected a positive integer, got ${maxPoints}`);
  const img = imageTensor(image);
  try {
    const [, height, width, channels] = img.shape;
    const nr = new NodeResponse(model, node);
    const { response, gradient } = nr.gradient(img); // also checks the node's position
    const gmap = reduceChannels(gradient, height * width, channels, 'abs');
    const spatials = spatialsOf(model, chainOf(model, nr.layer), img);

    let locs: Loc[] = [{ y: node.y, x: node.x, mask: 1, paths: 1 }];
    const levels: SamplingLevel[] = [];
    for (const s of spatials) {
      const [kh, kw] = s.kernel;
      const og = s.deform?.og ?? 1;
      if (locs.length * og * kh * kw * (mode === 'bilinear' ? 4 : 1) > maxPoints) {
        throw new OptionError(`maxPoints: layer '${s.name}' would expand ${locs.length} locations to more than ${maxPoints}; raise maxPoints or analyse a lower layer`);
      }
      const next = new Map<string, Loc>();
      for (const p of locs) {
        const baseY = p.y * s.stride[0] - s.pads[0];
        const baseX = p.x * s.stride[1] - s.pads[1];
        for (let g = 0; g < og; g++) {
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) {
              const k = (g * kh + i) * kw + j;
              let dy = 0;
              let dx = 0;
              let m = 1;
              const d = s.deform;
              if (d) {
                dy = sampleClamped(d.offset, d.ho, d.wo, 2 * og * kh * kw, 2 * k, p.y, p.x);
                dx = sampleClamped(d.offset, d.ho, d.wo, 2 * og * kh * kw, 2 * k + 1, p.y, p.x);
                if (d.mask) m = sampleClamped(d.mask, d.ho, d.wo, og * kh * kw, k, p.y, p.x);
              }
              const y = baseY + i * s.dilation[0] + dy;
              const x = baseX + j * s.dilation[1] + dx;
              if (mode === 'fractional') {
                if (y > -1 && y < s.inH && x > -1 && x < s.inW) put(next, y, x, p.mask * m, p.paths);
                continue;
              }
              const y0 = Math.floor(y);
              const x0 = Math.floor(x);
              for (const [yy, fy] of [[y0, 1 - (y - y0)], [y0 + 1, y - y0]] as const) {
                for (const [xx, fx] of [[x0, 1 - (x - x0)], [x0 + 1, x - x0]] as const) {
                  if (fy === 0 || fx === 0 || yy < 0 || yy >= s.inH || xx < 0 || xx >= s.inW) continue;
                  put(next, yy, xx, p.mask * m * fy * fx, p.paths);
                }
              }
            }
          }
        }
      }
      locs = [...next.values()];
      levels.push({ layer: s.name, height: s.inH, width: s.inW, points: locs.map((l) => ({ x: l.x, y: l.y, mask: l.mask, paths: l.paths })) });
    }
    const points = locs.map((l): SamplingPoint => {
      const gr = sampleZero(gmap, height, width, l.y, l.x);
      return { x: l.x, y: l.y, weight: l.mask * gr, mask: l.mask, gradient: gr, paths: l.paths };
    });
    return { points, height, width, response, levels };
  } finally {
    img.dispose();
  }
}
