/**
 * Publishability: `pnpm pack` @dcnv2/core, @dcnv2/backend-cpu and @dcnv2/backend-wasm, install the tarballs with npm into a
 * scratch project outside the workspace (no workspace links, no registry: only the tarballs), then import
 * them there and run one op. Catches a wrong `exports` map, files missing from `files`, a `workspace:`
 * range left in a manifest, or a dist that imports something undeclared.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function pack(pkgDir: string): string {
  const dest = join(scratch, 'tarballs');
  execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: join(root, pkgDir), stdio: 'pipe' });
  const name = JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8')).name.replace('@', '').replace('/', '-');
  const tgz = readdirSync(dest).find((f) => f.startsWith(name) && f.endsWith('.tgz'));
  if (!tgz) throw new Error(`no tarball for ${pkgDir} in ${dest}`);
  return join(dest, tgz);
}

/**
 * Every TypeScript block of the root README's "Install and use" section, in order, as one module compiled
 * to plain JS (later blocks use what earlier ones defined, as a reader would run them).
 */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Install and use');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error('README: no ```ts block under "## Install and use"');
  return ts.transpileModule(blocks.join('\n'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

describe('packed packages install and run outside the workspace', () => {
  it('pnpm pack + npm install + import + one op', () => {
    const core = pack('packages/core');
    const cpu = pack('packages/backend-cpu');
    const wasm = pack('packages/backend-wasm');
    const wasmListing = execFileSync('tar', ['-tzf', wasm], { encoding: 'utf8' });
    for (const f of ['dist/index.js', 'dist/worker.js', 'dist/wasm/dcn-simd.wasm', 'dist/wasm/dcn-relaxed.wasm', 'dist/wasm/dcn-simd-mt.wasm', 'dist/wasm/dcn-relaxed-mt.wasm']) {
      expect(wasmListing).toContain(`package/${f}`);
    }
    const listing = execFileSync('tar', ['-tzf', cpu], { encoding: 'utf8' });
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/README.md');
    expect(listing).not.toMatch(/package\/(src|test)\//);

    const app = join(scratch, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', core, cpu, wasm], { cwd: app, stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/@dcnv2/backend-cpu/package.json'), 'utf8'));
    expect(manifest.dependencies['@dcnv2/core']).not.toMatch(/workspace:/);

    writeFileSync(
      join(app, 'main.mjs'),
      `import { registerBackend, setBackend, deformConv2d, ShapeError } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createWasmBackend } from '@dcnv2/backend-wasm';
registerBackend('cpu', () => createCpuBackend());
registerBackend('wasm', () => createWasmBackend({ threads: 2 }));
// 1x1x3x3 input of ones, 3x3 kernel of ones, zero offsets, unit mask, pad 1: the centre sums all 9.
const args = {
  input: { shape: [1, 1, 3, 3], data: new Float32Array(9).fill(1) },
  weight: { shape: [1, 1, 3, 3], data: new Float32Array(9).fill(1) },
  offset: { shape: [1, 18, 3, 3], data: new Float32Array(162) },
  mask: { shape: [1, 9, 3, 3], data: new Float32Array(81).fill(1) },
};
await setBackend('wasm');
const w = await deformConv2d(args, { padding: 1 });
await setBackend('cpu');
const y = await deformConv2d(args, { padding: 1 });
let err = null;
try { await deformConv2d({ input: { shape: [1, 1, 3], data: new Float32Array(3) } }); } catch (e) { err = e; }
console.log(JSON.stringify({ shape: y.shape, data: Array.from(y.data), wasm: Array.from(w.data), typed: err instanceof ShapeError || err?.name }));
// No dispose: an idle wasm worker pool must not keep the process alive (execFileSync would hang).
`,
    );
    const out = JSON.parse(execFileSync('node', ['main.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 }));
    expect(out.shape).toEqual([1, 1, 3, 3]);
    expect(out.data).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
    expect(out.wasm).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
    expect(out.typed).toBe('RankError');

    // The root README's usage example, exactly as printed, against the installed tarballs: the README
    // stays true or this fails.
    writeFileSync(join(app, 'readme-example.mjs'), readmeExample());
    const printed = execFileSync('node', ['readme-example.mjs'], { cwd: app, encoding: 'utf8' });
    expect(printed.trim().split('\n')).toEqual(['[ 1, 64, 56, 56 ]', '[ 1, 18, 56, 56 ]', '[ 2, 64, 7, 7 ]']);
  }, 120_000);
});
