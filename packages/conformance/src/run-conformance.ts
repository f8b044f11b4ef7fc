/**
 * The entry point every backend's tests and the CLI call: runs the chosen suites against one backend and
 * collects one row per case and tensor, plus what was skipped and why. A run passes when no row failed;
 * skipped parts are reported, never counted as passed.
 */
import { hasKernel, KERNEL_DIRECTIONS, type Backend, type KernelDirection, type MaybePromise } from '@dcnv2/core';
import { convAdversarialSuite } from './suites/adversarial/conv-probes.js';
import { crossSuite } from './suites/cross.js';
import { fuzzSuite } from './suites/fuzz.js';
import { goldenSuite } from './suites/golden.js';
import { gradcheckSuite } from './suites/gradcheck.js';
import { onnxSuite } from './suites/onnx.js';
import { propertiesSuite } from './suites/properties.js';
import { ROI_SUITES, roiSuiteLabel } from './suites/roi-pool/index.js';
import { errorRow, SUITE_NAMES, type ConformanceRow, type SkipEntry, type Suite, type SuiteContext, type SuiteName } from './suites/types.js';
import { defaultVectorsFiles, loadVectors, type VectorsOp } from './vectors.js';

export const DEFAULT_SEED = 20240607;
export const DEFAULT_FUZZ_CASES = 300;
/** Large fuzz cases that cross the blocking of fast kernels (see `blockedConvCase`), after the small ones. */
export const DEFAULT_BLOCKED_CASES = 4;

export interface ConformanceOptions {
  /** The backend under test, already initialised (`await backend.init()`). */
  readonly backend: Backend;
  /** Further initialised backends that `cross` compares with the one under test (and with each other). */
  readonly others?: readonly Backend[];
  /** Default 'deform_conv2d'. One op per run; the CLI runs both by default. */
  readonly op?: VectorsOp;
  /** Default: all of `SUITE_NAMES`. */
  readonly suites?: readonly SuiteName[];
  /** Vectors files for `golden` (any file in the golden format); default: the project's golden set. */
  readonly vectors?: readonly string[];
  /** Seed of every randomised suite. Default `DEFAULT_SEED`. */
  readonly seed?: number;
  /** Number of fuzz cases (of the op run). Default `DEFAULT_FUZZ_CASES`. */
  readonly fuzzCases?: number;
  /** Number of large fuzz cases, run when `fuzzCases` > 0. Default `DEFAULT_BLOCKED_CASES`. */
  readonly blockedCases?: number;
  /**
   * Makes another, independent instance of the backend under test (not initialised; the suite disposes
   * it). `adversarial` uses it to check that a tensor of one instance is refused by another; without it
   * that probe is skipped with the reason.
   */
  readonly create?: () => MaybePromise<Backend>;
  /** Called for each row as soon as it is known (for streaming reports). */
  readonly onRow?: (row: ConformanceRow) => void;
  /** Called for each skipped part as soon as it is known. */
  readonly onSkip?: (skip: SkipEntry) => void;
}

export interface ConformanceResult {
  readonly rows: ConformanceRow[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: SkipEntry[];
  /** The kernels of the run's op the backend does not have (each also a skipped entry): what is left to write. */
  readonly missing: readonly MissingKernel[];
}

/** A kernel a backend lacks, by op and direction. */
export interface MissingKernel {
  readonly op: string;
  readonly direction: KernelDirection;
}

const SUITES: Readonly<Record<SuiteName, Suite>> = {
  golden: goldenSuite,
  properties: propertiesSuite,
  fuzz: fuzzSuite,
  onnx: onnxSuite,
  gradcheck: gradcheckSuite,
  cross: crossSuite,
  adversarial: convAdversarialSuite,
};

export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult> {
  const { backend } = options;
  if (typeof backend !== 'object' || backend === null || typeof backend.upload !== 'function' || typeof backend.download !== 'function') {
    throw new TypeError('runConformance: options.backend must be a Backend (with upload, download, release and its kernels)');
  }
  const op = options.op ?? 'deform_conv2d';
  const suites = options.suites ?? SUITE_NAMES;
  for (const s of suites) if (!SUITE_NAMES.includes(s)) throw new TypeError(`runConformance: unknown suite ${JSON.stringify(s)}; expected some of ${SUITE_NAMES.join(', ')}`);
  const seed = options.seed ?? DEFAULT_SEED;
  const fuzzCases = options.fuzzCases ?? DEFAULT_FUZZ_CASES;
  if (!Number.isSafeInteger(seed)) throw new TypeError(`runConformance: seed must be an integer, got ${seed}`);
  if (!Number.isSafeInteger(fuzzCases) || fuzzCases < 0) throw new TypeError(`runConformance: fuzzCases must be a non-negative integer, got ${fuzzCases}`);
  const blockedCases = options.blockedCases ?? DEFAULT_BLOCKED_CASES;
  if (!Number.isSafeInteger(blockedCases) || blockedCases < 0) throw new TypeError(`runConformance: blockedCases must be a non-negative integer, got ${blockedCases}`);

  const rows: ConformanceRow[] = [];
  const skipped: SkipEntry[] = [];
  const addRow = (r: ConformanceRow) => {
    rows.push(r);
    options.onRow?.(r);
  };
  const addSkip = (s: SkipEntry) => {
    skipped.push(s);
    options.onSkip?.(s);
  };

  if (op !== 'deform_conv2d' && op !== 'deform_roi_pool') throw new TypeError(`runConformance: unknown op ${JSON.stringify(op)}`);
  // What the backend lacks is derived from its kernels and reported by op and direction, never passed.
  const missing = KERNEL_DIRECTIONS.filter((d) => !hasKernel(backend, op, d)).map((direction) => ({ op, direction }));
  for (const m of missing) addSkip({ suite: op, reason: `missing kernel ${m.op} ${m.direction}: backend ${backend.name} has none`, missing: m });
  const base = { backend, others: options.others ?? [], seed, fuzzCases, blockedCases, vectors: options.vectors, ...(options.create ? { create: options.create } : {}) };
  if (!hasKernel(backend, op, 'forward')) {
    checkVectorsOnly(options, op, suites, addRow);
  } else if (op === 'deform_roi_pool') {
    await runRoiPool(options, suites, base, addRow, addSkip);
  } else {
    for (const name of suites) {
      await SUITES[name]({ ...base, row: addRow, skip: (reason) => addSkip({ suite: name, reason }) });
    }
  }
  const passed = rows.filter((r) => r.pass).length;
  return { rows, passed, failed: rows.length - passed, skipped, missing };
}

/**
 * A backend without the op's forward kernel runs none of its suites; its vectors are still loaded and
 * checked, so a malformed file fails the run whatever the backend.
 */
function checkVectorsOnly(options: ConformanceOptions, op: VectorsOp, suites: readonly SuiteName[], row: (r: ConformanceRow) => void): void {
  if (!suites.includes('golden')) return;
  try {
    for (const f of options.vectors ?? defaultVectorsFiles(op)) loadVectors(f, op);
  } catch (e) {
    row(errorRow(op === 'deform_roi_pool' ? roiSuiteLabel('golden') : 'golden', '(vectors)', '-', e));
  }
}

/** deform_roi_pool, on a backend that has its forward kernel. */
async function runRoiPool(
  options: ConformanceOptions,
  suites: readonly SuiteName[],
  base: Omit<SuiteContext, 'row' | 'skip'>,
  row: (r: ConformanceRow) => void,
  skip: (s: SkipEntry) => void,
): Promise<void> {
  if (options.backend.precision === 'float16') {
    // Float16 storage rounds the RoI coordinates too (by up to 0.03 px at 64), which moves boxes and can
    // change adaptive sampling grids: no tolerance of the float32 rules covers that, so say so.
    skip({ suite: 'deform_roi_pool', reason: `backend ${options.backend.name} stores float16: the RoI pooling suites have float32 rules only` });
    return;
  }
  for (const name of suites) {
    const label = roiSuiteLabel(name);
    await ROI_SUITES[name]({ ...base, row, skip: (reason) => skip({ suite: label, reason }) });
  }
}
