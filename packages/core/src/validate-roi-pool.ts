/**
 * Validation of a deformable RoI pooling call, done once in core before any backend runs: tensor ranks and
 * shapes, parameters, and the RoI values themselves (batch index and coordinates steer memory access, so a
 * backend must be able to trust them). Every failure is a typed `DcnError`.
 */
import { LimitError, ParamError, ShapeError, ValueError } from './errors.js';
import { roiSamplingGrid, type DeformRoiPoolParams, type RoiPoolGeometry } from './roi-pool-params.js';
import { checkDim, checkTensor } from './validate-tensor.js';

export interface RoiPoolShapeArgs {
  readonly input: unknown;
  readonly rois: unknown;
  readonly offset?: unknown;
  readonly mask?: unknown;
}

/**
 * Most bilinear samples one bin may take. An adaptive grid (samplingRatio 0) grows with the RoI, so a
 * huge or mis-scaled box would otherwise make one call loop for minutes; 2^20 samples per bin is far
 * beyond any real detector (a full 1344x800 image pooled to 1x1 at scale 1 is about 2^20).
 */
export const MAX_SAMPLES_PER_BIN = 1 << 20;

const KNOWN_PARAMS = ['outputSize', 'spatialScale', 'samplingRatio', 'gamma'] as const;

function checkParams(params: unknown): DeformRoiPoolParams {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ParamError({ argument: 'params', expected: 'an object { outputSize, spatialScale?, samplingRatio?, gamma? }', actual: params });
  }
  for (const k of Object.keys(params)) {
    if (!(KNOWN_PARAMS as readonly string[]).includes(k)) {
      throw new ParamError({ argument: `params.${k}`, expected: `one of ${KNOWN_PARAMS.join(', ')}`, actual: k }, 'unknown parameter');
    }
  }
  return params as DeformRoiPoolParams;
}

function positiveInt(v: unknown, argument: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ParamError({ argument, expected: 'a positive integer', actual: v });
  return v;
}

function resolveOutputSize(v: unknown): [number, number] {
  if (v === undefined) throw new ParamError({ argument: 'params.outputSize', expected: 'a positive integer or [ph, pw]', actual: v });
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new ParamError({ argument: 'params.outputSize', expected: 'a positive integer or [ph, pw]', actual: v });
    return [positiveInt(v[0], 'params.outputSize[0]'), positiveInt(v[1], 'params.outputSize[1]')];
  }
  const n = positiveInt(v, 'params.outputSize');
  return [n, n];
}

function finiteNumber(v: unknown, argument: string, dflt: number, positive: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
    throw new ParamError({ argument, expected: positive ? 'a finite number > 0' : 'a finite number', actual: v });
  }
  return v;
}

/** Validates tensors and parameters of a RoI pooling call and resolves its geometry (RoI values: `checkRoiValues`). */
export function resolveRoiPoolGeometry(args: RoiPoolShapeArgs, rawParams: DeformRoiPoolParams): RoiPoolGeometry {
  if (typeof args !== 'object' || args === null) {
    throw new ParamError({ argument: 'args', expected: 'an object { input, rois, offset?, mask? }', actual: args });
  }
  const params = checkParams(rawParams);
  const [pooledH, pooledW] = resolveOutputSize(params.outputSize);
  const spatialScale = finiteNumber(params.spatialScale, 'params.spatialScale', 1, true);
  const gamma = finiteNumber(params.gamma, 'params.gamma', 0.1, false);
  const samplingRatio = params.samplingRatio ?? 0;
  if (typeof samplingRatio !== 'number' || !Number.isInteger(samplingRatio) || samplingRatio < 0) {
    throw new ParamError({ argument: 'params.samplingRatio', expected: 'a non-negative integer (0 = adaptive)', actual: samplingRatio });
  }

  const x = checkTensor(args.input, 'input', 4, '[N, C, H, W]');
  const r = checkTensor(args.rois, 'rois', 2, '[R, 5] = (batch index, x1, y1, x2, y2)');
  const hasOffset = args.offset !== undefined && args.offset !== null;
  const hasMask = args.mask !== undefined && args.mask !== null;
  const off = hasOffset ? checkTensor(args.offset, 'offset', 4, '[R, 2, ph, pw]') : null;
  const m = hasMask ? checkTensor(args.mask, 'mask', 4, '[R, 1, ph, pw]') : null;

  const [batch, channels, inHeight, inWidth] = x;
  // Bilinear sampling clamps to row H-1 and column W-1, which do not exist in an empty image.
  if (inHeight < 1) throw new ShapeError({ argument: 'input.shape[2]', expected: 'a height of at least 1', actual: inHeight });
  if (inWidth < 1) throw new ShapeError({ argument: 'input.shape[3]', expected: 'a width of at least 1', actual: inWidth });
  checkDim(r, 1, 5, 'rois', 'each RoI is (batch index, x1, y1, x2, y2)');
  const rois = r[0];
  if (off) {
    checkDim(off, 0, rois, 'offset', 'the RoI count R');
    checkDim(off, 1, 2, 'offset', 'x and y offsets, x first');
    checkDim(off, 2, pooledH, 'offset', 'the pooled height ph');
    checkDim(off, 3, pooledW, 'offset', 'the pooled width pw');
  }
  if (m) {
    checkDim(m, 0, rois, 'mask', 'the RoI count R');
    checkDim(m, 1, 1, 'mask', 'one modulation scalar per bin');
    checkDim(m, 2, pooledH, 'mask', 'the pooled height ph');
    checkDim(m, 3, pooledW, 'mask', 'the pooled width pw');
  }
  return { batch, channels, inHeight, inWidth, rois, pooledH, pooledW, spatialScale, samplingRatio, gamma, hasOffset, hasMask };
}

/**
 * Checks every RoI: batch index an integer in [0, N), coordinates finite, and (adaptive sampling) at most
 * `MAX_SAMPLES_PER_BIN` samples per bin.
 */
export function checkRoiValues(data: Float32Array, g: RoiPoolGeometry): void {
  for (let k = 0; k < g.rois; k++) {
    const o = k * 5;
    const b = data[o]!;
    if (!Number.isInteger(b) || b < 0 || b >= g.batch) {
      throw new ValueError({ argument: `rois[${k}][0]`, expected: `an integer batch index in [0, ${g.batch})`, actual: b });
    }
    for (let j = 1; j < 5; j++) {
      const v = data[o + j]!;
      if (!Number.isFinite(v)) throw new ValueError({ argument: `rois[${k}][${j}]`, expected: `a finite ${['', 'x1', 'y1', 'x2', 'y2'][j]} coordinate`, actual: v });
    }
    const [gh, gw] = roiSamplingGrid(g, data[o + 1]!, data[o + 2]!, data[o + 3]!, data[o + 4]!);
    if (gh > 0 && gw > 0 && gh * gw > MAX_SAMPLES_PER_BIN) {
      throw new LimitError({ argument: `rois[${k}]`, expected: `at most ${MAX_SAMPLES_PER_BIN} samples per bin (adaptive grid ${gh}x${gw}); set params.samplingRatio or check params.spatialScale`, actual: [...data.subarray(o, o + 5)] });
    }
  }
}

/** Validates `gradOutput` of a backward call against the geometry. */
export function checkRoiGradOutput(t: unknown, g: RoiPoolGeometry): void {
  const s = checkTensor(t, 'gradOutput', 4, '[R, C, ph, pw]');
  checkDim(s, 0, g.rois, 'gradOutput', 'the RoI count R');
  checkDim(s, 1, g.channels, 'gradOutput', 'the channels C of input');
  checkDim(s, 2, g.pooledH, 'gradOutput', 'the pooled height ph');
  checkDim(s, 3, g.pooledW, 'gradOutput', 'the pooled width pw');
}
