/**
 * The float64 oracle of modulated deformable convolution (DCNv2): direct loops, no tiling, no im2col
 * tricks, written to be read and checked against torchvision's CPU kernels line by line rather than to
 * be fast. Every suite's expectations come from here or from torchvision's golden vectors, so it shares
 * no code with any backend.
 *
 * Semantics (torchvision.ops.deform_conv2d == ONNX DeformConv opset 19):
 * - tap (i, j) of output (oy, ox) samples y = oy*sh - padTop + i*dh + dy, x = ox*sw - padLeft + j*dw + dx;
 * - dy is offset channel ((g*kh + i)*kw + j)*2, dx the next one; the mask channel is (g*kh + i)*kw + j;
 *   input channel c uses offset group g = floor(c / (Cin / offsetGroups));
 * - bilinear interpolation with floor-based corners y0 = floor(y), y0 + 1 (likewise x); a corner outside the
 *   unpadded image reads 0, and a sample with y <= -1, y >= H, x <= -1 or x >= W is 0 (torchvision's
 *   bilinear_interpolate returns early);
 * - the coordinate derivative (torchvision's get_coordinate_weight) has no such early return: it is the
 *   floor-based one-sided difference of the four corners, outside corners reading 0. So it is 0 for
 *   y < -1 or y >= H (both rows outside), and at exactly y = -1 it is v[0] - 0, not 0 (the golden vectors
 *   confirm this; mmcv's kernel differs there). At integer coordinates it follows floor(): v[y0+1] - v[y0].
 */
import type { ConvGeometry } from '@dcnv2/core';

/** Any array of numbers: Float32Array inputs, or Float64Array for finite differences. */
export type Values = ArrayLike<number>;

export interface ConvTensors {
  /** `[N, Cin, H, W]` */
  readonly input: Values;
  /** `[Cout, Cin/groups, kh, kw]` */
  readonly weight: Values;
  /** `[N, 2*offsetGroups*kh*kw, Ho, Wo]` */
  readonly offset: Values;
  /** `[N, offsetGroups*kh*kw, Ho, Wo]`, or null for DCNv1 (mask 1). */
  readonly mask: Values | null;
  /** `[Cout]`, or null for no bias. */
  readonly bias: Values | null;
}

/** Gradients of L = sum(output * gradOutput); mask and bias are null where those inputs are. */
export interface ConvGradsF64 {
  readonly input: Float64Array;
  readonly offset: Float64Array;
  readonly mask: Float64Array | null;
  readonly weight: Float64Array;
  readonly bias: Float64Array | null;
}

/** True when torchvision treats the sample as entirely outside: value 0, coordinate gradient 0. */
function outsideImage(y: number, x: number, H: number, W: number): boolean {
  return y <= -1 || y >= H || x <= -1 || x >= W;
}

/** Pixel (y, x) of the plane starting at `base`, or 0 outside the unpadded image (padding is virtual zeros). */
function pixel(v: Values, base: number, H: number, W: number, y: number, x: number): number {
  return y >= 0 && y < H && x >= 0 && x < W ? v[base + y * W + x] : 0;
}

/** The floor-based corners of (y, x) and the fractions: outside corners read 0. */
function corners(v: Values, base: number, H: number, W: number, y: number, x: number) {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  return {
    ly: y - y0,
    lx: x - x0,
    v00: pixel(v, base, H, W, y0, x0),
    v01: pixel(v, base, H, W, y0, x0 + 1),
    v10: pixel(v, base, H, W, y0 + 1, x0),
    v11: pixel(v, base, H, W, y0 + 1, x0 + 1),
  };
}

/**
 * Bilinear sample of one channel plane. Every corner inside the image is read, even one whose weight is 0,
 * as torchvision does, so a NaN there propagates exactly as it does in torchvision.
 */
export function bilinear(v: Values, base: number, H: number, W: number, y: number, x: number): number {
  if (outsideImage(y, x, H, W)) return 0;
  const { ly, lx, v00, v01, v10, v11 } = corners(v, base, H, W, y, x);
  return (1 - ly) * (1 - lx) * v00 + (1 - ly) * lx * v01 + ly * (1 - lx) * v10 + ly * lx * v11;
}

/**
 * d(value)/dy and d(value)/dx as torchvision's get_coordinate_weight computes them: floor-based corners,
 * outside corners 0, and deliberately no early return (see the header: non-zero at exactly y = -1).
 */
export function bilinearGradient(v: Values, base: number, H: number, W: number, y: number, x: number): [number, number] {
  const { ly, lx, v00, v01, v10, v11 } = corners(v, base, H, W, y, x);
  const dVdy = (1 - lx) * (v10 - v00) + lx * (v11 - v01);
  const dVdx = (1 - ly) * (v01 - v00) + ly * (v11 - v10);
  return [dVdy, dVdx];
}

/**
 * Adjoint of `bilinear`: adds `amount` times each corner's weight into the corners inside the image that
 * lie closer than one pixel on both axes (torchvision's col2im rule `|y - yp| < 1 && |x - xp| < 1`). That
 * is the adjoint exactly; it only matters for non-finite values: at an integer coordinate the far corner
 * (weight 0) is skipped rather than receiving NaN * 0.
 */
function scatterBilinear(grad: Float64Array, base: number, H: number, W: number, y: number, x: number, amount: number): void {
  if (outsideImage(y, x, H, W)) return;
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const ly = y - y0;
  const lx = x - x0;
  const corners: [number, number, number][] = [
    [y0, x0, (1 - ly) * (1 - lx)],
    [y0, x0 + 1, (1 - ly) * lx],
    [y0 + 1, x0, ly * (1 - lx)],
    [y0 + 1, x0 + 1, ly * lx],
  ];
  for (const [cy, cx, w] of corners) {
    if (cy >= 0 && cy < H && cx >= 0 && cx < W && Math.abs(y - cy) < 1 && Math.abs(x - cx) < 1) grad[base + cy * W + cx] += amount * w;
  }
}

/** One sampling point: which input channel, tap and output pixel, where it samples and with which mask. */
interface Sample {
  readonly n: number;
  readonly c: number;
  /** Flat indices of this sample's dy, dx and mask values in the offset and mask tensors. */
  readonly offsetIndexY: number;
  readonly offsetIndexX: number;
  readonly maskIndex: number;
  /** Index into the column tensor [N, Cin, kh*kw, Ho*Wo]. */
  readonly colIndex: number;
  readonly y: number;
  readonly x: number;
  readonly m: number;
}

/**
 * Visits every (n, input channel, tap, output pixel) sample once: the single place where offsets, masks,
 * offset groups and the sampling position are decoded, shared by forward and backward.
 */
function forEachSample(g: ConvGeometry, t: ConvTensors, visit: (s: Sample) => void): void {
  const taps = g.kernelH * g.kernelW;
  const P = g.outHeight * g.outWidth;
  const channelsPerOffsetGroup = g.inChannels / g.offsetGroups;
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.inChannels; c++) {
      const og = Math.floor(c / channelsPerOffsetGroup);
      for (let i = 0; i < g.kernelH; i++) {
        for (let j = 0; j < g.kernelW; j++) {
          const tap = i * g.kernelW + j;
          const slot = og * taps + tap;
          for (let oy = 0; oy < g.outHeight; oy++) {
            for (let ox = 0; ox < g.outWidth; ox++) {
              const p = oy * g.outWidth + ox;
              const offsetIndexY = ((n * g.offsetGroups * taps + slot) * 2 + 0) * P + p;
              const offsetIndexX = ((n * g.offsetGroups * taps + slot) * 2 + 1) * P + p;
              const maskIndex = (n * g.offsetGroups * taps + slot) * P + p;
              const y = oy * g.strideH - g.padTop + i * g.dilationH + t.offset[offsetIndexY];
              const x = ox * g.strideW - g.padLeft + j * g.dilationW + t.offset[offsetIndexX];
              const m = t.mask === null ? 1 : t.mask[maskIndex];
              const colIndex = ((n * g.inChannels + c) * taps + tap) * P + p;
              visit({ n, c, offsetIndexY, offsetIndexX, maskIndex, colIndex, y, x, m });
            }
          }
        }
      }
    }
  }
}

/** Modulated samples m * v, laid out [N, Cin, kh*kw, Ho*Wo] (the "columns" the weights contract with). */
function modulatedColumns(g: ConvGeometry, t: ConvTensors): Float64Array {
  const cols = new Float64Array(g.batch * g.inChannels * g.kernelH * g.kernelW * g.outHeight * g.outWidth);
  const plane = g.inHeight * g.inWidth;
  forEachSample(g, t, (s) => {
    cols[s.colIndex] = s.m * bilinear(t.input, (s.n * g.inChannels + s.c) * plane, g.inHeight, g.inWidth, s.y, s.x);
  });
  return cols;
}

/** Forward pass: `[N, Cout, Ho, Wo]` in float64. */
export function deformConv2dF64(g: ConvGeometry, t: ConvTensors): Float64Array {
  const taps = g.kernelH * g.kernelW;
  const P = g.outHeight * g.outWidth;
  const cinPerGroup = g.inChannels / g.groups;
  const coutPerGroup = g.outChannels / g.groups;
  const cols = modulatedColumns(g, t);
  const out = new Float64Array(g.batch * g.outChannels * P);
  for (let n = 0; n < g.batch; n++) {
    for (let co = 0; co < g.outChannels; co++) {
      const group = Math.floor(co / coutPerGroup);
      for (let p = 0; p < P; p++) {
        let acc = 0;
        for (let cl = 0; cl < cinPerGroup; cl++) {
          const c = group * cinPerGroup + cl;
          for (let tap = 0; tap < taps; tap++) {
            acc += t.weight[(co * cinPerGroup + cl) * taps + tap] * cols[((n * g.inChannels + c) * taps + tap) * P + p];
          }
        }
        out[(n * g.outChannels + co) * P + p] = acc + (t.bias === null ? 0 : t.bias[co]);
      }
    }
  }
  return out;
}

/** Backward pass: every gradient of L = sum(output * gradOutput), in float64. */
export function deformConv2dBackwardF64(g: ConvGeometry, t: ConvTensors, gradOutput: Values): ConvGradsF64 {
  const taps = g.kernelH * g.kernelW;
  const P = g.outHeight * g.outWidth;
  const plane = g.inHeight * g.inWidth;
  const cinPerGroup = g.inChannels / g.groups;
  const coutPerGroup = g.outChannels / g.groups;
  const cols = modulatedColumns(g, t);

  // dL/d(column) = sum over the output channels of the column's group of weight * gradOutput.
  const gradCols = new Float64Array(cols.length);
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.inChannels; c++) {
      const group = Math.floor(c / cinPerGroup);
      const cl = c - group * cinPerGroup;
      for (let tap = 0; tap < taps; tap++) {
        for (let p = 0; p < P; p++) {
          let acc = 0;
          for (let k = 0; k < coutPerGroup; k++) {
            const co = group * coutPerGroup + k;
            acc += t.weight[(co * cinPerGroup + cl) * taps + tap] * gradOutput[(n * g.outChannels + co) * P + p];
          }
          gradCols[((n * g.inChannels + c) * taps + tap) * P + p] = acc;
        }
      }
    }
  }

  const gradWeight = new Float64Array(g.outChannels * cinPerGroup * taps);
  for (let co = 0; co < g.outChannels; co++) {
    const group = Math.floor(co / coutPerGroup);
    for (let cl = 0; cl < cinPerGroup; cl++) {
      const c = group * cinPerGroup + cl;
      for (let tap = 0; tap < taps; tap++) {
        let acc = 0;
        for (let n = 0; n < g.batch; n++) {
          for (let p = 0; p < P; p++) {
            acc += gradOutput[(n * g.outChannels + co) * P + p] * cols[((n * g.inChannels + c) * taps + tap) * P + p];
          }
        }
        gradWeight[(co * cinPerGroup + cl) * taps + tap] = acc;
      }
    }
  }

  let gradBias: Float64Array | null = null;
  if (t.bias !== null) {
    gradBias = new Float64Array(g.outChannels);
    for (let n = 0; n < g.batch; n++) {
      for (let co = 0; co < g.outChannels; co++) {
        for (let p = 0; p < P; p++) gradBias[co] += gradOutput[(n * g.outChannels + co) * P + p];
      }
    }
  }

  const gradInput = new Float64Array(g.batch * g.inChannels * plane);
  const gradOffset = new Float64Array(t.offset.length);
  const gradMask = t.mask === null ? null : new Float64Array(t.mask.length);
  forEachSample(g, t, (s) => {
    const base = (s.n * g.inChannels + s.c) * plane;
    const gc = gradCols[s.colIndex];
    scatterBilinear(gradInput, base, g.inHeight, g.inWidth, s.y, s.x, s.m * gc);
    const [dVdy, dVdx] = bilinearGradient(t.input, base, g.inHeight, g.inWidth, s.y, s.x);
    gradOffset[s.offsetIndexY] += s.m * gc * dVdy;
    gradOffset[s.offsetIndexX] += s.m * gc * dVdx;
    if (gradMask !== null) gradMask[s.maskIndex] += gc * bilinear(t.input, base, g.inHeight, g.inWidth, s.y, s.x);
  });

  return { input: gradInput, offset: gradOffset, mask: gradMask, weight: gradWeight, bias: gradBias };
}
