/**
 * Validation of a deformable RoI pooling call, done once in core before any backend runs: tensor ranks and
 * shapes, parameters, and the RoI values themselves (batch index and coordinates steer memory access, so a
 * backend must be able to trust them). Every failure is a typed `DcnError`.
 */
import { LimitError, ParamError, ShapeError, ValueError } from './errors.js';
import { checkElementCount, checkKnownKeys, takeInt, takeList, takeObject, takeTensor } from './intake.js';
import { takeOpArgs, type TakenArgs } from './op-args.js';
import { roiPoolShapes, roiSamplingGrid, type DeformRoiPoolParams, type RoiPoolGeometry } from './roi-pool-params.js';
import { DEFORM_ROI_POOL_SPEC as SPEC, paramDefault, paramNames } from './op-specs.js';
import { checkDim } from './validate-tensor.js';

export interface RoiPoolShapeArgs {
  readonly input: unknown;
  readonly rois: unknown;
  readonly offset?: unknown;
  readonly mask?: unknown;
}

/** The tensors of a RoI pooling call, each taken once (see op-args.ts). */
export type RoiPoolTensors = TakenArgs<(typeof SPEC.inputs)[number]['name']>;

/**
 * Most bilinear samples one bin may take. An adaptive grid (samplingRatio 0) grows with the RoI, so a
 * huge or mis-scaled box would otherwise make one call loop for minutes; 2^20 samples per bin is far
 * beyond any real detector (a full 1344x800 image pooled to 1x1 at scale 1 is about 2^20). A fixed
 * samplingRatio is held to the same bound (at most 1024, since the grid is samplingRatio^2).
 */
export const MAX_SAMPLES_PER_BIN = 1 << 20;

/**
 * Largest |coordinate * spatialScale| of a RoI corner, in feature-map pixels. Kernels compute sample
 * positions in float32; beyond 2^24 float32 cannot tell neighbouring pixels apart, and at float32's range
 * the RoI size overflows to infinity (then backends would disagree: NaN on one, 0 on another). Such a RoI
 * is refused with `ValueError` instead, on every backend alike.
 */
export const MAX_ROI_COORDINATE = 2 ** 24;

const KNOWN_PARAMS = paramNames(SPEC);
/** `{ outputSize, spatialScale?, samplingRatio?, gamma? }` */
const PARAMS_SHAPE = `{ ${SPEC.params.map((p) => (p.required ? p.name : `${p.name}?`)).join(', ')} }`;
const DEFAULT_SPATIAL_SCALE = paramDefault(SPEC, 'spatialScale');
const DEFAULT_SAMPLING_RATIO = paramDefault(SPEC, 'samplingRatio');
const DEFAULT_GAMMA = paramDefault(SPEC, 'gamma');

/** Reads a RoI pooling call's tensors once (see op-args.ts). */
export function takeRoiArgs(args: unknown, backward: boolean): RoiPoolTensors {
  return takeOpArgs(SPEC, args, backward);
}

function resolveOutputSize(v: unknown): [number, number] {
  const what = 'a positive integer';
  if (v === undefined) throw new ParamError({ argument: 'params.outputSize', expected: 'a positive integer or [ph, pw]', actual: v });
  const list = takeList(v, 2);
  if (list !== null) {
    if (list.length !== 2) throw new ParamError({ argument: 'params.outputSize', expected: 'a positive integer or [ph, pw]', actual: list });
    return [takeInt(list[0], 'params.outputSize[0]', 1, what), takeInt(list[1], 'params.outputSize[1]', 1, what)];
  }
  const n = takeInt(v, 'params.outputSize', 1, what);
  return [n, n];
}

/**
 * A parameter that kernels use as float32: finite (and > 0 when `positive`) both as a number and once
 * rounded to float32, so 1.7e308 (infinite in float32) or 1e-50 (0 in float32) are refused.
 */
function float32Param(v: unknown, argument: string, dflt: number, positive: boolean): number {
  if (v === undefined) return dflt;
  const f = typeof v === 'number' ? Math.fround(v) : NaN;
  if (typeof v !== 'number' || !Number.isFinite(f) || (positive && !(f > 0))) {
    throw new ParamError({ argument, expected: positive ? 'a number > 0 that is finite and non-zero in float32' : 'a number that is finite in float32', actual: v });
  }
  return v;
}

/** Validates tensors and parameters of a RoI pooling call and resolves its geometry (RoI values: `checkRoiValues`). */
export function resolveRoiPoolGeometry(args: RoiPoolShapeArgs, rawParams: DeformRoiPoolParams): RoiPoolGeometry {
  return roiGeometryOf(takeRoiArgs(args, false), rawParams);
}

/** The geometry of a call whose tensors were taken with `takeRoiArgs`. */
export function roiGeometryOf(t: Omit<RoiPoolTensors, 'gradOutput'>, rawParams: unknown): RoiPoolGeometry {
  const params = takeObject(rawParams, 'params', PARAMS_SHAPE);
  checkKnownKeys(params, 'params', KNOWN_PARAMS);
  const [pooledH, pooledW] = resolveOutputSize(params.outputSize);
  const spatialScale = float32Param(params.spatialScale, 'params.spatialScale', DEFAULT_SPATIAL_SCALE, true);
  const gamma = float32Param(params.gamma, 'params.gamma', DEFAULT_GAMMA, false);
  const samplingRatio = params.samplingRatio === undefined ? DEFAULT_SAMPLING_RATIO : takeInt(params.samplingRatio, 'params.samplingRatio', 0, 'a non-negative integer (0 = adaptive)');
  if (samplingRatio * samplingRatio > MAX_SAMPLES_PER_BIN) {
    throw new LimitError({ argument: 'params.samplingRatio', expected: `at most ${Math.sqrt(MAX_SAMPLES_PER_BIN)} (samplingRatio^2 <= ${MAX_SAMPLES_PER_BIN} samples per bin)`, actual: samplingRatio });
  }

  const x = t.input!.shape; // required inputs are never null once taken
  const r = t.rois!.shape;
  const off = t.offset?.shape ?? null;
  const m = t.mask?.shape ?? null;
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
  const g: RoiPoolGeometry = { batch, channels, inHeight, inWidth, rois, pooledH, pooledW, spatialScale, samplingRatio, gamma, hasOffset: off !== null, hasMask: m !== null };
  // The output (and gradOutput) and the offset gradient's shape are bounded like every input.
  const shapes = roiPoolShapes(g);
  checkElementCount(shapes.output, 'output');
  checkElementCount(shapes.offset, 'offset');
  return g;
}

const COORD_NAMES = ['', 'x1', 'y1', 'x2', 'y2'];

/**
 * Checks every RoI: batch index an integer in [0, N), coordinates finite with |coordinate * spatialScale|
 * at most `MAX_ROI_COORDINATE`, and (adaptive sampling) at most `MAX_SAMPLES_PER_BIN` samples per bin.
 * Ops call it on their own copy of the RoIs, which is then what the backend receives.
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
      if (!Number.isFinite(v)) throw new ValueError({ argument: `rois[${k}][${j}]`, expected: `a finite ${COORD_NAMES[j]} coordinate`, actual: v });
      if (Math.abs(v * g.spatialScale) > MAX_ROI_COORDINATE) {
        throw new ValueError(
          { argument: `rois[${k}][${j}]`, expected: `an ${COORD_NAMES[j]} coordinate with |${COORD_NAMES[j]} * spatialScale| <= ${MAX_ROI_COORDINATE} (feature-map pixels; spatialScale ${g.spatialScale})`, actual: v },
          'kernels place samples in float32',
        );
      }
    }
    const [gh, gw] = roiSamplingGrid(g, data[o + 1]!, data[o + 2]!, data[o + 3]!, data[o + 4]!);
    if (gh > 0 && gw > 0 && gh * gw > MAX_SAMPLES_PER_BIN) {
      throw new LimitError({ argument: `rois[${k}]`, expected: `at most ${MAX_SAMPLES_PER_BIN} samples per bin (adaptive grid ${gh}x${gw} of params.samplingRatio 0); set params.samplingRatio or check params.spatialScale`, actual: [...data.subarray(o, o + 5)] });
    }
  }
}

/** Validates `gradOutput` of a backward call against the geometry. */
export function checkRoiGradOutput(t: unknown, g: RoiPoolGeometry): void {
  checkRoiGradOutputShape(takeTensor(t, 'gradOutput', SPEC.gradOutput.rank, SPEC.gradOutput.dims).shape, g);
}

/** Checks a taken gradOutput's shape against the geometry. */
export function checkRoiGradOutputShape(s: readonly number[], g: RoiPoolGeometry): void {
  checkDim(s, 0, g.rois, 'gradOutput', 'the RoI count R');
  checkDim(s, 1, g.channels, 'gradOutput', 'the channels C of input');
  checkDim(s, 2, g.pooledH, 'gradOutput', 'the pooled height ph');
  checkDim(s, 3, g.pooledW, 'gradOutput', 'the pooled width pw');
}
