/**
 * The implementations the bench knows, per op, in the order rows appear: every dcnv2 backend found
 * (backends.ts), then the peers a user would pick instead. For the convolution: deformable peers, then the dense
 * yardsticks (a plain conv of the same shape). For RoI pooling: dcnv2 with offsets and masks and, as a separate
 * `-plain` row, without them (`--variant`), then the RoIAlign peers, which have no offsets or masks. Each entry
 * says which worker adapter runs it, in which runtime, which directions it has and whether it takes a thread
 * count.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { discoverBackends } from './backends.js';
import { ROI_VARIANTS, type BenchOp, type RoiVariant } from './ops.js';
import type { Direction } from './shapes.js';
import { directImplOf, TFJS_DCNV2_BACKENDS, tfjsDcnv2Id, type TfjsDcnv2Layout } from './tfjs-rows.js';

/** Convolution rows: the deformable conv, or a dense conv of the same shape (the cost yardstick). */
export type ConvKind = 'deformable' | 'dense';
/** RoI pooling rows: modulated deformable RoI pooling, or plain RoIAlign (no offset, no mask). */
export type RoiKind = 'deformable' | 'plain';
export type ImplKind = ConvKind | RoiKind;

export interface ImplSpec {
  readonly op: BenchOp;
  /** Row name: `dcnv2-cpu`, `ort-web`, `dense-tfjs-wasm`, `dcnv2-cpu-plain`, `roialign-torchvision`, ... */
  readonly id: string;
  /** Worker adapter (worker.ts, python/torch_worker.py). */
  readonly adapter: string;
  readonly runtime: 'node' | 'python';
  /** What it computes, so what it is checked against: a dense conv or RoIAlign is held to the plain op's reference. */
  readonly kind: ImplKind;
  /** Directions it implements (fwdbwd only where it has a backward; dcnv2 backends say so at setup). */
  readonly directions: readonly Direction[];
  /** Why there is no forward + backward row, where `directions` lacks it. */
  readonly fwdOnlyReason?: string;
  /** Takes a thread count; false: runs once, single-threaded, whatever --threads says. */
  readonly threaded: boolean;
  /** dcnv2 backends: the module exporting `dcnBackend`. */
  readonly module?: string;
  readonly description: string;
}

export interface SkippedImpl {
  readonly id: string;
  readonly reason: string;
}

export interface Catalogue {
  readonly impls: readonly ImplSpec[];
  readonly skipped: readonly SkippedImpl[];
}

/** Debian's interpreter, where python3-torchvision installs; DCNV2_BENCH_PYTHON overrides it. */
export const DEFAULT_PYTHON = '/usr/bin/python3';

export function pythonPath(): string {
  return process.env.DCNV2_BENCH_PYTHON || DEFAULT_PYTHON;
}

const CONV_PEERS: readonly ImplSpec[] = [
  {
    op: 'deform_conv2d',
    id: 'ort-web',
    adapter: 'ort-web',
    runtime: 'node',
    kind: 'deformable',
    directions: ['fwd'],
    fwdOnlyReason: 'ONNX Runtime has no DeformConv gradient',
    threaded: true,
    description: 'onnxruntime-web DeformConv (opset 19), wasm backend under Node',
  },
  {
    op: 'deform_conv2d',
    id: 'ort-node',
    adapter: 'ort-node',
    runtime: 'node',
    kind: 'deformable',
    directions: ['fwd'],
    fwdOnlyReason: 'ONNX Runtime has no DeformConv gradient',
    threaded: true,
    description: 'onnxruntime-node DeformConv (opset 19), CPU execution provider (native)',
  },
  {
    op: 'deform_conv2d',
    id: 'torchvision',
    adapter: 'torchvision',
    runtime: 'python',
    kind: 'deformable',
    directions: ['fwd', 'fwdbwd'],
    threaded: true,
    description: 'torchvision.ops.deform_conv2d on the CPU, through python3',
  },
  // dcnv2 through @dcnv2/tfjs: NCHW (the case's tensors as they are), then tfjs's default NHWC.
  ...(['NCHW', 'NHWC'] as const satisfies readonly TfjsDcnv2Layout[]).flatMap((layout) =>
    TFJS_DCNV2_BACKENDS.map(
      (backend): ImplSpec => ({
        op: 'deform_conv2d',
        id: tfjsDcnv2Id(backend, layout),
        adapter: tfjsDcnv2Id(backend, layout),
        runtime: 'node',
        kind: 'deformable',
        directions: ['fwd', 'fwdbwd'],
        threaded: false,
        description:
          `@dcnv2/tfjs deformConv2d on tf.Tensors (${layout === 'NCHW' ? 'NCHW / OIHW' : 'NHWC / HWIO, tfjs\'s default'}) on tfjs-backend-${backend}, ` +
          `its kernels on @dcnv2/backend-${backend}${backend === 'wasm' ? ' (1 thread)' : ''}; gradients through tf.valueAndGrads`,
      }),
    ),
  ),
  {
    op: 'deform_conv2d',
    id: 'dense-tfjs-cpu',
    adapter: 'dense-tfjs-cpu',
    runtime: 'node',
    kind: 'dense',
    directions: ['fwd'],
    fwdOnlyReason: "tfjs-backend-cpu's Conv2DBackpropFilter is a naive loop (~80x its forward)",
    threaded: false,
    description: 'plain conv: tfjs-core fused conv2d on tfjs-backend-cpu (JavaScript)',
  },
  {
    op: 'deform_conv2d',
    id: 'dense-tfjs-wasm',
    adapter: 'dense-tfjs-wasm',
    runtime: 'node',
    kind: 'dense',
    directions: ['fwd'],
    fwdOnlyReason: 'tfjs-backend-wasm has no Conv2DBackpropFilter kernel',
    threaded: false,
    description: 'plain conv: tfjs-core fused conv2d on tfjs-backend-wasm (XNNPACK, SIMD)',
  },
  {
    op: 'deform_conv2d',
    id: 'dense-ort-node',
    adapter: 'dense-ort-node',
    runtime: 'node',
    kind: 'dense',
    directions: ['fwd'],
    fwdOnlyReason: 'ONNX Runtime has no Conv gradient (inference only)',
    threaded: true,
    description: 'plain conv: onnxruntime-node Conv, CPU execution provider (native)',
  },
  {
    op: 'deform_conv2d',
    id: 'dense-torch',
    adapter: 'dense-torch',
    runtime: 'python',
    kind: 'dense',
    directions: ['fwd', 'fwdbwd'],
    threaded: true,
    description: 'plain conv: torch.nn.functional.conv2d on the CPU, through python3',
  },
];

const ROIALIGN_NO_GRADIENT = 'ONNX Runtime has no RoiAlign gradient (inference only)';

/** The RoIAlign peers: what a user has instead of deformable RoI pooling, without offsets and masks. */
const ROI_PEERS: readonly ImplSpec[] = [
  {
    op: 'deform_roi_pool',
    id: 'roialign-ort-web',
    adapter: 'roialign-ort-web',
    runtime: 'node',
    kind: 'plain',
    directions: ['fwd'],
    fwdOnlyReason: ROIALIGN_NO_GRADIENT,
    threaded: true,
    description: 'onnxruntime-web RoiAlign (opset 16, half_pixel, avg), wasm backend under Node',
  },
  {
    op: 'deform_roi_pool',
    id: 'roialign-ort-node',
    adapter: 'roialign-ort-node',
    runtime: 'node',
    kind: 'plain',
    directions: ['fwd'],
    fwdOnlyReason: ROIALIGN_NO_GRADIENT,
    threaded: true,
    description: 'onnxruntime-node RoiAlign (opset 16, half_pixel, avg), CPU execution provider (native)',
  },
  {
    op: 'deform_roi_pool',
    id: 'roialign-torchvision',
    adapter: 'roialign-torchvision',
    runtime: 'python',
    kind: 'plain',
    directions: ['fwd', 'fwdbwd'],
    threaded: true,
    description: 'torchvision.ops.roi_align(aligned=True) on the CPU, through python3',
  },
];

const PEERS: Readonly<Record<BenchOp, readonly ImplSpec[]>> = { deform_conv2d: CONV_PEERS, deform_roi_pool: ROI_PEERS };

/** What python3 can import: null when fine, else why the PyTorch peers are skipped. */
export function probePython(python: string): Promise<{ torch: string | null; torchvision: string | null }> {
  if (!existsSync(python)) {
    const reason = `${python} not found (install Debian's python3-torchvision, or set DCNV2_BENCH_PYTHON)`;
    return Promise.resolve({ torch: reason, torchvision: reason });
  }
  const script = [
    'import sys',
    'try:\n import torch\nexcept Exception as e:\n print("torch:" + str(e).replace("\\n", " ")); sys.exit(0)',
    'try:\n import torchvision.ops\nexcept Exception as e:\n print("torchvision:" + str(e).replace("\\n", " ")); sys.exit(0)',
    'print("ok")',
  ].join('\n');
  return new Promise((resolve) => {
    execFile(python, ['-c', script], { timeout: 120_000 }, (err, stdout) => {
      const out = String(stdout).trim();
      if (err !== null && out === '') {
        const reason = `${python} failed: ${err.message.split('\n')[0]}`;
        resolve({ torch: reason, torchvision: reason });
      } else if (out.startsWith('torch:')) {
        const reason = `torch is not importable by ${python}: ${out.slice(6)} (install Debian's python3-torchvision)`;
        resolve({ torch: reason, torchvision: reason });
      } else if (out.startsWith('torchvision:')) {
        resolve({ torch: null, torchvision: `torchvision is not importable by ${python}: ${out.slice(12)}` });
      } else {
        resolve({ torch: null, torchvision: null });
      }
    });
  });
}

/**
 * A dcnv2 backend as benchmarked implementations of `op`: every backend module is driven the same way. For RoI
 * pooling, one row per variant: `dcnv2-<name>` with offsets and masks, `dcnv2-<name>-plain` without.
 */
function dcnv2Impls(op: BenchOp, name: string, module: string, source: string, variants: readonly RoiVariant[]): ImplSpec[] {
  const common = { op, runtime: 'node', directions: ['fwd', 'fwdbwd'], threaded: true, module } as const;
  if (op === 'deform_conv2d') {
    return [{ ...common, id: `dcnv2-${name}`, adapter: 'dcnv2', kind: 'deformable', description: `dcnv2 ${name} backend (${source}) through @dcnv2/core` }];
  }
  return variants.map((v): ImplSpec =>
    v === 'modulated'
      ? { ...common, id: `dcnv2-${name}`, adapter: 'dcnv2-roi', kind: 'deformable', description: `dcnv2 ${name} backend (${source}) through @dcnv2/core deformRoiPool, with offsets and masks` }
      : { ...common, id: `dcnv2-${name}-plain`, adapter: 'dcnv2-roi-plain', kind: 'plain', description: `dcnv2 ${name} backend (${source}) through @dcnv2/core deformRoiPool without offset and mask (= RoIAlign aligned=True)` },
  );
}

/**
 * Matches an id against `--impl` patterns (comma-separated substrings; none given: everything). A pattern that
 * is the whole id of a direct dcnv2 row (`dcnv2-cpu`) does not also select the @dcnv2/tfjs rows wrapping it
 * (`tfjs-dcnv2-cpu`): `--impl dcnv2-cpu,tfjs-dcnv2` is the two side by side, `--impl dcnv2-cpu` the direct row.
 */
export function matchesFilter(id: string, patterns: readonly string[]): boolean {
  const direct = directImplOf(id);
  return patterns.length === 0 || patterns.some((p) => id.includes(p) && p !== direct);
}

/** A `--backend-module` resolved: the file, or why it cannot be used. */
export interface ExtraBackend {
  readonly spec: string;
  readonly file: string | null;
  readonly reason?: string;
}

/**
 * Reads the provider's name from a backend module (importing it creates nothing: providers create backends in
 * `create()`), so its rows are named after the backend.
 */
async function providerName(file: string): Promise<string> {
  const mod = (await import(pathToFileURL(file).href)) as { dcnBackend?: { name?: unknown }; default?: { dcnBackend?: { name?: unknown } } };
  const name = (mod.dcnBackend ?? mod.default?.dcnBackend)?.name;
  if (typeof name !== 'string' || name === '') throw new Error('it does not export dcnBackend, a BackendProvider { name, create() }');
  return name;
}

/** Resolves `--backend-module` values: paths against `cwd`, package names through Node's resolution from `cwd`. */
export function resolveBackendModules(specs: readonly string[], cwd: string): ExtraBackend[] {
  return specs.map((spec) => {
    const looksLikePath = spec.startsWith('.') || isAbsolute(spec) || /\.(c|m)?js$/.test(spec);
    if (looksLikePath) {
      const file = resolve(cwd, spec);
      return existsSync(file) ? { spec, file } : { spec, file: null, reason: `${file} does not exist` };
    }
    try {
      return { spec, file: createRequire(join(cwd, 'noop.js')).resolve(spec) };
    } catch {
      return { spec, file: null, reason: `cannot resolve ${spec} from ${cwd}` };
    }
  });
}

/**
 * Every implementation of `op` that can run here, after the `--impl` filter, and why the others cannot.
 * `variants`: which dcnv2 RoI pooling rows to run (ignored for the convolution).
 */
export async function buildCatalogue(
  op: BenchOp,
  patterns: readonly string[],
  extra: readonly ExtraBackend[] = [],
  variants: readonly RoiVariant[] = ROI_VARIANTS,
): Promise<Catalogue> {
  const impls: ImplSpec[] = [];
  const skipped: SkippedImpl[] = [];
  const add = (name: string, file: string, source: string) => {
    for (const impl of dcnv2Impls(op, name, file, source, variants)) if (matchesFilter(impl.id, patterns)) impls.push(impl);
  };
  // A --backend-module of the same name as a workspace backend replaces it.
  const given = new Set<string>();
  for (const e of extra) {
    if (e.file === null) {
      skipped.push({ id: e.spec, reason: e.reason ?? 'not found' });
      continue;
    }
    let name: string;
    try {
      name = await providerName(e.file);
    } catch (err) {
      skipped.push({ id: e.spec, reason: `${e.file}: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    if (given.has(name)) continue;
    given.add(name);
    add(name, e.file, e.spec);
  }
  for (const b of discoverBackends()) {
    if (given.has(b.name)) continue;
    if (b.file === null) {
      const id = `dcnv2-${b.name}`;
      if (matchesFilter(id, patterns)) skipped.push({ id, reason: b.reason ?? 'not available' });
      continue;
    }
    add(b.name, b.file, b.pkg);
  }
  const wanted = PEERS[op].filter((p) => matchesFilter(p.id, patterns));
  const python = wanted.some((p) => p.runtime === 'python') ? await probePython(pythonPath()) : null;
  for (const p of wanted) {
    const needsTorchvision = p.adapter === 'torchvision' || p.adapter === 'roialign-torchvision';
    const reason = p.runtime !== 'python' || python === null ? null : needsTorchvision ? python.torchvision : python.torch;
    if (reason !== null) skipped.push({ id: p.id, reason });
    else impls.push(p);
  }
  return { impls, skipped };
}
