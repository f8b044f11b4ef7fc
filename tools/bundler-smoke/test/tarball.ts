/** `pnpm pack` of a workspace package, as it would be published (a copy of tools/pack-smoke's helper). */
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
