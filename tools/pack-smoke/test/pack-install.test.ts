/**
 * Publishability: `pnpm pack` @dcnv2/core, backend-cpu, backend-wasm, backend-webgpu, conformance and tfjs, install
 * the tarballs with npm into a scratch project outside the workspace (no workspace links, no registry: only the
 * tarballs, plus third-party packages a user installs beside them, packed from the workspace's install: the
 * optional `webgpu` package, and @tensorflow/tfjs-core, tfjs-layers (tfjs's peers) and tfjs-backend-cpu), then
 * import them there and run ops (on tf.Tensors too, with a gradient through tf.grad), the root README example
 * and the installed conformance CLI: on the installed cpu backend and on the
 * example out-of-tree backend the conformance package ships, with the golden vectors it ships (no repository
 * above the scratch project, no DCNV2_GOLDEN_DIR). Catches a wrong `exports` map or `bin`,
 * files missing from (or junk in) `files`, a `workspace:` range left in a manifest, a dependency that cannot be
 * installed offline, or a dist that imports something undeclared.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedClosure, packThirdParty } from '../src/installed-closure.js';
import { readmeExample } from '../src/readme-example.js';
import { packagingProblems, packWorkspacePackage, tarballFiles } from '../src/tarball.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
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
  tfjs: 'packages/tfjs',
} as const;
type PackageKey = keyof typeof PACKAGES;
/** What a Node user of @dcnv2/tfjs installs beside it: its two required peers and tfjs's cpu backend. */
const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu'];
const tarballs = {} as Record<PackageKey, string>;

function installedManifest(name: string): Record<string, unknown> & { dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8'));
}

/** The environment of a user outside the repository: no DCNV2_GOLDEN_DIR pointing at the workspace's vectors. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.DCNV2_GOLDEN_DIR;
  return env;
}

/**
 * The installed CLI, run from the scratch project like a user runs it; resolves to its stdout and the last
 * line (`N passed, M failed[, K skipped]`). Throws, with the output, when it exits non-zero.
 */
function conformanceCli(args: string[], env: NodeJS.ProcessEnv = userEnv()): { stdout: string; last: string } {
  let stdout: string;
  try {
    stdout = execFileSync('npx', ['--no-install', 'dcnv2-conformance', ...args], { cwd: app, encoding: 'utf8', stdio: 'pipe', timeout: 240_000, env });
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`dcnv2-conformance ${args.join(' ')} exited ${err.status}:\n${err.stdout?.slice(-4000)}\n${err.stderr}`);
  }
  const lines = stdout.trimEnd().split('\n');
  return { stdout, last: lines[lines.length - 1]! };
}

/** Golden folders the vectors' walk-up would find above `dir` (`<ancestor>/shared/golden`, `<ancestor>/../shared/golden`). */
function goldenAbove(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    for (const c of [join(d, 'shared', 'golden'), join(d, '..', 'shared', 'golden')]) if (existsSync(c)) found.push(c);
    if (dirname(d) === d) return found;
  }
}

/** Runs `script` as an ES module in the scratch project and parses the JSON line it prints. */
function runInApp(file: string, script: string, env: NodeJS.ProcessEnv = process.env): unknown {
  writeFileSync(join(app, file), script);
  return JSON.parse(execFileSync('node', [file], { cwd: app, encoding: 'utf8', timeout: 120_000, env }));
}

beforeAll(() => {
  const dest = join(scratch, 'tarballs');
  for (const key of Object.keys(PACKAGES) as PackageKey[]) tarballs[key] = packWorkspacePackage(join(root, PACKAGES[key]), dest);
  mkdirSync(app, { recursive: true });
  // Third-party packages a user installs beside the tarballs, packed from the workspace's install (npm's cache
  // has no tarballs of them and the registry must not be reached): `webgpu` (Dawn for Node), an optional peer of
  // backend-webgpu; @dcnv2/tfjs's required peers (tfjs-core, tfjs-layers) and the tfjs backend a Node user picks
  // (tfjs-backend-cpu). tfjs-core's own @webgpu/types (0.1.38, not backend-webgpu's 0.1.74) comes as an override.
  const thirdParty = packThirdParty(
    [{ name: 'webgpu', fromDir: join(root, PACKAGES.webgpu) }, ...TFJS_PACKAGES.map((name) => ({ name, fromDir: join(root, PACKAGES.tfjs) }))],
    join(scratch, 'third-party'),
  );
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module', overrides: thirdParty.overrides }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', ...Object.values(tarballs), ...thirdParty.tarballs], { cwd: app, stdio: 'pipe' });
  // onnxruntime-web, conformance's optional dependency, is one npm installs from the registry by default; offline
  // it is skipped, so the workspace's install (139 MB, its dependencies beside it) is linked in its place, and the
  // onnx suites of the installed CLI run as they do for a user.
  const ort = join(app, 'node_modules', 'onnxruntime-web');
  if (!existsSync(ort)) symlinkSync(installedClosure('onnxruntime-web', join(root, PACKAGES.conformance))[0]!, ort, 'dir');
}, 600_000); // packs six packages and installs them with npm: minutes when CI runs every package at once on 2 cores

describe('packed packages install and run outside the workspace', () => {
  it('each tarball holds README, package.json and dist with declarations, and no tests or sources', () => {
    const problems: Record<string, string[]> = {};
    for (const key of Object.keys(PACKAGES) as PackageKey[]) {
      // The wasm package ships the C behind its .wasm files on purpose (see its README; the job header is generated); conformance ships the
      // golden vectors with their README, and the example out-of-tree backend. The wasm worker is one bundled
      // module that runs on its own (nothing imports it), so it has no declaration.
      const extra = key === 'wasm' ? /^src\/kernels\/(generated\/)?[\w-]+\.[ch]$/ : key === 'conformance' ? /^(golden\/(README\.md|[\w-]+\.json)|examples\/[\w-]+\.js)$/ : null;
      problems[key] = packagingProblems(tarballFiles(tarballs[key]), extra, key === 'wasm' ? ['dist/worker.js'] : []);
    }
    expect(problems).toEqual({ core: [], cpu: [], wasm: [], webgpu: [], conformance: [], tfjs: [] });
    const wasm = tarballFiles(tarballs.wasm);
    for (const f of ['dist/worker.js', 'dist/wasm/dcn-simd.wasm', 'dist/wasm/dcn-relaxed.wasm', 'dist/wasm/dcn-simd-mt.wasm', 'dist/wasm/dcn-relaxed-mt.wasm']) {
      expect(wasm).toContain(f);
    }
    expect(tarballFiles(tarballs.conformance)).toEqual(
      expect.arrayContaining(['dist/cli.js', 'golden/README.md', 'golden/deform_conv2d.json', 'golden/deform_roi_pool.json', 'examples/my-backend.js']),
    );
  });

  it('installed manifests: no workspace: ranges; conformance bin; optional onnxruntime-web and webgpu; tfjs peers', () => {
    for (const name of ['@dcnv2/core', '@dcnv2/backend-cpu', '@dcnv2/backend-wasm', '@dcnv2/backend-webgpu', '@dcnv2/conformance', '@dcnv2/tfjs']) {
      expect(JSON.stringify(installedManifest(name)), name).not.toMatch(/workspace:/);
    }
    const conformance = installedManifest('@dcnv2/conformance');
    expect(conformance.bin).toEqual({ 'dcnv2-conformance': './dist/cli.js' });
    expect(readFileSync(join(app, 'node_modules/.bin/dcnv2-conformance'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    // Only the onnx suite needs onnxruntime-web (imported lazily, skipped with a reason when absent).
    expect(conformance.optionalDependencies).toEqual({ 'onnxruntime-web': '1.30.0' });
    expect(installedManifest('@dcnv2/backend-webgpu').peerDependenciesMeta).toEqual({ webgpu: { optional: true } });
    // tfjs: the @dcnv2 packages as ^ranges of the versions packed beside it; tfjs itself a peer, pinned to one version.
    const tfjs = installedManifest('@dcnv2/tfjs') as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: unknown };
    const range = (key: PackageKey) => `^${(installedManifest(`@dcnv2/${key === 'core' ? 'core' : `backend-${key}`}`) as { version: string }).version}`;
    expect(tfjs.dependencies).toEqual({ '@dcnv2/core': range('core'), '@dcnv2/backend-cpu': range('cpu'), '@dcnv2/backend-wasm': range('wasm'), '@dcnv2/backend-webgpu': range('webgpu') });
    expect(tfjs.peerDependencies).toEqual({ '@tensorflow/tfjs-core': '4.22.0', '@tensorflow/tfjs-layers': '4.22.0', '@tensorflow/tfjs-backend-webgpu': '4.22.0' });
    expect(tfjs.peerDependenciesMeta).toEqual({ '@tensorflow/tfjs-backend-webgpu': { optional: true } });
    for (const name of TFJS_PACKAGES) expect((installedManifest(name) as { version: string }).version, name).toBe('4.22.0');
  });

  it('tfjs: @dcnv2/tfjs on tfjs-core + tfjs-backend-cpu, deformConv2d forward and tf.grad / tf.grads through it, known values', () => {
    const out = runInApp(
      'tfjs.mjs',
      `import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { deformConv2d, deformRoiPool, DeformConv2D, DeformRoiPool, prepareDcnv2, setDcnv2Backend, disposeDcnv2Backends } from '@dcnv2/tfjs';
await tf.setBackend('cpu');
await prepareDcnv2('cpu');
// NCHW input 1x2x2x2 = 1..8, 1x1 kernel of weight identity (OIHW [2, 2, 1, 1]), zero offsets, unit mask: output = input.
const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
const w = tf.tensor4d([1, 0, 0, 1], [2, 2, 1, 1]);
const offset = tf.zeros([1, 2, 2, 2]);
const mask = tf.ones([1, 1, 2, 2]);
const params = { dataFormat: 'NCHW' };
const y = deformConv2d({ input: x, weight: w, offset, mask }, params);
// Half the mask halves the output (modulation), and NHWC (tfjs's default) gives the same values transposed.
const half = deformConv2d({ input: x, weight: w, offset, mask: tf.fill([1, 1, 2, 2], 0.5) }, params);
// (tfjs-core alone has no chained ops such as x.transpose(): the functions are used.)
const toNhwc = (t) => tf.transpose(t, [0, 2, 3, 1]);
const nhwc = deformConv2d({ input: toNhwc(x), weight: tf.transpose(w, [2, 3, 1, 0]), offset: toNhwc(offset), mask: toNhwc(mask) });
// L = sum(dy * y): dL/dx = W^T dy = dy (identity weight); with dy = ones, dL/dW[o, i] = sum of input channel i (10, 26).
const dy = tf.tensor4d([1, -1, 2, -2, 3, -3, 4, -4], [1, 2, 2, 2]);
const gx = tf.grad((a) => deformConv2d({ input: a, weight: w, offset, mask }, params))(x, dy);
const [gx1, gw] = tf.grads((a, b) => deformConv2d({ input: a, weight: b, offset, mask }, params))([x, w]);
const before = tf.memory().numTensors;
tf.tidy(() => {
  deformConv2d({ input: x, weight: w, offset, mask }, params);
});
const leaked = tf.memory().numTensors - before;
console.log(JSON.stringify({
  backend: tf.getBackend(), shape: y.shape, y: Array.from(y.dataSync()), half: Array.from(half.dataSync()),
  nhwcShape: nhwc.shape, nhwc: Array.from(tf.transpose(nhwc, [0, 3, 1, 2]).dataSync()),
  gx: Array.from(gx.dataSync()), gx1: Array.from(gx1.dataSync()), gwShape: gw.shape, gw: Array.from(gw.dataSync()),
  leaked,
  exports: [deformRoiPool, DeformConv2D, DeformRoiPool, setDcnv2Backend, disposeDcnv2Backends].map((f) => typeof f),
}));
await disposeDcnv2Backends();
`,
    );
    expect(out).toEqual({
      backend: 'cpu',
      shape: [1, 2, 2, 2],
      y: [1, 2, 3, 4, 5, 6, 7, 8],
      half: [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4],
      nhwcShape: [1, 2, 2, 2],
      nhwc: [1, 2, 3, 4, 5, 6, 7, 8],
      gx: [1, -1, 2, -2, 3, -3, 4, -4],
      gx1: [1, 1, 1, 1, 1, 1, 1, 1],
      gwShape: [2, 2, 1, 1],
      gw: [10, 26, 10, 26],
      leaked: 0,
      exports: ['function', 'function', 'function', 'function', 'function'],
    });
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
    const printed = execFileSync('node', ['readme-example.mjs'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(printed.trim().split('\n')).toEqual(['[ 1, 64, 56, 56 ]', '[ 1, 18, 56, 56 ]', '[ 2, 64, 7, 7 ]']);
  });

  it('installed conformance library imports and finds the golden vectors it ships, with no repository above', () => {
    // The scratch project lies under the OS temp folder: nothing above it is the workspace's shared/golden.
    expect(goldenAbove(app)).toEqual([]);
    const lib = runInApp(
      'conformance-lib.mjs',
      `import { runConformance, referenceProvider, SUITE_NAMES, defaultVectorsDir, defaultVectorsFiles, loadVectors } from '@dcnv2/conformance';
console.log(JSON.stringify({
  run: typeof runConformance, reference: referenceProvider.name, suites: SUITE_NAMES.includes('golden'),
  golden: defaultVectorsDir(), cases: ['deform_conv2d', 'deform_roi_pool'].map((op) => loadVectors(defaultVectorsFiles(op)[0], op).cases.length),
}));
`,
      userEnv(),
    );
    const shipped = join(app, 'node_modules', '@dcnv2', 'conformance', 'golden');
    expect(lib).toEqual({ run: 'function', reference: 'reference', suites: true, golden: shipped, cases: [17, 6] });
    // Provenance travels with the vectors.
    expect(readFileSync(join(shipped, 'README.md'), 'utf8')).toMatch(/torchvision/);
  });

  it('installed CLI: --backend cpu runs every suite of both ops, golden included, and ends with N passed, 0 failed', () => {
    // `--backend cpu` resolves the installed @dcnv2/backend-cpu from the user's directory (outside any workspace).
    const r = conformanceCli(['--backend', 'cpu', '--json', 'cpu-report.json']);
    expect(r.last).toMatch(/^\d+ passed, 0 failed$/);
    expect(Number(r.last.split(' ')[0])).toBeGreaterThan(2000);
    const report = JSON.parse(readFileSync(join(app, 'cpu-report.json'), 'utf8')) as { backend: string; ops: string[]; failed: number; passed: number; skipped: unknown[]; vectors: unknown; rows: { op: string; suite: string; pass: boolean }[] };
    expect({ backend: report.backend, ops: report.ops, failed: report.failed, skipped: report.skipped, vectors: report.vectors }).toEqual({ backend: 'cpu', ops: ['deform_conv2d', 'deform_roi_pool'], failed: 0, skipped: [], vectors: null });
    // The golden suites ran in full on the shipped vectors: one row per expected tensor of every case.
    const shipped = join(app, 'node_modules', '@dcnv2', 'conformance', 'golden');
    const expectedTensors = (file: string, names: string[]) =>
      (JSON.parse(readFileSync(join(shipped, file), 'utf8')) as { cases: Record<string, unknown>[] }).cases.reduce((n, c) => n + names.filter((k) => c[k] != null).length, 0);
    const rows = (suite: string) => report.rows.filter((row) => row.suite === suite).length;
    expect({ golden: rows('golden'), roiGolden: rows('roi-golden') }).toEqual({
      golden: expectedTensors('deform_conv2d.json', ['output', 'grad_input', 'grad_offset', 'grad_mask', 'grad_weight', 'grad_bias']),
      roiGolden: expectedTensors('deform_roi_pool.json', ['output', 'grad_input', 'grad_offset', 'grad_mask']),
    });
    expect(rows('golden')).toBeGreaterThanOrEqual(100);
    expect(r.stdout).toMatch(/^golden +basic_3x3 +output +\S+ +atol 1\.00e-4 rtol 1\.00e-4 +PASS$/m);
  }, 300_000);

  it('installed CLI: --backend ./my-backend.js, the example the package ships, copied into the project, passes with only its missing kernels skipped', () => {
    copyFileSync(join(app, 'node_modules', '@dcnv2', 'conformance', 'examples', 'my-backend.js'), join(app, 'my-backend.js'));
    const r = conformanceCli(['--backend', './my-backend.js']);
    const summary = /^(\d+) passed, 0 failed, (\d+) skipped$/.exec(r.last);
    expect(summary, r.last).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(400);
    expect(r.stdout).toContain('dcnv2 conformance: backend my-backend');
    // Every forward check ran: all 17 golden convolution cases, fuzz, onnx, cross and the adversarial probes.
    expect(r.stdout.match(/^golden +\S+ +output .*PASS$/gm)).toHaveLength(17);
    for (const suite of ['properties', 'fuzz', 'onnx', 'cross', 'adversarial']) expect(r.stdout).toMatch(new RegExp(`^${suite} .*PASS$`, 'm'));
    // What was skipped is only what needs the kernels the example does not have, each with its reason.
    const skips = r.stdout.split('\n').filter((l) => l.startsWith('skipped '));
    expect(skips.length).toBe(Number(summary![2]));
    expect(skips.filter((l) => !/has no backward|missing kernel /.test(l))).toEqual([]);
    expect(skips).toContain('skipped golden: backend has no backward');
    expect(skips).toContain('skipped deform_roi_pool: missing kernel deform_roi_pool forward: backend my-backend has none');
    expect(r.stdout).toContain('missing kernels: deform_conv2d backward, deform_roi_pool forward, deform_roi_pool backward');
  }, 300_000);

  it.runIf(existsSync(SWIFTSHADER_ICD))('installed backend-webgpu with the optional webgpu package: RoI pooling on SwiftShader, and the golden vectors via the CLI', () => {
    const env = userEnv({ VK_ICD_FILENAMES: SWIFTSHADER_ICD });
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
    conformanceCli(['--backend', 'webgpu', '--op', 'deform_roi_pool', '--suite', 'golden', '--json', 'webgpu-report.json', '--quiet'], env);
    const report = JSON.parse(readFileSync(join(app, 'webgpu-report.json'), 'utf8')) as { backend: string; failed: number; passed: number };
    expect({ backend: report.backend, failed: report.failed }).toEqual({ backend: 'webgpu', failed: 0 });
    expect(report.passed).toBeGreaterThanOrEqual(20);
  });
});
