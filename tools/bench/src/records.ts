/**
 * The result records: one `BenchRecord` per op, implementation, shape, direction and thread count that was timed,
 * and one `Problem` per combination that was not (WRONG, skipped, failed). The JSON output (`--json`) is these
 * records plus the machine; `validateRecord` is the record shape's definition in code, used by the tests on a
 * real run and by anyone reading the JSON back.
 */
import type { ImplKind } from './impls.js';
import { isBenchOp, type BenchOp } from './ops.js';
import type { RoiShapeSpec } from './roi-shapes.js';
import type { Direction, ShapeSpec } from './shapes.js';

/** The problem's dimensions as recorded: the shape spec itself (a convolution's, or a RoI pooling's). */
export type RecordDims = ShapeSpec | RoiShapeSpec;

export interface BenchRecord {
  /** The op measured: `deform_conv2d` or `deform_roi_pool`. */
  readonly op: BenchOp;
  /** Implementation id: `dcnv2-cpu`, `ort-web`, `dense-tfjs-wasm`, `dcnv2-cpu-plain`, `roialign-torchvision`, ... */
  readonly impl: string;
  /** Shape label: `C`, `R1`, or `1x4x6x6->4` for a custom shape. */
  readonly shape: string;
  readonly direction: Direction;
  /** Threads the implementation actually used. */
  readonly threads: number;
  readonly median_ms: number;
  readonly min_ms: number;
  readonly max_ms: number;
  readonly mean_ms: number;
  readonly p25_ms: number;
  readonly p75_ms: number;
  /** Timed runs behind the statistics (warm-up and the check run excluded). */
  readonly runs: number;
  /** GFLOP/s at the median: flops / median (see `gflop`). */
  readonly gflops: number;
  /**
   * Work of one run in GFLOP. deform_conv2d: 2*N*Cout*Ho*Wo*(Cin/groups)*kh*kw; deform_roi_pool: 8 per bilinear
   * sample and channel. Three times that for forward + backward.
   */
  readonly gflop: number;
  readonly kind: ImplKind;
  readonly dims: RecordDims;
  /** What ran, with versions. */
  readonly version: string;
  /** Agreement check before timing: `ok` (a WRONG implementation is a Problem, never a record). */
  readonly check: 'ok';
  /** Largest |got - want| of the check. */
  readonly check_max_abs_err: number;
  /** What the check compared with. */
  readonly check_against: string;
  /** Peak resident memory of the implementation's worker process while running (runtime and inputs included), MiB. */
  readonly peak_rss_mb: number;
  /** Resident memory after setup, before the first run, MiB. */
  readonly setup_rss_mb: number;
  /** Peak RSS minus setup RSS: what running the op added, MiB. */
  readonly rss_growth_mb: number;
  /**
   * Growth of wasm linear memory from setup to the end of the runs (the op's own working memory beyond what the
   * runtime had already reserved), MiB; null when the implementation has no wasm memory.
   */
  readonly wasm_growth_mb: number | null;
  /** Size of the wasm linear memory at the end, MiB; null when none. */
  readonly wasm_total_mb: number | null;
  /** `<impl>@<threads>t` of every other record of the same op, shape and direction -> this median / that median. */
  readonly ratios: Readonly<Record<string, number>>;
}

export type ProblemStatus = 'wrong' | 'skipped' | 'error';

export interface Problem {
  readonly op: BenchOp;
  readonly impl: string;
  readonly shape: string;
  readonly direction: Direction;
  /** Threads asked for; null when the implementation never started. */
  readonly threads: number | null;
  readonly status: ProblemStatus;
  readonly reason: string;
  /** For WRONG: the check's largest error. */
  readonly check_max_abs_err?: number;
}

/** Key of a record among its peers: `ort-web@1t`. */
export function peerKey(r: { impl: string; threads: number }): string {
  return `${r.impl}@${r.threads}t`;
}

const REQUIRED_NUMBERS = ['median_ms', 'min_ms', 'max_ms', 'mean_ms', 'p25_ms', 'p75_ms', 'gflops', 'gflop', 'check_max_abs_err', 'peak_rss_mb', 'setup_rss_mb', 'rss_growth_mb'] as const;
/** Each dimension of a record's `dims` with its smallest valid value. */
const DIM_KEYS: Readonly<Record<BenchOp, ReadonlyArray<readonly [string, number]>>> = {
  deform_conv2d: [['n', 1], ['cin', 1], ['h', 1], ['w', 1], ['cout', 1], ['k', 1], ['stride', 1], ['pad', 0], ['dil', 1], ['groups', 1], ['og', 1]],
  deform_roi_pool: [['n', 0], ['c', 0], ['h', 1], ['w', 1], ['rois', 0], ['ph', 1], ['pw', 1], ['ratio', 0]],
};

/** Row kinds of each op. */
const KINDS: Readonly<Record<BenchOp, readonly ImplKind[]>> = { deform_conv2d: ['deformable', 'dense'], deform_roi_pool: ['deformable', 'plain'] };

/** Everything wrong with a value read as a BenchRecord (an empty list: it is one). */
export function validateRecord(r: unknown): string[] {
  const errors: string[] = [];
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return ['not an object'];
  const o = r as Record<string, unknown>;
  const str = (k: string) => {
    if (typeof o[k] !== 'string' || o[k] === '') errors.push(`${k}: expected a non-empty string, got ${JSON.stringify(o[k])}`);
  };
  str('impl');
  str('shape');
  str('version');
  str('check_against');
  if (o.direction !== 'fwd' && o.direction !== 'fwdbwd') errors.push(`direction: expected "fwd" or "fwdbwd", got ${JSON.stringify(o.direction)}`);
  const op = isBenchOp(o.op) ? o.op : null;
  if (op === null) errors.push(`op: expected "deform_conv2d" or "deform_roi_pool", got ${JSON.stringify(o.op)}`);
  else if (!(KINDS[op] as readonly unknown[]).includes(o.kind)) errors.push(`kind: expected ${KINDS[op].map((k) => `"${k}"`).join(' or ')} for ${op}, got ${JSON.stringify(o.kind)}`);
  if (o.check !== 'ok') errors.push(`check: expected "ok", got ${JSON.stringify(o.check)}`);
  if (!Number.isInteger(o.threads) || (o.threads as number) < 1) errors.push(`threads: expected a positive integer, got ${JSON.stringify(o.threads)}`);
  if (!Number.isInteger(o.runs) || (o.runs as number) < 1) errors.push(`runs: expected a positive integer, got ${JSON.stringify(o.runs)}`);
  for (const k of REQUIRED_NUMBERS) {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k]) || (o[k] as number) < 0) errors.push(`${k}: expected a finite number >= 0, got ${JSON.stringify(o[k])}`);
  }
  if (typeof o.median_ms === 'number' && typeof o.min_ms === 'number' && typeof o.max_ms === 'number') {
    if (!(o.min_ms <= o.median_ms && o.median_ms <= o.max_ms)) errors.push(`min_ms <= median_ms <= max_ms does not hold (${o.min_ms}, ${o.median_ms}, ${o.max_ms})`);
  }
  for (const k of ['wasm_growth_mb', 'wasm_total_mb']) {
    const v = o[k];
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) errors.push(`${k}: expected null or a finite number >= 0, got ${JSON.stringify(v)}`);
  }
  const dims = o.dims as Record<string, unknown> | undefined;
  if (typeof dims !== 'object' || dims === null) errors.push('dims: expected an object');
  else if (op !== null) {
    for (const [k, min] of DIM_KEYS[op]) {
      if (!Number.isInteger(dims[k]) || (dims[k] as number) < min) errors.push(`dims.${k}: expected an integer >= ${min}, got ${JSON.stringify(dims[k])}`);
    }
    if (op === 'deform_roi_pool' && !(typeof dims.scale === 'number' && Number.isFinite(dims.scale) && dims.scale > 0)) {
      errors.push(`dims.scale: expected a finite number > 0, got ${JSON.stringify(dims.scale)}`);
    }
  }
  const ratios = o.ratios as Record<string, unknown> | undefined;
  if (typeof ratios !== 'object' || ratios === null || Array.isArray(ratios)) errors.push('ratios: expected an object');
  else {
    for (const [k, v] of Object.entries(ratios)) {
      if (!/^.+@\d+t$/.test(k)) errors.push(`ratios: key ${JSON.stringify(k)} is not <impl>@<threads>t`);
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) errors.push(`ratios.${k}: expected a positive number, got ${JSON.stringify(v)}`);
    }
  }
  return errors;
}

/** Fills every record's `ratios` from the records of the same op, shape and direction (one run, one machine). */
export function withRatios(records: readonly Omit<BenchRecord, 'ratios'>[]): BenchRecord[] {
  return records.map((r) => {
    const ratios: Record<string, number> = {};
    for (const p of records) {
      if (p === r || p.op !== r.op || p.shape !== r.shape || p.direction !== r.direction) continue;
      ratios[peerKey(p)] = Number((r.median_ms / p.median_ms).toPrecision(4));
    }
    return { ...r, ratios };
  });
}
