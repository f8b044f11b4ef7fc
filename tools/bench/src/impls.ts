/**
 * The implementations the bench knows, in the order rows appear: every dcnv2 backend found (backends.ts), then
 * the peers a user would pick instead (deformable ones, then the dense yardsticks). Each entry says which
 * worker adapter runs it, in which runtime, which directions it has and whether it takes a thread count.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { discoverBackends } from './backends.js';
import type { Direction } from './shapes.js';

export type ImplKind = 'deformable' | 'dense';

export interface ImplSpec {
  /** Row name: `dcnv2-cpu`, `ort-web`, `dense-tfjs-wasm`, ... */
  readonly id: string;
  /** Worker adapter (worker.ts, python/torch_worker.py). */
  readonly adapter: string;
  readonly runtime: 'node' | 'python';
  /** A dense conv is the cost yardstick, not a deformable conv: checked against a plain conv instead. */
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

const PEERS: readonly ImplSpec[] = [
  {
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
    id: 'torchvision',
    adapter: 'torchvision',
    runtime: 'python',
    kind: 'deformable',
    directions: ['fwd', 'fwdbwd'],
    threaded: true,
    description: 'torchvision.ops.deform_conv2d on the CPU, through python3',
  },
  {
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
    id: 'dense-torch',
    adapter: 'dense-torch',
    runtime: 'python',
    kind: 'dense',
    directions: ['fwd', 'fwdbwd'],
    threaded: true,
    description: 'plain conv: torch.nn.functional.conv2d on the CPU, through python3',
  },
];

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

/** A dcnv2 backend as a benchmarked implementation: every backend module is driven the same way. */
function dcnv2Impl(id: string, module: string, description: string): ImplSpec {
  return { id, adapter: 'dcnv2', runtime: 'node', kind: 'deformable', directions: ['fwd', 'fwdbwd'], threaded: true, module, description };
}

/** Matches an id against `--impl` patterns (comma-separated substrings; none given: everything). */
export function matchesFilter(id: string, patterns: readonly string[]): boolean {
  return patterns.length === 0 || patterns.some((p) => id.includes(p));
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

/** Every implementation that can run here, after the `--impl` filter, and why the others cannot. */
export async function buildCatalogue(patterns: readonly string[], extra: readonly ExtraBackend[] = []): Promise<Catalogue> {
  const impls: ImplSpec[] = [];
  const skipped: SkippedImpl[] = [];
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
    const id = `dcnv2-${name}`;
    if (!matchesFilter(id, patterns)) continue;
    impls.push(dcnv2Impl(id, e.file, `dcnv2 ${name} backend (${e.spec}) through @dcnv2/core`));
  }
  for (const b of discoverBackends()) {
    const id = `dcnv2-${b.name}`;
    if (!matchesFilter(id, patterns) || impls.some((i) => i.id === id)) continue;
    if (b.file === null) {
      skipped.push({ id, reason: b.reason ?? 'not available' });
      continue;
    }
    impls.push(dcnv2Impl(id, b.file, `dcnv2 ${b.name} backend (${b.pkg}) through @dcnv2/core`));
  }
  const wanted = PEERS.filter((p) => matchesFilter(p.id, patterns));
  const python = wanted.some((p) => p.runtime === 'python') ? await probePython(pythonPath()) : null;
  for (const p of wanted) {
    const reason = p.runtime !== 'python' || python === null ? null : p.adapter === 'torchvision' ? python.torchvision : python.torch;
    if (reason !== null) skipped.push({ id: p.id, reason });
    else impls.push(p);
  }
  return { impls, skipped };
}
