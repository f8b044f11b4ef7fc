/** Command-line arguments of `dcnv2-conformance`, parsed strictly: anything unknown is a usage error. */
import { parseArgs } from 'node:util';
import { SUITE_NAMES, type SuiteName } from '../suites/types.js';
import { isBuiltinBackend } from './load-backend.js';
import { VECTOR_OPS, type VectorsOp } from '../vectors.js';

export const USAGE = `usage: dcnv2-conformance --backend NAME|PATH|PACKAGE [options]

  --backend NAME|PATH|PACKAGE
                            the backend under test: a built-in name (reference, cpu, wasm, webgpu, webgpu-f16;
                            cpu -> @dcnv2/backend-cpu, wasm -> @dcnv2/backend-wasm, webgpu -> @dcnv2/backend-webgpu;
                            webgpu-f16: the same with precision float16, on an adapter with shader-f16),
                            or a path (./my-backend.js) or package name of a module exporting
                            \`dcnBackend\` (a BackendProvider { name, create() }); inside the pnpm
                            workspace, a short name NAME also finds @dcnv2/backend-NAME (pnpm create-backend)
  --backend-module SPEC     the same as --backend SPEC, for a module (kept as an alias)
  --other NAME|SPEC         another backend for the cross suite (repeatable; default: reference)
  --op OP                   deform_conv2d, deform_roi_pool or all (default: all, or with --vectors
                            the ops the files hold)
  --vectors FILE            vectors file in the golden format (repeatable); default: the golden set
  --suite A,B,...           suites to run (default all): ${SUITE_NAMES.join(', ')}
  --seed N                  seed of the randomised suites
  --fuzz-cases N            number of fuzz cases (default 300)
  --blocked-cases N         number of large fuzz cases that cross kernel blocking (default 4)
  --json FILE               write every row and the summary as JSON
  --quiet                   print only failures, skipped parts and the summary
  --help                    print this help

Exit status: 0 when nothing failed, 1 when a check failed or a backend could not be loaded, 2 on usage errors.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliOptions {
  /** A built-in name, or a module specifier/path (any other --backend value, or --backend-module), as given. */
  readonly backend: { readonly kind: 'name' | 'module'; readonly value: string };
  readonly others: readonly string[];
  /** The ops to run: one, 'all', or absent (every op; with --vectors, the ops those files hold). */
  readonly op?: VectorsOp | 'all';
  readonly vectors?: readonly string[];
  readonly suites?: readonly SuiteName[];
  readonly seed?: number;
  readonly fuzzCases?: number;
  readonly blockedCases?: number;
  readonly json?: string;
  readonly quiet: boolean;
  readonly help: boolean;
}

function integer(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) throw new UsageError(`${flag} expects an integer >= ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseCliArgs(argv: readonly string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        backend: { type: 'string' },
        'backend-module': { type: 'string' },
        other: { type: 'string', multiple: true },
        op: { type: 'string' },
        vectors: { type: 'string', multiple: true },
        suite: { type: 'string', multiple: true },
        seed: { type: 'string' },
        'fuzz-cases': { type: 'string' },
        'blocked-cases': { type: 'string' },
        json: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const help = values.help === true;
  const name = values.backend;
  const mod = values['backend-module'];
  if (!help && (name === undefined) === (mod === undefined)) throw new UsageError('give exactly one of --backend and --backend-module');
  // Anything that is not a built-in name is a module: a path (./my-backend.js) or a package name.
  const backend = name !== undefined && isBuiltinBackend(name) ? ({ kind: 'name', value: name } as const) : ({ kind: 'module', value: name ?? mod ?? '' } as const);
  const op = values.op as VectorsOp | 'all' | undefined;
  if (op !== undefined && op !== 'all' && !VECTOR_OPS.includes(op)) throw new UsageError(`--op expects ${VECTOR_OPS.join(', ')} or all, got ${JSON.stringify(values.op)}`);
  let suites: SuiteName[] | undefined;
  if (values.suite !== undefined) {
    suites = values.suite.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0) as SuiteName[];
    for (const s of suites) if (!SUITE_NAMES.includes(s)) throw new UsageError(`unknown suite ${JSON.stringify(s)}; expected some of ${SUITE_NAMES.join(', ')}`);
    if (suites.length === 0) throw new UsageError('--suite names no suite');
  }
  const seed = integer(values.seed, '--seed', -(2 ** 31));
  const fuzzCases = integer(values['fuzz-cases'], '--fuzz-cases', 0);
  const blockedCases = integer(values['blocked-cases'], '--blocked-cases', 0);
  return {
    backend,
    others: values.other ?? [],
    ...(op !== undefined ? { op } : {}),
    quiet: values.quiet === true,
    help,
    ...(values.vectors ? { vectors: values.vectors } : {}),
    ...(suites ? { suites } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(fuzzCases !== undefined ? { fuzzCases } : {}),
    ...(blockedCases !== undefined ? { blockedCases } : {}),
    ...(values.json !== undefined ? { json: values.json } : {}),
  };
}
