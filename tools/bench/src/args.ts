/**
 * Command-line arguments of `pnpm bench` / `dcnv2-bench`. Parsing is strict: an unknown flag, a missing value or
 * a value out of range is an ArgError with a message naming the flag, because a benchmark that silently ignores
 * a typo measures something other than what was asked.
 */
import os from 'node:os';
import { BENCH_OPS, DEFAULT_OP, isBenchOp, ROI_VARIANTS, type BenchOp, type RoiVariant } from './ops.js';
import { NAMED_ROI_SHAPE_KEYS, namedRoiShape, parseRoiShapeArg, type RoiNamedShape } from './roi-shapes.js';
import { NAMED_SHAPE_KEYS, parseShapeArg, ShapeError, SWEEP_KINDS, type Direction, type NamedShape, type SweepKind } from './shapes.js';
import { DEFAULT_SCHEDULE } from './timing.js';

export class ArgError extends Error {
  override readonly name = 'ArgError';
}

export interface CliOptions {
  /** Ops to measure, in table order (default: deform_conv2d). */
  readonly ops: readonly BenchOp[];
  /** deform_conv2d shapes; null: the default (A–E, or the sweep's default base). */
  readonly shapes: readonly NamedShape[] | null;
  /** deform_roi_pool shapes (`--shape R1`, `--roi-shape ...`); null: the default (R1, R2). */
  readonly roiShapes: readonly RoiNamedShape[] | null;
  /** Which dcnv2 RoI pooling rows to run: with offsets and masks, without (RoIAlign), or both. */
  readonly variants: readonly RoiVariant[];
  readonly directions: readonly Direction[];
  readonly threads: readonly number[];
  /** `--impl` substrings; empty: every implementation. */
  readonly impl: readonly string[];
  /** `--backend-module`: more dcnv2 backends, as module paths or package names exporting `dcnBackend`. */
  readonly backendModules: readonly string[];
  readonly json: string | null;
  readonly plot: string | null;
  readonly sweep: SweepKind | null;
  readonly budgetMs: number;
  readonly minRuns: number;
  readonly maxRuns: number;
  readonly warmup: number;
  readonly seed: number;
  /** A README file whose bench section to rewrite. */
  readonly readme: string | null;
  /** Rewrite the repository's own README (tools/bench/../../README.md). */
  readonly updateReadme: boolean;
  readonly matrix: boolean;
  /** Re-render a saved `--json` document instead of measuring. */
  readonly fromJson: string | null;
  readonly quiet: boolean;
  readonly list: boolean;
  readonly help: boolean;
}

export const DEFAULT_SEED = 1;

/** 1 and the machine's logical CPU count (just 1 on a single-core machine). */
export function defaultThreads(): number[] {
  return [...new Set([1, os.availableParallelism()])];
}

export const USAGE = `Usage: pnpm bench [options]            (from the repository root; or dcnv2-bench [options])

Benchmarks every dcnv2 backend found, forward and forward + backward: deform_conv2d against onnxruntime-web,
onnxruntime-node, torchvision (when python3 has it) and a dense 3x3 convolution; deform_roi_pool against
RoIAlign in torchvision, onnxruntime-node and onnxruntime-web. Each implementation runs in its own worker
process; outputs are checked against a float64 reference before anything is timed. Progress goes to stderr,
the markdown table to stdout.

Options:
  --op LIST           deform_conv2d, deform_roi_pool, a comma list of both, or all (default deform_conv2d)
  --shape S           deform_conv2d: A, B, C, D, E or N,C,H,W,Cout[,k,stride,pad,dil,groups,og];
                      deform_roi_pool: R1, R2. Comma lists allowed; repeatable. Default: A,B,C,D,E
                      (a sweep: its base, default B) and R1,R2
  --roi-shape S       a deform_roi_pool shape N,C,H,W,R,ph,pw,ratio,scale (ratio 0: adaptive; scale as
                      0.0625 or 1/16); repeatable
  --variant V         deform_roi_pool rows of dcnv2: modulated (offsets and masks), plain (neither: RoIAlign,
                      like for like with the peers; rows dcnv2-<name>-plain) or both (default)
  --direction D       fwd, fwdbwd or both (default both; a sweep: fwd)
  --threads LIST      thread counts for implementations that take one (default ${defaultThreads().join(',')})
  --impl LIST         only implementations whose id contains one of these substrings (e.g. ort,dcnv2)
  --backend-module M  also benchmark the dcnv2 backend exported (as dcnBackend) by module M, a path or a
                      package name; repeatable. Its rows are named dcnv2-<its name>
  --json FILE         write every record (and what was skipped or wrong) as JSON
  --sweep KIND        hw, channels or batch: time a family of shapes around the base shape
  --plot FILE         draw the sweep's time against work (.svg, or .png with rsvg-convert); needs --sweep
  --budget-ms N       wall time per shape and direction after the minimum runs (default ${DEFAULT_SCHEDULE.budgetMs})
  --min-runs N        timed runs per implementation at least (default ${DEFAULT_SCHEDULE.minRuns})
  --max-runs N        timed runs per implementation at most (default ${DEFAULT_SCHEDULE.maxRuns})
  --warmup N          untimed runs before timing (default ${DEFAULT_SCHEDULE.warmupRuns}; the check run comes first anyway)
  --seed N            seed of the inputs (default ${DEFAULT_SEED})
  --matrix            also print the ratio of every implementation to every other, per shape and direction
  --readme FILE       rewrite the part of FILE between <!-- bench:start --> and <!-- bench:end -->
  --update-readme     the same for the repository's README.md (what \`pnpm bench:readme\` does)
  --from-json FILE    measure nothing: render the table, --plot, --readme / --update-readme from a saved --json
  --list              list the implementations found (and why others are missing), then exit
  --quiet             no progress on stderr (warnings still)
  --help              this text

Relative paths are relative to the directory you ran the command from.
Examples: pnpm bench --shape C --json /tmp/c.json
          pnpm bench --op deform_roi_pool --shape R1 --threads 1,2`;

function positiveInt(flag: string, v: string, min = 1): number {
  if (!/^\d+$/.test(v)) throw new ArgError(`${flag}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ArgError(`${flag}: expected an integer >= ${min}, got ${v}`);
  return n;
}

/** Flags that decide what is measured: meaningless with --from-json. */
const MEASURING_FLAGS = new Set(['--op', '--variant', '--roi-shape', '--backend-module', '--shape', '--direction', '--threads', '--impl', '--sweep', '--budget-ms', '--min-runs', '--max-runs', '--warmup', '--seed']);
const VALUE_FLAGS = new Set(['--op', '--variant', '--roi-shape', '--from-json', '--backend-module', '--shape', '--direction', '--threads', '--impl', '--json', '--sweep', '--plot', '--budget-ms', '--min-runs', '--max-runs', '--warmup', '--seed', '--readme']);
const BOOLEAN_FLAGS = new Set(['--matrix', '--update-readme', '--list', '--quiet', '--help', '-h']);

/** The ops of `--op`: names, comma-separated, or `all`. */
function parseOps(value: string): BenchOp[] {
  if (value.trim() === 'all') return [...BENCH_OPS];
  const ops = value.split(',').map((v) => v.trim());
  for (const op of ops) if (!isBenchOp(op)) throw new ArgError(`--op: expected ${BENCH_OPS.join(', ')} or all, got ${JSON.stringify(op)}`);
  // Tables follow BENCH_OPS order whatever order they were named in.
  return BENCH_OPS.filter((op) => ops.includes(op));
}

type OpShape = { readonly op: 'deform_conv2d'; readonly shape: NamedShape } | { readonly op: 'deform_roi_pool'; readonly shape: RoiNamedShape };

/** One `--shape` value: named shapes of either op (`C`, `R1`, `A,B,R1`), or one custom deform_conv2d shape. */
function parseShapeValue(value: string): OpShape[] {
  const parts = value.split(',').map((p) => p.trim());
  if (!parts.every((p) => /^[A-Za-z][A-Za-z0-9]*$/.test(p))) return parseShapeArg(value).map((shape) => ({ op: 'deform_conv2d', shape }));
  return parts.map((p): OpShape => {
    const roi = namedRoiShape(p);
    if (roi !== null) return { op: 'deform_roi_pool', shape: roi };
    if (/^[A-Za-z]$/.test(p)) return { op: 'deform_conv2d', shape: parseShapeArg(p)[0] };
    throw new ShapeError(`--shape ${p}: unknown shape; named shapes are ${NAMED_SHAPE_KEYS.join(', ')} (deform_conv2d) and ${NAMED_ROI_SHAPE_KEYS.join(', ')} (deform_roi_pool)`);
  });
}

export function parseArgs(argv: readonly string[]): CliOptions {
  let ops: BenchOp[] | null = null;
  const shapes: NamedShape[] = [];
  const roiShapes: RoiNamedShape[] = [];
  let variants: RoiVariant[] | null = null;
  let directions: Direction[] | null = null;
  let threads: number[] | null = null;
  const impl: string[] = [];
  const backendModules: string[] = [];
  let json: string | null = null;
  let plot: string | null = null;
  let sweep: SweepKind | null = null;
  let budgetMs = DEFAULT_SCHEDULE.budgetMs;
  let minRuns = DEFAULT_SCHEDULE.minRuns;
  let maxRuns = DEFAULT_SCHEDULE.maxRuns;
  let warmup = DEFAULT_SCHEDULE.warmupRuns;
  let seed = DEFAULT_SEED;
  let readme: string | null = null;
  let updateReadme = false;
  let matrix = false;
  let fromJson: string | null = null;
  const given = new Set<string>();
  let quiet = false;
  let list = false;
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (BOOLEAN_FLAGS.has(arg)) {
      if (value !== undefined) throw new ArgError(`${arg} takes no value`);
      if (arg === '--matrix') matrix = true;
      else if (arg === '--update-readme') updateReadme = true;
      else if (arg === '--list') list = true;
      else if (arg === '--quiet') quiet = true;
      else help = true;
      continue;
    }
    given.add(arg);
    if (!VALUE_FLAGS.has(arg)) {
      throw new ArgError(arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument ${JSON.stringify(arg)} (options start with --)`);
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) throw new ArgError(`${arg} needs a value`);
    }
    switch (arg) {
      case '--op':
        ops = parseOps(value);
        break;
      case '--shape':
      case '--roi-shape':
        try {
          if (arg === '--roi-shape') roiShapes.push(parseRoiShapeArg(value));
          else {
            for (const s of parseShapeValue(value)) {
              if (s.op === 'deform_conv2d') shapes.push(s.shape);
              else roiShapes.push(s.shape);
            }
          }
        } catch (e) {
          if (e instanceof ShapeError) throw new ArgError(e.message);
          throw e;
        }
        break;
      case '--variant':
        if (value === 'both') variants = [...ROI_VARIANTS];
        else if ((ROI_VARIANTS as readonly string[]).includes(value)) variants = [value as RoiVariant];
        else throw new ArgError(`--variant: expected ${ROI_VARIANTS.join(', ')} or both, got ${JSON.stringify(value)}`);
        break;
      case '--direction':
        if (value === 'fwd' || value === 'fwdbwd') directions = [value];
        else if (value === 'both') directions = ['fwd', 'fwdbwd'];
        else throw new ArgError(`--direction: expected fwd, fwdbwd or both, got ${JSON.stringify(value)}`);
        break;
      case '--threads': {
        const list = value.split(',').map((v) => positiveInt('--threads', v.trim()));
        threads = [...new Set(list)].sort((a, b) => a - b);
        break;
      }
      case '--impl':
        for (const p of value.split(',').map((v) => v.trim())) {
          if (p === '') throw new ArgError('--impl: empty pattern');
          impl.push(p);
        }
        break;
      case '--backend-module':
        backendModules.push(value);
        break;
      case '--json':
        json = value;
        break;
      case '--plot':
        plot = value;
        break;
      case '--sweep':
        if (!(SWEEP_KINDS as readonly string[]).includes(value)) throw new ArgError(`--sweep: expected ${SWEEP_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
        sweep = value as SweepKind;
        break;
      case '--budget-ms':
        budgetMs = positiveInt(arg, value, 0);
        break;
      case '--min-runs':
        minRuns = positiveInt(arg, value);
        break;
      case '--max-runs':
        maxRuns = positiveInt(arg, value);
        break;
      case '--warmup':
        warmup = positiveInt(arg, value, 0);
        break;
      case '--seed':
        seed = positiveInt(arg, value, 0);
        break;
      case '--readme':
        readme = value;
        break;
      case '--from-json':
        fromJson = value;
        break;
    }
  }

  const selected = ops ?? [DEFAULT_OP];
  const roiSelected = selected.includes('deform_roi_pool');
  if (shapes.length > 0 && !selected.includes('deform_conv2d')) {
    throw new ArgError(`--shape ${shapes.map((s) => s.label).join(', ')}: deform_conv2d shapes, but --op is ${selected.join(',')}`);
  }
  if (roiShapes.length > 0 && !roiSelected) {
    throw new ArgError(`${roiShapes.map((s) => s.label).join(', ')}: deform_roi_pool shapes; add --op deform_roi_pool`);
  }
  if (variants !== null && !roiSelected) throw new ArgError('--variant chooses deform_roi_pool rows; add --op deform_roi_pool');
  if (sweep !== null && roiSelected) throw new ArgError('--sweep sweeps deform_conv2d shapes; it does not combine with --op deform_roi_pool');
  if (fromJson !== null) {
    const measuring = [...given].filter((f) => MEASURING_FLAGS.has(f));
    if (measuring.length > 0) throw new ArgError(`--from-json re-renders a saved run: ${measuring.join(', ')} cannot change it`);
  }
  if (plot !== null && sweep === null && fromJson === null) throw new ArgError('--plot draws a sweep: add --sweep hw, channels or batch');
  if (sweep !== null && shapes.length > 1) throw new ArgError(`--sweep takes one base shape, got ${shapes.length} (${shapes.map((s) => s.label).join(', ')})`);
  if (sweep !== null && (readme !== null || updateReadme)) throw new ArgError('--readme / --update-readme write the shape tables; they do not combine with --sweep');
  if (readme !== null && updateReadme) throw new ArgError('--readme and --update-readme: pick one');
  if (maxRuns < minRuns) throw new ArgError(`--max-runs ${maxRuns} is below --min-runs ${minRuns}`);

  return {
    ops: selected,
    shapes: shapes.length > 0 ? shapes : null,
    roiShapes: roiShapes.length > 0 ? roiShapes : null,
    variants: variants ?? [...ROI_VARIANTS],
    directions: directions ?? (sweep !== null ? ['fwd'] : ['fwd', 'fwdbwd']),
    threads: threads ?? defaultThreads(),
    impl,
    backendModules,
    json,
    plot,
    sweep,
    budgetMs,
    minRuns,
    maxRuns,
    warmup,
    seed,
    readme,
    updateReadme,
    matrix,
    fromJson,
    quiet,
    list,
    help,
  };
}
