/**
 * Packing a workspace package the way it would be published (`pnpm pack`, which rewrites `workspace:`
 * ranges) and reading what the tarball holds.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `pnpm pack` of the package in `pkgDir` into `dest`; returns the tarball's path. */
export function packWorkspacePackage(pkgDir: string, dest: string): string {
  execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: pkgDir, stdio: 'pipe' });
  const name = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string }).name.replace('@', '').replace('/', '-');
  const tgz = readdirSync(dest).find((f) => f.startsWith(`${name}-`) && f.endsWith('.tgz'));
  if (tgz === undefined) throw new Error(`no tarball for ${pkgDir} in ${dest}`);
  return join(dest, tgz);
}

/** The tarball's file paths, without npm's `package/` prefix, sorted. */
export function tarballFiles(tgz: string): string[] {
  return execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('package/') && !l.endsWith('/'))
    .map((l) => l.slice('package/'.length))
    .sort();
}

/**
 * What is wrong with a publishable package's file list, as sentences (empty when nothing): it must hold
 * package.json, README.md, LICENSE and dist/index.{js,d.ts}, a declaration beside every dist module (so every
 * import a consumer can reach is typed), and no tests, TypeScript sources or other repository files.
 * `extraSources` are paths the package ships on purpose outside dist (e.g. the C behind a .wasm);
 * `notImported` are dist scripts no consumer imports (a bundled worker, which runs on its own), so they
 * need no declaration.
 */
export function packagingProblems(files: readonly string[], extraSources: RegExp | null = null, notImported: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) {
    if (!files.includes(f)) problems.push(`missing ${f}`);
  }
  const set = new Set(files);
  for (const f of files) {
    if (f.startsWith('dist/') && f.endsWith('.js') && !notImported.includes(f) && !set.has(f.replace(/\.js$/, '.d.ts'))) problems.push(`${f} has no .d.ts`);
    const shipped = f === 'package.json' || f === 'README.md' || f === 'LICENSE' || f.startsWith('dist/') || (extraSources?.test(f) ?? false);
    if (!shipped) problems.push(`unexpected ${f}`);
    if (/(^|\/)(test|__tests__)\/|\.test\.[cm]?[jt]s$|\.tsbuildinfo$/.test(f)) problems.push(`test or build junk ${f}`);
  }
  return problems;
}
