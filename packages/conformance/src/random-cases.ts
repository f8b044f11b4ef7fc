/**
 * Seeded random convolution problems for the fuzz, cross, onnx and gradcheck suites: configurations that
 * reach the corners kernels get wrong (empty batches, 1-pixel images, images smaller than the kernel,
 * rectangular kernels, asymmetric pads, groups and offset groups, exact-integer and far-away offsets),
 * kept small enough that the float64 reference evaluates hundreds of them in seconds.
 */
import { convOutSize, convShapes, type ConvGeometry } from '@dcnv2/core';
import type { ConvCase } from './conv-case.js';
import type { Rng } from './random.js';
import { elementCount } from './tensor-ops.js';

/** Everything of a geometry except the output size, which follows from the rest. */
export type ConvSpec = Omit<ConvGeometry, 'outHeight' | 'outWidth'>;

/** Completes a spec into a geometry; throws when the output would be empty. */
export function makeGeometry(s: ConvSpec): ConvGeometry {
  const outHeight = convOutSize(s.inHeight, s.padTop, s.padBottom, s.kernelH, s.strideH, s.dilationH);
  const outWidth = convOutSize(s.inWidth, s.padLeft, s.padRight, s.kernelW, s.strideW, s.dilationW);
  if (outHeight < 1 || outWidth < 1) throw new Error(`empty output ${outHeight}x${outWidth}`);
  return { ...s, outHeight, outWidth };
}

export type OffsetStyle =
  /** Mixed magnitudes: normals of several scales, exact integers, zeros, and far outside the image. */
  | 'mixed'
  /** Small and at least 0.05 away from integer coordinates, where the op is smooth (finite differences). */
  | 'smooth';

export type MaskKind = 'sigmoid' | 'raw' | 'none' | 'ones';

export interface CaseDataOptions {
  readonly offsets?: OffsetStyle;
  /** Overrides the geometry's hasMask: which mask to draw (default: the geometry decides, sigmoid). */
  readonly mask?: MaskKind;
}

/**
 * Moves a non-integer value at least `margin` away from the nearest integer (integers stay exact).
 * A sample position is integer + offset, so this keeps floor() of it the same whether a kernel adds in
 * float32 or float64: otherwise a float32 rounding could cross an integer and legitimately flip the
 * one-sided coordinate gradient, which the comparison would blame on the backend.
 */
export function awayFromIntegers(v: number, margin: number): number {
  if (Number.isInteger(v)) return v;
  const fl = Math.floor(v);
  const frac = v - fl;
  return fl + Math.min(Math.max(frac, margin), 1 - margin);
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function drawOffsets(rng: Rng, g: ConvGeometry, n: number, style: OffsetStyle): Float32Array {
  const out = new Float32Array(n);
  if (style === 'smooth') {
    for (let i = 0; i < n; i++) out[i] = awayFromIntegers(rng.uniform(-2, 2), 0.05);
    return out;
  }
  // One mixture per case, so some cases are all-integer or mostly outside and others are all smooth.
  const profile = rng.pick([
    { normal: 1, int: 0, far: 0, zero: 0 },
    { normal: 0.6, int: 0.3, far: 0.1, zero: 0 },
    { normal: 0, int: 1, far: 0, zero: 0 },
    { normal: 0.5, int: 0, far: 0.5, zero: 0 },
    { normal: 0.4, int: 0.2, far: 0.2, zero: 0.2 },
  ]);
  const sigma = rng.pick([0.5, 1.5, 3]);
  const extent = Math.max(g.inHeight, g.inWidth) + Math.max(g.dilationH * g.kernelH, g.dilationW * g.kernelW) + g.padTop + g.padLeft;
  for (let i = 0; i < n; i++) {
    let u = rng.next();
    let v: number;
    if ((u -= profile.normal) < 0) v = awayFromIntegers(Math.fround(sigma * rng.normal()), 1e-3);
    else if ((u -= profile.int) < 0) v = rng.int(-3, 3);
    else if ((u -= profile.far) < 0) v = (rng.chance(0.5) ? -1 : 1) * (extent + rng.uniform(1, 40));
    else v = 0;
    out[i] = v;
  }
  return out;
}

function drawMask(rng: Rng, n: number, kind: MaskKind): Float32Array | null {
  if (kind === 'none') return null;
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) m[i] = kind === 'ones' ? 1 : kind === 'raw' ? rng.normal() : sigmoid(rng.normal());
  return m;
}

/** Random data for a geometry: inputs, weights scaled by 1/sqrt(fan-in), offsets, mask, bias, gradOutput. */
export function randomCaseData(rng: Rng, g: ConvGeometry, opts: CaseDataOptions = {}): ConvCase {
  const s = convShapes(g);
  const size = elementCount;
  const fanIn = (g.inChannels / g.groups) * g.kernelH * g.kernelW;
  const maskKind: MaskKind = opts.mask ?? (g.hasMask ? 'sigmoid' : 'none');
  const mask = drawMask(rng, size(s.mask), maskKind);
  const input = rng.normals(size(s.input));
  const weight = rng.normals(size(s.weight), 1 / Math.sqrt(fanIn));
  const offset = drawOffsets(rng, g, size(s.offset), opts.offsets ?? 'mixed');
  const bias = g.hasBias ? rng.normals(g.outChannels) : null;
  const gradOutput = rng.normals(size(s.output));
  return { geometry: { ...g, hasMask: mask !== null }, input, weight, offset, mask, bias, gradOutput };
}

export interface RandomCaseOptions extends CaseDataOptions {
  /** Largest H and W (default 12). */
  readonly maxImage?: number;
  /** Largest Cin and Cout (default 8). */
  readonly maxChannels?: number;
  /** Largest kernel side (default 7). */
  readonly maxKernel?: number;
  /** Batch range (default [0, 3]; 0 is drawn about one time in twelve). */
  readonly batch?: readonly [number, number];
  /** Upper bound on forward multiply-adds, to keep the float64 reference fast (default 40000). */
  readonly maxMacs?: number;
  /** Mask kinds to draw from (default sigmoid, raw, none, ones). */
  readonly masks?: readonly MaskKind[];
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** A random configuration and its data. */
export function randomConvCase(rng: Rng, opts: RandomCaseOptions = {}): ConvCase {
  const maxImage = opts.maxImage ?? 12;
  const maxC = opts.maxChannels ?? 8;
  const maxK = opts.maxKernel ?? 7;
  const [minN, maxN] = opts.batch ?? [0, 3];
  const maxMacs = opts.maxMacs ?? 40000;
  const kernels = [1, 1, 2, 3, 3, 3, 4, 5, 7].filter((k) => k <= maxK);
  for (let attempt = 0; attempt < 10000; attempt++) {
    const groups = rng.pick([1, 1, 1, 2, 2, 3, 4]);
    const offsetGroups = rng.pick([1, 1, 1, 2, 2, 3, 4]);
    const lcm = (groups * offsetGroups) / gcd(groups, offsetGroups);
    if (lcm > maxC || groups > maxC) continue;
    const inChannels = lcm * rng.int(1, Math.floor(maxC / lcm));
    const outChannels = groups * rng.int(1, Math.floor(maxC / groups));
    const kernelH = rng.pick(kernels);
    const kernelW = rng.chance(0.5) ? kernelH : rng.pick(kernels);
    const side = () => (rng.chance(0.12) ? 1 : rng.int(1, maxImage));
    const batch = minN === 0 && rng.chance(1 / 12) ? 0 : rng.int(Math.max(1, minN), Math.max(1, maxN));
    const maskKind = opts.mask ?? rng.pick(opts.masks ?? ['sigmoid', 'sigmoid', 'raw', 'none', 'ones']);
    const spec: ConvSpec = {
      batch,
      inChannels,
      inHeight: side(),
      inWidth: side(),
      outChannels,
      kernelH,
      kernelW,
      strideH: rng.pick([1, 1, 1, 2, 2, 3]),
      strideW: rng.pick([1, 1, 1, 2, 2, 3]),
      padTop: rng.pick([0, 0, 1, 1, 2, 3]),
      padLeft: rng.pick([0, 0, 1, 1, 2, 3]),
      padBottom: rng.pick([0, 0, 1, 1, 2, 3]),
      padRight: rng.pick([0, 0, 1, 1, 2, 3]),
      dilationH: rng.pick([1, 1, 1, 2, 3]),
      dilationW: rng.pick([1, 1, 1, 2, 3]),
      groups,
      offsetGroups,
      hasMask: maskKind !== 'none',
      hasBias: rng.chance(0.7),
    };
    const outH = convOutSize(spec.inHeight, spec.padTop, spec.padBottom, kernelH, spec.strideH, spec.dilationH);
    const outW = convOutSize(spec.inWidth, spec.padLeft, spec.padRight, kernelW, spec.strideW, spec.dilationW);
    if (outH < 1 || outW < 1) continue;
    const macs = Math.max(1, batch) * outChannels * outH * outW * (inChannels / groups) * kernelH * kernelW;
    if (macs > maxMacs) continue;
    return randomCaseData(rng, makeGeometry(spec), { ...opts, mask: maskKind });
  }
  throw new Error('randomConvCase: no configuration fits the options');
}

/**
 * A case large enough to cross the blocking of fast kernels: a reduction of 306 to 576 terms
 * (Cin * 3*3), 66 to 80 output channels, 256 to 400 output pixels, so GEMM cache blocks (commonly 64 rows,
 * 256 deep, 256 wide), pixel tiles and channel chunks all split it, while the float64 reference still
 * evaluates it in a fraction of a second.
 */
export function blockedConvCase(rng: Rng): ConvCase {
  const spec: ConvSpec = {
    batch: 1,
    inChannels: 2 * rng.int(17, 32),
    inHeight: rng.int(16, 20),
    inWidth: rng.int(16, 20),
    outChannels: 2 * rng.int(33, 40),
    kernelH: 3,
    kernelW: 3,
    strideH: 1,
    strideW: 1,
    padTop: 1,
    padLeft: 1,
    padBottom: 1,
    padRight: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    offsetGroups: rng.pick([1, 2]),
    hasMask: rng.chance(0.8),
    hasBias: true,
  };
  return randomCaseData(rng, makeGeometry(spec));
}
