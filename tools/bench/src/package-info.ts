/**
 * Name and version of the package a module file belongs to (for the "what ran" column and the JSON), found by
 * walking up from the file to the nearest package.json with a name, which works even for packages whose
 * `exports` map hides their package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface PackageInfo {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
}

export function packageAbove(file: string): PackageInfo | null {
  for (let d = dirname(file); ; d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
        if (typeof pkg.name === 'string') return { name: pkg.name, version: String(pkg.version ?? '?'), dir: d };
      } catch {
        // an unreadable package.json: keep walking up
      }
    }
    if (dirname(d) === d) return null;
  }
}

/** `name version` of a package resolvable from `fromFile` (a file path or URL path), or `name ?`. */
export function packageVersion(name: string, fromFile: string): string {
  try {
    const entry = createRequire(fromFile).resolve(name);
    const info = packageAbove(entry);
    if (info !== null && info.name === name) return `${name} ${info.version}`;
  } catch {
    // not resolvable from here
  }
  return `${name} ?`;
}
