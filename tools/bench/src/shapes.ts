/**
 * Problem shapes: the five named ones (A–E, the ResNet-50 stage shapes where DCNv2 replaces a 3x3 conv, plus a
 * larger detection-head-like E), custom ones from `--shape N,C,H,W,Cout[,k,stride,pad,dil,groups,og]`, and the
 * shape families of a `--sweep`. A shape becomes a core `ConvGeometry`, which is what every implementation
 * and the work count see, so all of them agree on what is being computed.
 */
import { convMacs, convOutSize, type ConvGeometry } from '@dcnv2/core';

export interface ShapeSpec {
  readonly n: number;
  readonly cin: number;
  readonly h: number;
  readonly w: number;
  readonly cout: number;
  /** Square kernel side. */
  readonly k: number;
  readonly stride: number;
  /** Symmetric padding on every side. */
  readonly pad: number;
  readonly dil: number;
  readonly groups: number;
  /** Offset groups. */
  readonly og: number;
}

/** A shape with the name it is reported under: `C`, or `1x4x6x6->4` (plus non-default parameters). */
export interface NamedShape {
  readonly label: string;
  readonly spec: ShapeSpec;
}

const base3x3 = { k: 3, stride: 1, pad: 1, dil: 1, groups: 1, og: 1 } as const;

/** The shapes: 3x3, stride 1, pad 1, one group, one offset group. A–D are all 115.6 M multiply-adds. */
export const NAMED_SHAPES: Readonly<Record<string, ShapeSpec>> = {
  A: { n: 1, cin: 64, h: 56, w: 56, cout: 64, ...base3x3 },
  B: { n: 1, cin: 128, h: 28, w: 28, cout: 128, ...base3x3 },
  C: { n: 1, cin: 256, h: 14, w: 14, cout: 256, ...base3x3 },
  D: { n: 1, cin: 512, h: 7, w: 7, cout: 512, ...base3x3 },
  E: { n: 1, cin: 256, h: 64, w: 64, cout: 256, ...base3x3 },
};

export const NAMED_SHAPE_KEYS = Object.keys(NAMED_SHAPES);

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

/** `1x64x56x56->64`, with ` k5 s2 p0 d1 g2 og1`-style suffixes only for what differs from 3x3/stride 1/"same" pad. */
export function shapeLabel(s: ShapeSpec): string {
  let label = `${s.n}x${s.cin}x${s.h}x${s.w}->${s.cout}`;
  const extras: string[] = [];
  if (s.k !== 3) extras.push(`k${s.k}`);
  if (s.stride !== 1) extras.push(`s${s.stride}`);
  if (s.pad !== samePad(s.k, s.dil)) extras.push(`p${s.pad}`);
  if (s.dil !== 1) extras.push(`d${s.dil}`);
  if (s.groups !== 1) extras.push(`g${s.groups}`);
  if (s.og !== 1) extras.push(`og${s.og}`);
  if (extras.length > 0) label += ` ${extras.join(' ')}`;
  return label;
}

/** The padding that keeps H and W at stride 1 (the default when a custom shape omits it). */
function samePad(k: number, dil: number): number {
  return Math.floor((dil * (k - 1)) / 2);
}

/** Checks a spec the way core would, but with messages that name the flag's fields. */
export function checkShape(s: ShapeSpec, what = 'shape'): void {
  const positive: Array<keyof ShapeSpec> = ['n', 'cin', 'h', 'w', 'cout', 'k', 'stride', 'dil', 'groups', 'og'];
  for (const key of positive) {
    const v = s[key];
    if (!Number.isSafeInteger(v) || v < 1) throw new ShapeError(`${what}: ${key} must be a positive integer, got ${v}`);
  }
  if (!Number.isSafeInteger(s.pad) || s.pad < 0) throw new ShapeError(`${what}: pad must be a non-negative integer, got ${s.pad}`);
  if (s.cin % s.groups !== 0 || s.cout % s.groups !== 0) {
    throw new ShapeError(`${what}: Cin ${s.cin} and Cout ${s.cout} must be divisible by groups ${s.groups}`);
  }
  if (s.cin % s.og !== 0) throw new ShapeError(`${what}: Cin ${s.cin} must be divisible by offset groups ${s.og}`);
  const ho = convOutSize(s.h, s.pad, s.pad, s.k, s.stride, s.dil);
  const wo = convOutSize(s.w, s.pad, s.pad, s.k, s.stride, s.dil);
  if (ho < 1 || wo < 1) throw new ShapeError(`${what}: the output would be ${ho}x${wo}`);
}

/**
 * One `--shape` value: a comma list of named shapes (`C`, `A,B`) or one custom shape
 * `N,C,H,W,Cout[,k,stride,pad,dil,groups,og]`.
 */
export function parseShapeArg(value: string): NamedShape[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new ShapeError(`--shape ${JSON.stringify(value)}: empty field`);
  if (parts.every((p) => /^[A-Za-z]$/.test(p))) {
    return parts.map((p) => {
      const key = p.toUpperCase();
      const spec = NAMED_SHAPES[key];
      if (spec === undefined) throw new ShapeError(`--shape ${p}: unknown shape; named shapes are ${NAMED_SHAPE_KEYS.join(', ')}`);
      return { label: key, spec };
    });
  }
  if (!parts.every((p) => /^\d+$/.test(p))) {
    throw new ShapeError(
      `--shape ${JSON.stringify(value)}: expected a named shape (${NAMED_SHAPE_KEYS.join(', ')}) or N,C,H,W,Cout[,k,stride,pad,dil,groups,og]`,
    );
  }
  const nums = parts.map(Number);
  if (nums.length < 5 || nums.length > 11) {
    throw new ShapeError(`--shape ${value}: expected 5 to 11 numbers (N,C,H,W,Cout[,k,stride,pad,dil,groups,og]), got ${nums.length}`);
  }
  const [n, cin, h, w, cout] = nums;
  const k = nums[5] ?? 3;
  const stride = nums[6] ?? 1;
  const dil = nums[8] ?? 1;
  const pad = nums[7] ?? samePad(k, dil);
  const groups = nums[9] ?? 1;
  const og = nums[10] ?? 1;
  const spec: ShapeSpec = { n, cin, h, w, cout, k, stride, pad, dil, groups, og };
  checkShape(spec, `--shape ${value}`);
  return [{ label: shapeLabel(spec), spec }];
}

/** The geometry core resolves for this shape, with a mask (DCNv2) and a bias. */
export function shapeGeometry(s: ShapeSpec): ConvGeometry {
  checkShape(s);
  return {
    batch: s.n,
    inChannels: s.cin,
    inHeight: s.h,
    inWidth: s.w,
    outChannels: s.cout,
    kernelH: s.k,
    kernelW: s.k,
    strideH: s.stride,
    strideW: s.stride,
    padTop: s.pad,
    padLeft: s.pad,
    padBottom: s.pad,
    padRight: s.pad,
    dilationH: s.dil,
    dilationW: s.dil,
    groups: s.groups,
    offsetGroups: s.og,
    outHeight: convOutSize(s.h, s.pad, s.pad, s.k, s.stride, s.dil),
    outWidth: convOutSize(s.w, s.pad, s.pad, s.k, s.stride, s.dil),
    hasMask: true,
    hasBias: true,
  };
}

export type Direction = 'fwd' | 'fwdbwd';
export const DIRECTIONS: readonly Direction[] = ['fwd', 'fwdbwd'];

/**
 * Floating-point operations of one timed unit. Forward: 2*N*Cout*Ho*Wo*(Cin/groups)*kh*kw (the count;
 * sampling and interpolation are not counted, so a deformable conv's GFLOP/s is comparable with a dense conv's).
 * Forward + backward: three times that, as for a dense conv (the forward GEMM, the data-gradient GEMM and the
 * weight-gradient GEMM are each that size).
 */
export function directionFlops(g: ConvGeometry, direction: Direction): number {
  const fwd = 2 * convMacs(g);
  return direction === 'fwd' ? fwd : 3 * fwd;
}

export type SweepKind = 'hw' | 'channels' | 'batch';
export const SWEEP_KINDS: readonly SweepKind[] = ['hw', 'channels', 'batch'];

/** Values a sweep walks through; the other dimensions stay those of the base shape. */
export const SWEEP_VALUES: Readonly<Record<SweepKind, readonly number[]>> = {
  hw: [8, 16, 24, 32, 48, 64],
  channels: [16, 32, 64, 128, 256],
  batch: [1, 2, 4, 8],
};

/** Default base of a sweep when no `--shape` is given: B (128 channels, 28x28). */
export const DEFAULT_SWEEP_BASE = 'B';

/** The shapes of a sweep around `base`: H=W, Cin=Cout, or N takes each value in turn. */
export function sweepShapes(base: ShapeSpec, kind: SweepKind, values: readonly number[] = SWEEP_VALUES[kind]): NamedShape[] {
  return values.map((v) => {
    const spec: ShapeSpec =
      kind === 'hw' ? { ...base, h: v, w: v } : kind === 'channels' ? { ...base, cin: v, cout: v } : { ...base, n: v };
    checkShape(spec, `--sweep ${kind} ${v}`);
    return { label: shapeLabel(spec), spec };
  });
}
