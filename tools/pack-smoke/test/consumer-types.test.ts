/**
 * Consumers' type-check: the five packed packages installed into a scratch project outside the workspace,
 * and `tsc --noEmit` with `skipLibCheck: false` over a file that uses each package's public API, under
 * `moduleResolution: "bundler"` (an app built by Vite/webpack/esbuild) and `"nodenext"` (Node). With
 * skipLibCheck off, tsc checks every shipped `.d.ts`: a declaration naming a type the consumer cannot have
 * (WebGPU's `GPUDevice` without its types, a Node type without @types/node) fails here.
 *
 * Only what the packed manifests declare is installed: third-party dependencies are copied from the
 * workspace's install (npm's cache has no tarballs and the registry must not be reached), so a types
 * package missing from a manifest cannot be hidden by the test installing it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedClosure } from '../src/installed-closure.js';
import { packWorkspacePackage } from '../src/tarball.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGE_DIRS = ['packages/core', 'packages/backend-cpu', 'packages/backend-wasm', 'packages/backend-webgpu', 'packages/conformance'];
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-consumer-types-'));
const app = join(scratch, 'app');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The non-@dcnv2 runtime dependencies a packed manifest declares, as workspace folders to install from. */
function thirdPartyDependencies(pkgDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {})
    .filter((name) => !name.startsWith('@dcnv2/'))
    .flatMap((name) => installedClosure(name, join(root, pkgDir)));
}

/** A browser app: the four runtime packages, no Node types. */
const BROWSER_APP = `import { deformConv2d, deformRoiPool, registerBackend, setBackend, DcnError, type DeformConv2dParams } from '@dcnv2/core';
import { createCpuBackend } from '@dcnv2/backend-cpu';
import { createWasmBackend, type WasmBackendOptions } from '@dcnv2/backend-wasm';
import { createWebGpuBackend } from '@dcnv2/backend-webgpu';

const wasmOptions: WasmBackendOptions = { threads: 2 };
registerBackend('cpu', () => createCpuBackend());
registerBackend('wasm', () => createWasmBackend(wasmOptions));
registerBackend('webgpu', () => createWebGpuBackend());

export async function run(name: 'cpu' | 'wasm' | 'webgpu'): Promise<readonly number[]> {
  await setBackend(name);
  const params: DeformConv2dParams = { padding: 1 };
  try {
    const y = await deformConv2d(
      {
        input: { shape: [1, 1, 3, 3], data: new Float32Array(9) },
        weight: { shape: [1, 1, 3, 3], data: new Float32Array(9) },
        offset: { shape: [1, 18, 3, 3], data: new Float32Array(162) },
      },
      params,
    );
    const pooled = await deformRoiPool(
      { input: { shape: [1, 1, 4, 4], data: new Float32Array(16) }, rois: { shape: [1, 5], data: Float32Array.from([0, 0, 0, 3, 3]) } },
      { outputSize: 2, spatialScale: 1 },
    );
    return [...y.shape, ...pooled.shape];
  } catch (e) {
    if (e instanceof DcnError) throw new Error(e.message);
    throw e;
  }
}
`;

/** A Node tool: all five packages, with @types/node. */
const NODE_APP = `${BROWSER_APP}
import { runConformance, referenceProvider, SUITE_NAMES } from '@dcnv2/conformance';

export async function check(): Promise<number> {
  const backend = await referenceProvider.create();
  await backend.init();
  const result = await runConformance({ backend, suites: SUITE_NAMES.filter((s) => s === 'golden') });
  return result.failed;
}
`;

function tsconfig(resolution: 'bundler' | 'nodenext', types: string[]): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: resolution === 'bundler' ? 'ESNext' : 'NodeNext',
      moduleResolution: resolution,
      lib: ['ES2022', 'DOM'],
      types,
      strict: true,
      skipLibCheck: false,
      noEmit: true,
    },
    files: [resolution === 'bundler' ? 'browser-app.ts' : 'node-app.ts'],
  });
}

/** Runs the workspace's pinned tsc in the scratch app; returns its diagnostics ('' when clean). */
function typeCheck(project: string): string {
  try {
    execFileSync('node', [tsc, '-p', project, '--pretty', 'false'], { cwd: app, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
    return '';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message;
  }
}

beforeAll(() => {
  const dest = join(scratch, 'tarballs');
  const tarballs = PACKAGE_DIRS.map((d) => packWorkspacePackage(join(root, d), dest));
  const thirdParty = [...new Set([...PACKAGE_DIRS.flatMap(thirdPartyDependencies), ...installedClosure('@types/node', root)])];
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-types', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--install-links', '--omit=optional', '--omit=peer', ...tarballs, ...thirdParty], { cwd: app, stdio: 'pipe' });
  writeFileSync(join(app, 'browser-app.ts'), BROWSER_APP);
  writeFileSync(join(app, 'node-app.ts'), NODE_APP);
  writeFileSync(join(app, 'tsconfig.bundler.json'), tsconfig('bundler', []));
  writeFileSync(join(app, 'tsconfig.nodenext.json'), tsconfig('nodenext', ['node']));
}, 300_000);

describe('consumers type-check the installed packages with skipLibCheck: false', () => {
  it('moduleResolution bundler, a browser app with no Node types: core, backend-cpu, backend-wasm, backend-webgpu', () => {
    expect(typeCheck('tsconfig.bundler.json')).toBe('');
  });

  it('moduleResolution nodenext, a Node app with @types/node: all five packages', () => {
    expect(typeCheck('tsconfig.nodenext.json')).toBe('');
  });
});
