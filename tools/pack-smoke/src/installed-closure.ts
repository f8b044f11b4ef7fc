/**
 * A third-party package and its runtime dependencies as folders already installed in the workspace, so
 * a scratch project can `npm install --offline --install-links` them: npm's cache holds no tarballs of
 * them, and the registry must not be reached.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Node's lookup of package `name` from `fromDir` (its node_modules search paths), as a real path. */
function findPackageDir(fromDir: string, name: string): string | null {
  const paths = createRequire(join(fromDir, 'package.json')).resolve.paths(name) ?? [];
  const hit = paths.map((p) => join(p, name)).find((d) => existsSync(join(d, 'package.json')));
  return hit === undefined ? null : realpathSync(hit);
}

/** The real folders of `name` (as seen from `fromDir`) and, transitively, of its `dependencies`. */
export function installedClosure(name: string, fromDir: string): string[] {
  const found = new Map<string, string>();
  const visit = (pkg: string, from: string): void => {
    const dir = findPackageDir(from, pkg);
    if (dir === null) throw new Error(`${pkg} is not installed where ${from} can see it (run pnpm install)`);
    if (found.has(dir)) return;
    found.set(dir, pkg);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir);
  };
  visit(name, fromDir);
  return [...found.keys()];
}
