/**
 * Finds and creates the backends the CLI is asked for. Built-in names map to their packages; any other
 * backend is a module (package name or file path) exporting `dcnBackend: BackendProvider`. Package names
 * resolve from the user's directory first, then from the CLI's own location, and, inside a pnpm
 * workspace, from the workspace's own packages (a backend package cannot be a dependency of the
 * conformance package, since it depends on it for its tests).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Backend, BackendProvider } from '@dcnv2/core';
import { referenceProvider } from '../reference/reference-backend.js';
import { packageEntry, workspacePackages } from '../workspace.js';

export const BUILTIN_BACKENDS: Readonly<Record<string, string>> = {
  cpu: '@dcnv2/backend-cpu',
  wasm: '@dcnv2/backend-wasm',
  webgpu: '@dcnv2/backend-webgpu',
  'webgpu-f16': '@dcnv2/backend-webgpu',
};

/** Options a built-in name passes to its provider's create(): a variant of a backend rather than another package. */
const BUILTIN_OPTIONS: Readonly<Record<string, object>> = {
  'webgpu-f16': { precision: 'float16' },
};

/** Whether `value` is a built-in backend name (anything else given to --backend is a module path or package). */
export function isBuiltinBackend(value: string): boolean {
  return value === 'reference' || Object.hasOwn(BUILTIN_BACKENDS, value);
}

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

/** The entry file of the workspace package named `name` above `start`, or null when there is none. */
function resolveInWorkspace(start: string, name: string): string | null {
  const pkg = workspacePackages(start).find((p) => p.name === name);
  if (pkg === undefined) return null;
  const entry = packageEntry(pkg.dir);
  if ('reason' in entry) throw new Error(entry.reason);
  return entry.file;
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

/**
 * A short name (`demo`) of a workspace package `@dcnv2/backend-demo`, as `pnpm create-backend demo` makes
 * one: its entry file, or null when the workspace has no such package.
 */
function workspaceBackend(kind: 'name' | 'module', spec: string): string | null {
  if (kind !== 'module' || !/^[a-z][a-z0-9-]*$/.test(spec)) return null;
  for (const base of new Set([userDirectory(), process.cwd(), dirname(fileURLToPath(import.meta.url))])) {
    const r = resolveInWorkspace(base, `@dcnv2/backend-${spec}`);
    if (r !== null) return r;
  }
  return null;
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
    if (pkg === undefined) throw new Error(`unknown backend ${JSON.stringify(value)}: built-in names are reference, ${Object.keys(BUILTIN_BACKENDS).join(', ')}; or pass a module path or package name`);
    spec = pkg;
  }
  let file: string;
  try {
    file = workspaceBackend(kind, spec) ?? resolveBackendModule(spec);
  } catch (e) {
    // Not a built-in name, not a path, and no such package: most likely a misspelt name.
    if (kind === 'module' && !looksLikePath(spec)) {
      throw new Error(
        `unknown backend ${JSON.stringify(spec)}: built-in names are reference, ${Object.keys(BUILTIN_BACKENDS).join(', ')}; ` +
          `a module is a path (./my-backend.js) or an installed package, and ${(e as Error).message}`,
      );
    }
    throw e;
  }
  const mod = (await import(pathToFileURL(file).href)) as { dcnBackend?: unknown; default?: { dcnBackend?: unknown } };
  const provider = mod.dcnBackend ?? mod.default?.dcnBackend;
  if (!isProvider(provider)) throw new Error(`${spec} (${file}) does not export dcnBackend, a BackendProvider { name, create() }`);
  return provider;
}

/** A factory of uninitialised instances of a backend given by name or module (the same options each time). */
export async function backendFactory(kind: 'name' | 'module', value: string): Promise<() => Promise<Backend>> {
  const provider = await loadProvider(kind, value);
  const options = kind === 'name' ? BUILTIN_OPTIONS[value] : undefined;
  return async () => provider.create(options);
}

/** Creates and initialises a backend from a name or module. */
export async function createBackend(kind: 'name' | 'module', value: string): Promise<Backend> {
  const backend = await (await backendFactory(kind, value))();
  await backend.init();
  return backend;
}
