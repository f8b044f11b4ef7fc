/**
 * Consumers' type-check: the six packed packages installed into a scratch project outside the workspace,
 * and `tsc --noEmit` with `skipLibCheck: false` over a file that uses each package's public API, under
 * `moduleResolution: "bundler"` (an app built by Vite/webpack/esbuild) and `"nodenext"` (Node). With
 * skipLibCheck off, tsc checks every shipped `.d.ts`: a declaration naming a type the consumer cannot have
 * (WebGPU's `GPUDevice` without its types, a Node type without @types/node) fails here.
 *
 * Only what the packed manifests declare is installed: third-party dependencies are packed from the
 * workspace's install (npm's cache has no tarballs and the registry must not be reached), so a types
 * package missing from a manifest cannot be hidden by the test installing it. Peer dependencies are what the
 * user installs: @dcnv2/tfjs's required peers (@tensorflow/tfjs-core, @tensorflow/tfjs-layers) are, and
 * nothing else is added for it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packThirdParty } from '../src/installed-closure.js';
import { packWorkspacePackage } from '../src/tarball.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGE_DIRS = ['packages/core', 'packages/backend-cpu', 'packages/backend-wasm', 'packages/backend-webgpu', 'packages/conformance', 'packages/tfjs'];
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-consumer-types-'));
const app = join(scratch, 'app');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The non-@dcnv2 runtime dependencies a packed manifest declares, with the workspace folder to find them from. */
function thirdPartyDependencies(pkgDir: string): { name: string; fromDir: string }[] {
  const manifest = JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {})
    .filter((name) => !name.startsWith('@dcnv2/'))
    .map((name) => ({ name, fromDir: join(root, pkgDir) }));
}

/** The required (not optional) peer dependencies a packed manifest declares, with the workspace folder to find them from. */
function requiredPeers(pkgDir: string): { name: string; fromDir: string }[] {
  const manifest = JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8')) as {
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  return Object.keys(manifest.peerDependencies ?? {})
    .filter((name) => manifest.peerDependenciesMeta?.[name]?.optional !== true)
    .map((name) => ({ name, fromDir: join(root, pkgDir) }));
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

/** A Node tool: the five packages above, with @types/node. */
const NODE_APP = `${BROWSER_APP}
import { runConformance, referenceProvider, SUITE_NAMES } from '@dcnv2/conformance';

export async function check(): Promise<number> {
  const backend = await referenceProvider.create();
  await backend.init();
  const result = await runConformance({ backend, suites: SUITE_NAMES.filter((s) => s === 'golden') });
  return result.failed;
}
`;

/**
 * An app of @dcnv2/tfjs with its peers tfjs-core and tfjs-layers: the ops on tf.Tensors, a gradient, the layers in
 * a model. Its own file, so that the checks above do not load tfjs's declarations.
 */
const TFJS_APP = `import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  deformConv2d as tfDeformConv2d, deformRoiPool as tfDeformRoiPool, DeformConv2D, DeformRoiPool, prepareDcnv2, setDcnv2Backend, disposeDcnv2Backends,
  type DeformConv2dOpParams, type DeformConv2DArgs,
} from '@dcnv2/tfjs';

export async function runTfjs(): Promise<number[]> {
  const cpu = await prepareDcnv2('cpu');
  const previous = setDcnv2Backend('cpu', cpu);
  const params: DeformConv2dOpParams = { dataFormat: 'NCHW', padding: 0 };
  const x: tf.Tensor4D = tf.ones([1, 1, 2, 2]);
  const y: tf.Tensor = tfDeformConv2d({ input: x, weight: tf.ones([1, 1, 1, 1]), offset: tf.zeros([1, 2, 2, 2]), mask: null }, params);
  const g = tf.grad((a: tf.Tensor) => tfDeformConv2d({ input: a, weight: tf.ones([1, 1, 1, 1]), offset: tf.zeros([1, 2, 2, 2]) }, params))(x);
  const pooled = tfDeformRoiPool({ input: x, rois: tf.tensor2d([[0, 0, 0, 1, 1]]) }, { outputSize: 1, spatialScale: 1, dataFormat: 'NCHW' });
  const args: DeformConv2DArgs = { filters: 2, kernelSize: 3, padding: 'same' };
  const layer: tfl.layers.Layer = new DeformConv2D(args);
  const model = tfl.sequential({ layers: [tfl.layers.inputLayer({ inputShape: [8, 8, 1] }), layer] });
  const roiLayer = new DeformRoiPool({ outputSize: 2, spatialScale: 1 });
  await disposeDcnv2Backends();
  return [...y.shape, ...g.shape, ...pooled.shape, model.countParams(), roiLayer.name.length, previous === undefined ? 0 : 1];
}
`;

/**
 * tfjs 4.22's own declarations do not pass `skipLibCheck: false` under `strict` (tfjs-core's hash_util.d.ts
 * names `Long` without importing it, tfjs-layers' keras_format types break their own index signatures, ...),
 * so tfjs users type-check with `skipLibCheck: true`. Under `skipLibCheck: false` the tfjs app is held to
 * this: no diagnostic outside @tensorflow's own files (the app, @dcnv2/tfjs's declarations and everything
 * they reach are clean); `upstream` counts the others.
 */
function withoutUpstream(diagnostics: string): { ours: string; upstream: number } {
  const lines = diagnostics.split('\n').filter((l) => /error TS\d+/.test(l));
  const upstream = lines.filter((l) => /^node_modules\/@tensorflow\//.test(l));
  return { ours: lines.filter((l) => !upstream.includes(l)).join('\n'), upstream: upstream.length };
}

function tsconfig(resolution: 'bundler' | 'nodenext', types: string[], file?: string, skipLibCheck = false): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: resolution === 'bundler' ? 'ESNext' : 'NodeNext',
      moduleResolution: resolution,
      lib: ['ES2022', 'DOM'],
      types,
      strict: true,
      skipLibCheck,
      noEmit: true,
    },
    files: [file ?? (resolution === 'bundler' ? 'browser-app.ts' : 'node-app.ts')],
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
  const thirdParty = packThirdParty(
    [...PACKAGE_DIRS.flatMap(thirdPartyDependencies), ...PACKAGE_DIRS.flatMap(requiredPeers), { name: '@types/node', fromDir: root }],
    join(scratch, 'third-party'),
  );
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-types', private: true, type: 'module', overrides: thirdParty.overrides }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--omit=optional', '--omit=peer', ...tarballs, ...thirdParty.tarballs], { cwd: app, stdio: 'pipe' });
  writeFileSync(join(app, 'browser-app.ts'), BROWSER_APP);
  writeFileSync(join(app, 'node-app.ts'), NODE_APP);
  writeFileSync(join(app, 'tsconfig.bundler.json'), tsconfig('bundler', []));
  writeFileSync(join(app, 'tsconfig.nodenext.json'), tsconfig('nodenext', ['node']));
  writeFileSync(join(app, 'tfjs-app.ts'), TFJS_APP);
  writeFileSync(join(app, 'tsconfig.tfjs-bundler.json'), tsconfig('bundler', [], 'tfjs-app.ts'));
  writeFileSync(join(app, 'tsconfig.tfjs-nodenext.json'), tsconfig('nodenext', ['node'], 'tfjs-app.ts'));
  writeFileSync(join(app, 'tsconfig.tfjs-skiplibcheck.json'), tsconfig('nodenext', ['node'], 'tfjs-app.ts', true));
}, 300_000);

describe('consumers type-check the installed packages with skipLibCheck: false', () => {
  it('moduleResolution bundler, a browser app with no Node types: core, backend-cpu, backend-wasm, backend-webgpu', () => {
    expect(typeCheck('tsconfig.bundler.json')).toBe('');
  });

  it('moduleResolution nodenext, a Node app with @types/node: core, backends, conformance', () => {
    expect(typeCheck('tsconfig.nodenext.json')).toBe('');
  });

  it('tfjs app (ops, tf.grad, layers in a model), bundler and nodenext: nothing but tfjs\'s own declarations fails', () => {
    for (const project of ['tsconfig.tfjs-bundler.json', 'tsconfig.tfjs-nodenext.json']) {
      const { ours, upstream } = withoutUpstream(typeCheck(project));
      expect(ours, project).toBe('');
      // Were tfjs's own declarations to become clean, this test could check the tfjs app like the others.
      expect(upstream, `${project}: diagnostics in @tensorflow's declarations`).toBeGreaterThan(0);
    }
  });

  it('tfjs app with skipLibCheck: true, as tfjs users type-check: clean', () => {
    expect(typeCheck('tsconfig.tfjs-skiplibcheck.json')).toBe('');
  });
});
