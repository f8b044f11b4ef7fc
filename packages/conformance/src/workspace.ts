/**
 * Finding packages of the enclosing pnpm workspace. Tools that load backends by name (the conformance
 * CLI, the benchmarks) need it: a backend package cannot be a dependency of those tools, since it depends
 * on them for its own tests, so Node's resolution alone does not find it inside the monorepo.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface WorkspacePackage {
  readonly name: string;
  readonly dir: string;
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

/** The ESM entry file of a package directory (exports "." import/default, else main), or why there is none. */
export function packageEntry(dir: string): { file: string } | { reason: string } {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; main?: string; exports?: unknown };
  const dot = typeof pkg.exports === 'object' && pkg.exports !== null ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
  const cond = typeof dot === 'object' && dot !== null ? (dot as Record<string, unknown>) : {};
  const entry = typeof dot === 'string' ? dot : (cond.import ?? cond.default ?? pkg.main ?? 'index.js');
  const file = join(dir, String(entry));
  if (!existsSync(file)) return { reason: `${pkg.name} is at ${dir} but not built (${file} is missing): run pnpm build` };
  return { file };
}
