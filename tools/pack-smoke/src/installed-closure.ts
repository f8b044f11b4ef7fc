/**
 * A third-party package and its runtime dependencies as folders already installed in the workspace, so
 * a scratch project can `npm install --offline` them (as folders with `--install-links`, or as tarballs
 * packed from them: `packThirdParty`): npm's cache holds no tarballs of them, and the registry must not be
 * reached.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

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

/** Third-party packages for a scratch project's `npm install --offline`: tarballs, and the `overrides` to write into its package.json. */
export interface PackedThirdParty {
  /** Tarballs to pass to `npm install`: one version of each package name. */
  readonly tarballs: string[];
  /** `{ [dependent]: { [name]: 'file:<tarball>' } }` for the dependencies a package needs at another version than the one at the top. */
  readonly overrides: Record<string, Record<string, string>>;
}

/**
 * Packs `names` (each as seen from `fromDir`) and, transitively, their `dependencies`, from the workspace's
 * install, into tarballs in `dest`, for a scratch project to `npm install --offline` without the registry.
 *
 * Tarballs, not folders (`--install-links`): npm packs a folder by running its `prepare` script, a build
 * step of the package's own repository (node-fetch 2's runs rollup through cross-env, which a user never
 * has), and npm 11's `pack` of tfjs-core's folder dies ("Exit handler never called"); a folder of the
 * install is what the published tarball held, so it is tarred back as it is, under npm's `package/` prefix.
 * Where the closure holds two versions of one name (tfjs-core pins @webgpu/types 0.1.38, backend-webgpu
 * and `webgpu` want 0.1.74), the first one met goes to the top and each package that needs another one gets
 * it through an npm `overrides` entry, as npm nests it for a user: a second folder of the same name passed
 * to `npm install` would replace the first, and the missing version would be looked up on the registry.
 */
export function packThirdParty(names: readonly { name: string; fromDir: string }[], dest: string): PackedThirdParty {
  const top = new Map<string, string>();
  const nested = new Map<string, Map<string, string>>();
  const seen = new Set<string>();
  const visit = (pkg: string, from: string, dependent: string | null): void => {
    const dir = findPackageDir(from, pkg);
    if (dir === null) throw new Error(`${pkg} is not installed where ${from} can see it (run pnpm install)`);
    const atTop = top.get(pkg);
    if (atTop === undefined) top.set(pkg, dir);
    else if (atTop !== dir) {
      if (dependent === null) throw new Error(`${pkg}: two versions asked for at the top (${atTop}, ${dir})`);
      const o = nested.get(dependent) ?? new Map<string, string>();
      const other = o.get(pkg);
      if (other !== undefined && other !== dir) throw new Error(`${dependent} needs two versions of ${pkg} (${other}, ${dir})`);
      o.set(pkg, dir);
      nested.set(dependent, o);
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, manifest.name);
  };
  for (const { name, fromDir } of names) visit(name, fromDir, null);
  mkdirSync(dest, { recursive: true });
  const tarball = new Map(
    [...seen].map((dir) => {
      const m = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
      const tgz = join(dest, `${m.name.replace('@', '').replace('/', '-')}-${m.version}.tgz`);
      // The folder holds what the published tarball held (the package manager unpacked it there): tar it back
      // under npm's `package/` prefix.
      tarFolder(tgz, dir);
      return [dir, tgz] as const;
    }),
  );
  return {
    tarballs: [...top.values()].map((d) => tarball.get(d)!),
    overrides: Object.fromEntries([...nested].map(([dependent, o]) => [dependent, Object.fromEntries([...o].map(([n, d]) => [n, `file:${tarball.get(d)!}`]))])),
  };
}

/**
 * Tars `dir` into `tgz` under npm's `package/` prefix. GNU tar fails (exit 1) when a file's status changes
 * while it reads it, which a parallel task touching the shared install can cause (CI runs every package's
 * tests at once; seen once on tfjs-core's dist): that case is tried again, a few times, and then reported.
 */
function tarFolder(tgz: string, dir: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('tar', ['-czf', tgz, '-C', dirname(dir), '--transform', 's,^[^/]*,package,', basename(dir)], { stdio: 'pipe' });
      return;
    } catch (e) {
      const stderr = String((e as { stderr?: unknown }).stderr ?? '');
      if (attempt >= 4 || !/file changed as we read it/.test(stderr)) throw e;
    }
  }
}
