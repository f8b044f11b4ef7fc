/**
 * Writes a backend package from the templates in `template/`: real files (type-checked with this tool),
 * with `__name__` (the backend's name, `my-gpu`) and `__Name__` (`MyGpu`) replaced in file names and
 * contents, the tsconfig files pointed at the repository's tsconfig.base.json, and the pinned versions of
 * typescript, vitest and @types/node taken from the repository's root package.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspacePackages } from '@dcnv2/conformance';
import { checkName, NameError, packageNameOf, pascalCase } from './names.js';

/** Where the templates are, from src/ (tests) and dist/ (the CLI) alike. */
export const TEMPLATE_DIR = fileURLToPath(new URL('../template/', import.meta.url));

/** Dev dependencies whose pinned versions follow the repository root's. */
const PINNED_FROM_ROOT = ['typescript', 'vitest', '@types/node'] as const;

/** The repository root: the nearest folder above `start` with a pnpm-workspace.yaml. */
export function findRepoRoot(start: string = TEMPLATE_DIR): string {
  for (let d = resolve(start); ; d = dirname(d)) {
    if (existsSync(join(d, 'pnpm-workspace.yaml'))) return d;
    if (dirname(d) === d) throw new Error(`no pnpm-workspace.yaml above ${start}: run create-backend inside the dcnv2 repository`);
  }
}

export interface ScaffoldOptions {
  /** The backend's name: lowercase letters, digits and dashes (`my-gpu`). */
  readonly name: string;
  /** The folder the package goes into, as `<dir>/backend-<name>`. Default `<root>/packages`. */
  readonly dir?: string;
  /** The repository root (its tsconfig.base.json, root package.json and workspace). Default: the one around this tool. */
  readonly root?: string;
}

export interface ScaffoldResult {
  readonly name: string;
  readonly packageName: string;
  /** The new package's folder (absolute). */
  readonly dir: string;
  /** The files written, relative to `dir`, sorted. */
  readonly files: readonly string[];
}

function templateFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) {
      // Build outputs of a template type-check or a stray install never belong to a new package.
      if (e.name !== 'node_modules' && e.name !== 'dist') out.push(...templateFiles(dir, rel));
    } else if (e.isFile()) {
      out.push(rel);
    }
  }
  return out.sort();
}

/** `a/b` with forward slashes, as tsconfig `extends` wants it on every platform. */
function posix(p: string): string {
  return p.split(sep).join('/');
}

/** The generated package.json: the template's, with the root's pinned tool versions. */
function manifest(text: string, root: string): string {
  const pkg = JSON.parse(text) as { devDependencies?: Record<string, string> };
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  for (const dep of PINNED_FROM_ROOT) {
    const v = rootPkg.devDependencies?.[dep];
    if (v !== undefined && pkg.devDependencies?.[dep] !== undefined) pkg.devDependencies[dep] = v;
  }
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** Validates the name and writes `<dir>/backend-<name>/`. Throws `NameError` for a bad or taken name. */
export function scaffold(options: ScaffoldOptions): ScaffoldResult {
  const root = resolve(options.root ?? findRepoRoot());
  const existing = workspacePackages(root).map((p) => p.name);
  checkName(options.name, existing);
  const name = options.name;
  const target = resolve(options.dir ?? join(root, 'packages'), `backend-${name}`);
  if (existsSync(target)) throw new NameError(`${target} already exists; choose another name or remove it`);
  const Name = pascalCase(name);
  const fill = (s: string): string => s.replaceAll('__name__', name).replaceAll('__Name__', Name);
  const baseConfig = posix(relative(target, join(root, 'tsconfig.base.json')));
  const files: string[] = [];
  for (const rel of templateFiles(TEMPLATE_DIR)) {
    let text = fill(readFileSync(join(TEMPLATE_DIR, rel), 'utf8'));
    if (rel === 'package.json') text = manifest(text, root);
    if (/^tsconfig(\.[a-z]+)?\.json$/.test(rel)) text = text.replace('"../../tsconfig.base.json"', JSON.stringify(baseConfig));
    const out = fill(rel);
    mkdirSync(dirname(join(target, out)), { recursive: true });
    writeFileSync(join(target, out), text);
    files.push(out);
  }
  return { name, packageName: packageNameOf(name), dir: target, files: files.sort() };
}
