/**
 * Publishability: `pnpm pack` @dcnv2/core, backend-cpu, backend-wasm, backend-webgpu and conformance, install the
 * tarballs with npm into a scratch project outside the workspace (no workspace links, no registry: only the
 * tarballs, plus the optional `webgpu` package copied from the workspace's install), then import them there and
 * run ops, the root README example and the installed conformance CLI. Catches a wrong `exports` map or `bin`,
 * files missing from (or junk in) `files`, a `workspace:` range left in a manifest, a dependency that cannot be
 * installed offline, or a dist that imports something undeclared.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedClosure } from './installed-closure.js';
import { readmeExample } from './readme-example.js';
import { packagingProblems, packWorkspacePackage, tarballFiles } from './tarball.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const goldenRoiPool = join(root, '..', 'shared', 'golden', 'deform_roi_pool.json');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-pack-'));
const app = join(scratch, 'app');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Workspace folder of each packed package. */
const PACKAGES = {
  core: 'packages/core',
  cpu: 'packages/backend-cpu',
  wasm: 'packages/backend-wasm',
  webgpu: 'packages/backend-webgpu',
  conformance: 'packages/conformance',
} as const;
type PackageKey = keyof typeof PACKAGES;
const tarballs = {} as Record<PackageKey, string>;

function installedManifest(name: string): Record<string, unknown> & { dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8'));
}

/** Runs `script` as an ES module in the scratch project and parses the JSON line it prints. */
function runInApp(file: string, script: string, env: NodeJS.ProcessEnv = process.env): unknown {
  writeFileSync(join(app, file), script);
  return JSON.parse(execFileSync('node', [file], { cwd: app, encoding: 'utf8', timeout: 60_000, env }));
}

beforeAll(() => {
  const dest = join(scratch, 'tarballs');
  for (const key of Object.keys(PACKAGES) as PackageKey[]) tarballs[key] = packWorkspacePackage(join(root, PACKAGES[key]), dest);
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  // `webgpu` (Dawn for Node) is an optional peer of backend-webgpu that users install themselves; npm's cache
  // has no tarball of it, so its folders in the workspace are packed by npm (--install-links) instead.
  const dawn = installedClosure('webgpu', join(root, PACKAGES.webgpu));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--install-links', ...Object.values(tarballs), ...dawn], { cwd: app, stdio: 'pipe' });
}, 90_000);

describe('packed packages install and run outside the workspace', () => {
  it('each tarball holds README, package.json and dist with declarations, and no tests or sources', () => {
    const problems: Record<string, string[]> = {};
    for (const key of Object.keys(PACKAGES) as PackageKey[]) {
      // The wasm package ships the C behind its .wasm files on purpose (see its README); nothing else.
      problems[key] = packagingProblems(tarballFiles(tarballs[key]), key === 'wasm' ? /^src\/kernels\/[\w-]+\.[ch]$/ : null);
    }
    expect(problems).toEqual({ core: [], cpu: [], wasm: [], webgpu: [], conformance: [] });
    const wasm = tarballFiles(tarballs.wasm);
    for (const f of ['dist/worker.js', 'dist/wasm/dcn-simd.wasm', 'dist/wasm/dcn-relaxed.wasm', 'dist/wasm/dcn-simd-mt.wasm', 'dist/wasm/dcn-relaxed-mt.wasm']) {
      expect(wasm).toContain(f);
    }
    expect(tarballFiles(tarballs.conformance)).toContain('dist/cli.js');
  });

  it('installed manifests: no workspace: ranges; conformance bin; optional onnxruntime-web and webgpu', () => {
    for (const name of ['@dcnv2/core', '@dcnv2/backend-cpu', '@dcnv2/backend-wasm', '@dcnv2/backend-webgpu', '@dcnv2/conformance']) {
      expect(JSON.stringify(installedManifest(name)), name).not.toMatch(/workspace:/);
    }
    const conformance = installedManifest('@dcnv2/conformance');
    expect(conformance.bin).toEqual({ 'dcnv2-conformance': './dist/cli.js' });
    expect(readFileSync(join(app, 'node_modules/.bin/dcnv2-conformance'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    // Only the onnx suite needs onnxruntime-web (imported lazily, skipped with a reason when absent).
    expect(conformance.optionalDependencies).toEqual({ 'onnxruntime-web': '1.30.0' });
    expect(installedManifest('@dcnv2/backend-webgpu').peerDependenciesMeta).toEqual({ webgpu: { optional: true } });
  });

  it('cpu and wasm: import + one op + a typed error', () => {
    const out = runInApp(
      'main.mjs',
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
    expect(out).toEqual({ shape: [1, 1, 3, 3], data: [4, 6, 4, 6, 9, 6, 4, 6, 4], wasm: [4, 6, 4, 6, 9, 6, 4, 6, 4], typed: 'RankError' });
  });

  it('the root README usage example, exactly as printed', () => {
    // Against the installed tarballs: the README stays true or this fails.
    writeFileSync(join(app, 'readme-example.mjs'), readmeExample(root));
    const printed = execFileSync('node', ['readme-example.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(printed.trim().split('\n')).toEqual(['[ 1, 64, 56, 56 ]', '[ 1, 18, 56, 56 ]', '[ 2, 64, 7, 7 ]']);
  });

  it('installed conformance library imports; its CLI passes the golden RoI pooling vectors on the installed cpu backend', () => {
    const lib = runInApp(
      'conformance-lib.mjs',
      `import { runConformance, referenceProvider, SUITE_NAMES } from '@dcnv2/conformance';
console.log(JSON.stringify({ run: typeof runConformance, reference: referenceProvider.name, suites: SUITE_NAMES.includes('golden') }));
`,
    );
    expect(lib).toEqual({ run: 'function', reference: 'reference', suites: true });
    // The vectors are not in the package: the CLI takes them by path. `--backend cpu` must resolve the
    // installed @dcnv2/backend-cpu from the user's directory (the scratch project is outside any workspace).
    execFileSync('npx', ['--no-install', 'dcnv2-conformance', '--backend', 'cpu', '--op', 'deform_roi_pool', '--suite', 'golden', '--vectors', goldenRoiPool, '--json', 'cpu-report.json', '--quiet'], { cwd: app, stdio: 'pipe', timeout: 60_000 });
    const report = JSON.parse(readFileSync(join(app, 'cpu-report.json'), 'utf8')) as { backend: string; ops: string[]; failed: number; passed: number; skipped: unknown[] };
    expect({ backend: report.backend, ops: report.ops, failed: report.failed, skipped: report.skipped }).toEqual({ backend: 'cpu', ops: ['deform_roi_pool'], failed: 0, skipped: [] });
    expect(report.passed).toBeGreaterThanOrEqual(20);
  });

  it.runIf(existsSync(SWIFTSHADER_ICD))('installed backend-webgpu with the optional webgpu package: RoI pooling on SwiftShader, and the golden vectors via the CLI', () => {
    const env = { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER_ICD };
    const out = runInApp(
      'webgpu-roi.mjs',
      `import { registerBackend, setBackend, deformRoiPool } from '@dcnv2/core';
import { createWebGpuBackend } from '@dcnv2/backend-webgpu';
registerBackend('webgpu', () => createWebGpuBackend());
const backend = await setBackend('webgpu');
// I[c, y, x] = 100c + 10y + x is linear, so a bin's bilinear samples average to the value at its centre:
// RoI (1,1)-(3,3) at scale 1 starts at 0.5 with unit bins, 2x2 samples per bin -> centres x, y in {1, 2}.
const data = new Float32Array(32);
for (let c = 0; c < 2; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) data[c * 16 + y * 4 + x] = 100 * c + 10 * y + x;
const out = await deformRoiPool(
  { input: { shape: [1, 2, 4, 4], data }, rois: { shape: [1, 5], data: Float32Array.from([0, 1, 1, 3, 3]) } },
  { outputSize: 2, spatialScale: 1, samplingRatio: 2 },
);
console.log(JSON.stringify({ shape: out.shape, data: Array.from(out.data), software: backend.info.adapter.software }));
await backend.dispose();
`,
      env,
    );
    expect(out).toEqual({ shape: [1, 2, 2, 2], data: [11, 12, 21, 22, 111, 112, 121, 122], software: true });
    execFileSync('npx', ['--no-install', 'dcnv2-conformance', '--backend', 'webgpu', '--op', 'deform_roi_pool', '--suite', 'golden', '--vectors', goldenRoiPool, '--json', 'webgpu-report.json', '--quiet'], { cwd: app, stdio: 'pipe', timeout: 60_000, env });
    const report = JSON.parse(readFileSync(join(app, 'webgpu-report.json'), 'utf8')) as { backend: string; failed: number; passed: number };
    expect({ backend: report.backend, failed: report.failed }).toEqual({ backend: 'webgpu', failed: 0 });
    expect(report.passed).toBeGreaterThanOrEqual(20);
  });
});
