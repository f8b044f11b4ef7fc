/**
 * Finds and creates the backends the CLI is asked for. Built-in names map to their packages; any other
 * backend is a module (package name or file path) exporting `dcnBackend: BackendProvider`. Package names
 * resolve from the user's directory first, then from the CLI's own location, and, inside a pnpm
 * workspace, from the workspace's own packages (a backend package cannot be a dependency of the
 * conformance package, since it depends on it for its tests).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Backend, BackendProvider } from '@dcnv2/core';
import { referenceProvider } from '../reference/reference-backend.js';

export const BUILTIN_BACKENDS: Readonly<Record<string, string>> = {
  cpu: '@dcnv2/backend-cpu',
  wasm: '@dcnv2/backend-wasm',
  webgpu: '@dcnv2/backend-webgpu',
};

/**
 * The directory the user ran the command from. Under the package's own `cli` script (which pnpm runs in
 * the package folder), that is INIT_CWD; otherwise the process's working directory.
 */
export function userDirectory(): string {
  const viaOwnScript = process.env.npm_lifecycle_event === 'cli' && process.env.npm_package_name === '@dcnv2/conformance';
  return viaOwnScript && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd();
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:') || /\.(c|m)?js$/.test(spec);
}

function tryResolve(fromDir: string, spec: string): string | null {
  try {
    return createRequire(join(fromDir, '__dcnv2_conformance__.js')).resolve(spec);
  } catch {
    return null;
  }
}

/** The workspace package named `name`, found through pnpm-workspace.yaml above `start`. */
function resolveInWorkspace(start: string, name: string): string | null {
  for (let d = resolve(start); ; d = dirname(d)) {
    const ws = join(d, 'pnpm-workspace.yaml');
    if (existsSync(ws)) {
      const patterns = readFileSync(ws, 'utf8')
        .split('\n')
        .map((l) => /^\s*-\s*['"]?([^'"#]+?)['"]?\s*$/.exec(l)?.[1])
        .filter((p): p is string => p !== undefined);
      for (const p of patterns) {
        const dirs = p.endsWith('/*') ? subdirectories(join(d, p.slice(0, -2))) : [join(d, p)];
        for (const dir of dirs) {
          const entry = packageEntry(dir, name);
          if (entry !== null) return entry;
        }
      }
      return null;
    }
    if (dirname(d) === d) return null;
  }
}

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
}

/** The entry file of the package in `dir` when it is named `name` (exports "." default/import, else main). */
function packageEntry(dir: string, name: string): string | null {
  let pkg: { name?: string; main?: string; exports?: unknown };
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    return null;
  }
  if (pkg.name !== name) return null;
  const dot = typeof pkg.exports === 'object' && pkg.exports !== null ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
  const cond = typeof dot === 'object' && dot !== null ? (dot as Record<string, unknown>) : {};
  const entry = typeof dot === 'string' ? dot : (cond.default ?? cond.import ?? pkg.main ?? 'index.js');
  const file = join(dir, String(entry));
  if (!existsSync(file)) throw new Error(`${name} is at ${dir} but ${file} does not exist: build it first (pnpm --filter ${name} build)`);
  return file;
}

/** Resolves a module specifier or path to a file, or throws saying where it looked. */
export function resolveBackendModule(spec: string): string {
  const cwd = userDirectory();
  if (looksLikePath(spec)) {
    const file = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(cwd, spec);
    if (!existsSync(file)) throw new Error(`backend module ${spec} not found (looked for ${file})`);
    return file;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const bases = [...new Set([cwd, process.cwd(), here])];
  for (const base of bases) {
    const r = tryResolve(base, spec);
    if (r !== null) return r;
  }
  for (const base of bases) {
    const r = resolveInWorkspace(base, spec);
    if (r !== null) return r;
  }
  throw new Error(`cannot resolve backend module ${spec} from ${bases.join(', ')} (nor among the pnpm workspace packages); install it or pass a path`);
}

function isProvider(p: unknown): p is BackendProvider {
  return typeof p === 'object' && p !== null && typeof (p as BackendProvider).create === 'function';
}

/** The provider behind a built-in name, or a module exporting `dcnBackend`. */
export async function loadProvider(kind: 'name' | 'module', value: string): Promise<BackendProvider> {
  if (kind === 'name' && value === 'reference') return referenceProvider;
  let spec = value;
  if (kind === 'name') {
    const pkg = BUILTIN_BACKENDS[value];
    if (pkg === undefined) throw new Error(`unknown backend ${JSON.stringify(value)}: built-in names are reference, ${Object.keys(BUILTIN_BACKENDS).join(', ')}; use --backend-module for others`);
    spec = pkg;
  }
  const file = resolveBackendModule(spec);
  const mod = (await import(pathToFileURL(file).href)) as { dcnBackend?: unknown; default?: { dcnBackend?: unknown } };
  const provider = mod.dcnBackend ?? mod.default?.dcnBackend;
  if (!isProvider(provider)) throw new Error(`${spec} (${file}) does not export dcnBackend, a BackendProvider { name, create() }`);
  return provider;
}

/** Creates and initialises a backend from a name or module. */
export async function createBackend(kind: 'name' | 'module', value: string): Promise<Backend> {
  const provider = await loadProvider(kind, value);
  const backend = await provider.create();
  await backend.init();
  return backend;
}
