/**
 * Finds the dcnv2 backend packages to benchmark: the known names (`@dcnv2/backend-cpu`, `-wasm`, `-webgpu`) and
 * every other `@dcnv2/backend-*` package of the pnpm workspace, so that a new backend package is benchmarked
 * without any change here (listing it in KNOWN_BACKENDS only makes its absence visible as a "skipped" line).
 * Each resolves through Node's resolution from this package first (a dependency), then through the workspace
 * (a backend package cannot always be a dependency of the bench: it may depend on the bench's dependencies).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Backend names whose packages are expected to exist sooner or later: `@dcnv2/backend-<name>`. */
export const KNOWN_BACKENDS: readonly string[] = ['cpu', 'wasm', 'webgpu'];

const PREFIX = '@dcnv2/backend-';

export interface BackendModule {
  /** Backend name: `cpu`. */
  readonly name: string;
  /** Package name: `@dcnv2/backend-cpu`. */
  readonly pkg: string;
  /** The module file exporting `dcnBackend`, or null with `reason` when it cannot be used. */
  readonly file: string | null;
  readonly reason?: string;
}

interface WorkspacePackage {
  readonly name: string;
  readonly dir: string;
}

/** The packages of the pnpm workspace containing `start` (an empty list outside a workspace). */
export function workspacePackages(start: string): WorkspacePackage[] {
  for (let d = resolve(start); ; d = dirname(d)) {
    const ws = join(d, 'pnpm-workspace.yaml');
    if (existsSync(ws)) {
      const patterns = readFileSync(ws, 'utf8')
        .split('\n')
        .map((l) => /^\s*-\s*['"]?([^'"#]+?)['"]?\s*$/.exec(l)?.[1])
        .filter((p): p is string => p !== undefined);
      const out: WorkspacePackage[] = [];
      for (const p of patterns) {
        const dirs = p.endsWith('/*') ? subdirectories(join(d, p.slice(0, -2))) : [join(d, p)];
        for (const dir of dirs) {
          try {
            const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
            if (typeof pkg.name === 'string') out.push({ name: pkg.name, dir });
          } catch {
            // not a package
          }
        }
      }
      return out;
    }
    if (dirname(d) === d) return [];
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

/** The entry file of a package directory (exports "." import/default, else main), or why there is none. */
function packageEntry(dir: string): { file: string } | { reason: string } {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; main?: string; exports?: unknown };
  const dot = typeof pkg.exports === 'object' && pkg.exports !== null ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
  const cond = typeof dot === 'object' && dot !== null ? (dot as Record<string, unknown>) : {};
  const entry = typeof dot === 'string' ? dot : (cond.import ?? cond.default ?? pkg.main ?? 'index.js');
  const file = join(dir, String(entry));
  if (!existsSync(file)) return { reason: `${pkg.name} is at ${dir} but not built (${file} is missing): run pnpm build` };
  return { file };
}

export function discoverBackends(here: string = fileURLToPath(import.meta.url)): BackendModule[] {
  const workspace = workspacePackages(dirname(here)).filter((p) => p.name.startsWith(PREFIX));
  const names = [...KNOWN_BACKENDS];
  for (const p of workspace) {
    const name = p.name.slice(PREFIX.length);
    if (!names.includes(name)) names.push(name);
  }
  const req = createRequire(here);
  return names.map((name): BackendModule => {
    const pkg = PREFIX + name;
    try {
      return { name, pkg, file: req.resolve(pkg) };
    } catch {
      // not a dependency of the bench: look in the workspace
    }
    const ws = workspace.find((p) => p.name === pkg);
    if (ws === undefined) return { name, pkg, file: null, reason: `${pkg} is not installed nor in the workspace` };
    const entry = packageEntry(ws.dir);
    return 'file' in entry ? { name, pkg, file: entry.file } : { name, pkg, file: null, reason: entry.reason };
  });
}
