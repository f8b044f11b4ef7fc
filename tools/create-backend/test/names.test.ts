/** Name validation and what a name becomes (package, class and function names). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkName, NameError, packageNameOf, pascalCase, RESERVED_NAMES } from '../src/names.js';
import { findRepoRoot, scaffold } from '../src/scaffold.js';

const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-create-backend-names-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('checkName', () => {
  it('accepts lowercase letters, digits and single inner dashes, starting with a letter', () => {
    for (const n of ['demo', 'my-gpu', 'webgl2', 'a', 'x86-simd-v2']) expect(() => checkName(n), n).not.toThrow();
  });

  it.each([
    ['', /a backend name is required/],
    ['Foo', /invalid backend name "Foo": use lowercase letters, digits and dashes/],
    ['my_gpu', /invalid backend name "my_gpu"/],
    ['2d', /starting with a letter/],
    ['-x', /invalid backend name "-x"/],
    ['x-', /no dash at the end/],
    ['a--b', /no two dashes in a row/],
    ['my gpu', /invalid backend name "my gpu"/],
    ['@dcnv2/backend-x', /invalid backend name/],
    ['../evil', /invalid backend name/],
    ['backend-x', /without the "backend-" prefix: create-backend x makes @dcnv2\/backend-x/],
    ['a'.repeat(41), /longer than 40 characters/],
  ])('refuses %j', (name, message) => {
    expect(() => checkName(name)).toThrow(NameError);
    expect(() => checkName(name)).toThrow(message);
  });

  it('refuses a non-string', () => {
    expect(() => checkName(undefined)).toThrow(/a backend name is required/);
    expect(() => checkName(3)).toThrow(NameError);
  });

  it.each(['cpu', 'wasm', 'webgpu', 'reference', 'webgpu-f16'])('refuses the built-in name %s', (name) => {
    expect(RESERVED_NAMES).toContain(name);
    expect(() => checkName(name)).toThrow(`${JSON.stringify(name)} is a built-in backend name of the conformance CLI`);
  });

  it('refuses the name of a package the workspace has', () => {
    expect(() => checkName('demo', ['@dcnv2/core', '@dcnv2/backend-demo'])).toThrow('@dcnv2/backend-demo already exists in this workspace');
    expect(() => checkName('demo', ['@dcnv2/core'])).not.toThrow();
  });
});

describe('derived names', () => {
  it('package and PascalCase names', () => {
    expect(packageNameOf('my-gpu')).toBe('@dcnv2/backend-my-gpu');
    expect(pascalCase('my-gpu')).toBe('MyGpu');
    expect(pascalCase('demo')).toBe('Demo');
    expect(pascalCase('x86-simd-v2')).toBe('X86SimdV2');
  });
});

describe('scaffold', () => {
  const root = findRepoRoot();

  it('finds the repository root', () => {
    expect(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')).toMatch(/packages/);
    expect(resolve(root, 'tools/create-backend')).toBe(resolve(import.meta.dirname, '..'));
  });

  it('writes every template file with the names filled in, pinned versions from the root, tsconfig pointing at the base', () => {
    const made = scaffold({ name: 'my-gpu', dir: scratch, root });
    expect(made.packageName).toBe('@dcnv2/backend-my-gpu');
    expect(made.dir).toBe(join(scratch, 'backend-my-gpu'));
    expect(made.files).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
      'src/index.ts',
      'src/my-gpu-backend.ts',
      'test/conformance.test.ts',
      'tsconfig.build.json',
      'tsconfig.json',
      'vitest.config.ts',
    ]);
    for (const f of made.files) expect(readFileSync(join(made.dir, f), 'utf8'), f).not.toMatch(/__name__|__Name__/);
    const index = readFileSync(join(made.dir, 'src/index.ts'), 'utf8');
    expect(index).toContain('export function createMyGpuBackend(');
    expect(index).toContain("from './my-gpu-backend.js'");
    expect(index).toContain("name: 'my-gpu'");
    expect(readFileSync(join(made.dir, 'src/my-gpu-backend.ts'), 'utf8')).toContain('export class MyGpuBackend implements Backend<Float32Array>');

    const pkg = JSON.parse(readFileSync(join(made.dir, 'package.json'), 'utf8'));
    const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: '@dcnv2/backend-my-gpu', version: '0.0.0', private: true, type: 'module', license: 'MIT' });
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' });
    expect(pkg.scripts).toEqual({ build: 'tsc -p tsconfig.build.json', typecheck: 'tsc -p tsconfig.json', test: 'vitest run' });
    expect(pkg.dependencies).toEqual({ '@dcnv2/core': 'workspace:^' });
    expect(pkg.devDependencies).toEqual({
      '@dcnv2/conformance': 'workspace:^',
      '@types/node': rootPkg.devDependencies['@types/node'],
      typescript: rootPkg.devDependencies.typescript,
      vitest: rootPkg.devDependencies.vitest,
    });
    for (const t of ['tsconfig.json', 'tsconfig.build.json']) {
      const ext = JSON.parse(readFileSync(join(made.dir, t), 'utf8')).extends as string;
      expect(resolve(made.dir, ext), t).toBe(join(root, 'tsconfig.base.json'));
    }
  });

  it('the template pins the same tool versions as the repository root', () => {
    const template = JSON.parse(readFileSync(join(import.meta.dirname, '../template/package.json'), 'utf8'));
    const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    for (const d of ['typescript', 'vitest', '@types/node']) expect(template.devDependencies[d], d).toBe(rootPkg.devDependencies[d]);
  });

  it('refuses a folder that exists, and a bad or reserved name, before writing anything', () => {
    expect(() => scaffold({ name: 'my-gpu', dir: scratch, root })).toThrow(/backend-my-gpu already exists/);
    expect(() => scaffold({ name: 'cpu', dir: scratch, root })).toThrow(/built-in backend name/);
    expect(() => scaffold({ name: 'Bad', dir: scratch, root })).toThrow(/invalid backend name/);
    expect(() => scaffold({ name: 'cpu', dir: scratch, root })).toThrow(NameError);
  });
});
