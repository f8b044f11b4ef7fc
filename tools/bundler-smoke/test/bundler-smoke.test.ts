/**
 * Bundler smoke test (issue 11). The four runtime packages and @dcnv2/tfjs are packed (`pnpm pack`) and installed
 * from the tarballs into a scratch app outside the workspace (`npm install --offline`, with @tensorflow/tfjs-core,
 * tfjs-layers and tfjs-backend-cpu packed from the workspace's install); a small page there runs `deformConv2d`
 * on the wasm backend with 2 threads, on the webgpu backend, and through @dcnv2/tfjs on tf.Tensors (tfjs cpu),
 * next to the cpu backend.
 * Vite, webpack 5 and esbuild each make a production build of it through their Node APIs, resolving
 * @dcnv2/* from the scratch app's node_modules. Each build is served with COOP/COEP (cross-origin isolated,
 * so SharedArrayBuffer and the wasm worker pool work) and loaded in headless Chromium (WebGPU on
 * SwiftShader). Asserted per build: no page error, console error or failed request; wasm: the page is
 * cross-origin isolated, `backend.info.threads` is 2 with shared memory, the page created one Worker, and
 * the worker really computed (`backend.info.workerChunks` > 0 after three calls of 72 chunks each);
 * webgpu: `navigator.gpu` and an adapter (`backend.info.adapter`); tfjs: tfjs's backend is cpu, and a 1x1
 * identity convolution and its gradients by tf.grad / tf.grads (registered by @dcnv2/tfjs's import, a side
 * effect the bundle must keep) have their known values; all: the result equals the cpu backend's within
 * 1e-4 x max(1, max |cpu|). @dcnv2/conformance is not packed: the page does not use it.
 *
 * Each recipe (test/bundlers.ts) is what the packages' READMEs tell that bundler's users: nothing to
 * configure for Vite and webpack 5; for esbuild, dist/wasm/ and dist/worker.js copied next to the bundle.
 *
 * A table of bundler x backend x status x threads x max error is printed at the end.
 *
 * KNOWN_FAILURES lists the builds that fail because of the packages, not of this test (with the issue's
 * error): they are still built and loaded, and reported as "known failure" without failing the run; one
 * that passes fails the run until it is taken off the list, so a fix is noticed and then guarded.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serveStatic, type Browser } from '@dcnv2/browser-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildError, BUILDERS, BUNDLER_VERSIONS, trimStacks, type Bundler, type Entry } from './bundlers.js';
import { packThirdParty } from '@dcnv2/pack-smoke/installed-closure';
import { packWorkspacePackage } from '@dcnv2/pack-smoke/tarball';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const appSource = fileURLToPath(new URL('../app/', import.meta.url));
const PACKAGE_DIRS = ['packages/core', 'packages/backend-cpu', 'packages/backend-wasm', 'packages/backend-webgpu', 'packages/tfjs'];
/** What an app using @dcnv2/tfjs installs beside it: its required peers and the tfjs backend the page uses. */
const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu'];
/** As in backend-webgpu's browser test: a WebGPU adapter in headless Chromium without a GPU (SwiftShader). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
/** Cross-origin isolation for the page and everything it loads (workers included), as backend-wasm's README asks. */
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
const BUNDLERS: Bundler[] = ['vite', 'webpack', 'esbuild'];
const ENTRIES: Entry[] = ['wasm', 'webgpu', 'tfjs'];
/** Page result vs the cpu backend's: max abs difference <= REL_TOL x max(1, max |cpu|). */
const REL_TOL = 1e-4;

/** `bundler/backend` -> what goes wrong, for builds that fail because of the packages (see the header). */
const KNOWN_FAILURES: Partial<Record<`${Bundler}/${Entry}`, string>> = {
  // Empty since backend-wasm's self-contained worker (badfd83) and backend-webgpu's #node-gpu import map (4ac9141).
  // Before: vite/wasm (worker.js inlined as a data: URL importing ./env.js), webpack/wasm (worker.js a raw
  // asset, terser choking on its top-level await), esbuild/wasm (the copied worker.js importing ./env.js: 404),
  // webpack/webgpu (UnhandledSchemeError: Reading from "node:fs"), esbuild/webgpu (Could not resolve "node:fs").
};

const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-bundler-smoke-'));
const app = join(scratch, 'app');

interface Row { bundler: Bundler; backend: Entry; status: string; threads: string; maxErr: string; ms: number; detail: string }
const rows: Row[] = [];

interface PageResult {
  ok: boolean;
  backend: Entry;
  error?: string;
  ms?: number;
  crossOriginIsolated?: boolean;
  info?: { threads?: number; sharedMemory?: boolean; variant?: string | null; workerChunks?: number; workerUrl?: string | null; wasmUrl?: string; adapter?: unknown };
  capabilityThreads?: number;
  workers?: { created: number; scripts: string[] };
  hasNavigatorGpu?: boolean;
  tfBackend?: string;
  identity?: number[];
  gradInput?: number[];
  gradWeight?: number[];
  shape?: number[];
  maxAbsDiff?: number;
  maxAbsRef?: number;
  detail?: string | null;
}

let browser: Browser;

/** The non-@dcnv2 runtime dependencies a package's manifest declares, with the workspace folder to find them from. */
function thirdPartyDependencies(pkgDir: string): { name: string; fromDir: string }[] {
  const manifest = JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {})
    .filter((name) => !name.startsWith('@dcnv2/'))
    .map((name) => ({ name, fromDir: join(root, pkgDir) }));
}

beforeAll(async () => {
  const dest = join(scratch, 'tarballs');
  const tarballs = PACKAGE_DIRS.map((d) => packWorkspacePackage(join(root, d), dest));
  mkdirSync(app, { recursive: true });
  cpSync(appSource, app, { recursive: true });
  // The tarballs, and the third-party packages their manifests declare (e.g. backend-webgpu's @webgpu/types) plus
  // what an app using @dcnv2/tfjs installs (TFJS_PACKAGES), packed from the workspace's install: npm's cache has no
  // tarballs of them and the registry is not reached. Not backend-webgpu's optional peer `webgpu` (Dawn for Node):
  // no use in a browser.
  const thirdParty = packThirdParty(
    [...PACKAGE_DIRS.flatMap(thirdPartyDependencies), ...TFJS_PACKAGES.map((name) => ({ name, fromDir: join(root, 'packages/tfjs') }))],
    join(scratch, 'third-party'),
  );
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bundler-smoke-app', private: true, type: 'module', overrides: thirdParty.overrides }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--omit=peer', ...tarballs, ...thirdParty.tarballs], { cwd: app, stdio: 'pipe' });
  browser = await launchChromium(WEBGPU_FLAGS);
}, 300_000); // packs five packages and the third-party tarballs, installs them with npm

afterAll(async () => {
  await browser?.close();
  rmSync(scratch, { recursive: true, force: true });
  if (rows.length === 0) return;
  const cols: Array<[string, (r: Row) => string]> = [
    ['bundler', (r) => `${r.bundler} ${BUNDLER_VERSIONS[r.bundler]}`],
    ['backend', (r) => r.backend],
    ['status', (r) => r.status],
    ['threads', (r) => r.threads],
    ['max error', (r) => r.maxErr],
    ['time', (r) => `${(r.ms / 1000).toFixed(1)} s`],
  ];
  const width = cols.map(([h, f]) => Math.max(h.length, ...rows.map((r) => f(r).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  const table = [line(cols.map(([h]) => h)), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map(([, f]) => f(r))))];
  const details = rows.filter((r) => r.detail !== '').map((r) => `\n${r.bundler} / ${r.backend}: ${r.detail}`);
  console.log(`bundler smoke:\n${table.join('\n')}${details.join('')}`);
});

/** Loads `<entry>.html` of a build served with COOP/COEP; returns what the page published and what went wrong around it. */
async function loadPage(outDir: string, entry: Entry): Promise<{ result: PageResult | null; problems: string[] }> {
  const server = await serveStatic({ pages: {}, roots: { '/': outDir }, headers: () => ISOLATION });
  const tab = await browser.newPage();
  const problems: string[] = [];
  tab.on('pageerror', (e) => problems.push(`page error: ${trimStacks(e.stack ?? String(e), 2)}`));
  tab.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  tab.on('requestfailed', (r) => problems.push(`request failed: ${r.url().slice(0, 200)} (${r.failure()?.errorText ?? '?'})`));
  tab.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  try {
    await tab.goto(`${server.origin}/${entry}.html`);
    try {
      await tab.waitForFunction(() => (globalThis as { __smoke?: unknown }).__smoke !== undefined, undefined, { timeout: 90_000 });
    } catch {
      problems.push('the page published no result within 90 s');
      return { result: null, problems };
    }
    const result = (await tab.evaluate(() => (globalThis as { __smoke?: unknown }).__smoke)) as PageResult;
    return { result, problems };
  } finally {
    await tab.close();
    await server.close();
  }
}

const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toExponential(1));

/** Sets the row's status and fails the test unless the outcome is as expected (see KNOWN_FAILURES). */
function settle(row: Row, failures: string[]): void {
  const known = KNOWN_FAILURES[`${row.bundler}/${row.backend}`];
  const built = !failures.some((f) => f.includes('could not build'));
  if (known === undefined) {
    row.status = failures.length === 0 ? 'ok' : built ? 'FAIL' : 'build failed';
    expect(failures, `${row.bundler} / ${row.backend}`).toEqual([]);
  } else if (failures.length === 0) {
    row.status = 'ok (listed as known failure)';
    throw new Error(`${row.bundler} / ${row.backend} passes now: take it off KNOWN_FAILURES in ${fileURLToPath(import.meta.url)} (it was: ${known})`);
  } else {
    row.status = built ? 'known failure' : 'known failure (build)';
    console.warn(`${row.bundler} / ${row.backend}: known failure (${known}):\n${failures.join('\n')}`);
  }
}

for (const bundler of BUNDLERS) {
  describe(`${bundler} production build`, () => {
    for (const entry of ENTRIES) {
      it(`${entry} page`, async () => {
        const row: Row = { bundler, backend: entry, status: 'build failed', threads: '-', maxErr: '-', ms: 0, detail: '' };
        rows.push(row);
        const t0 = performance.now();
        const outDir = join(scratch, 'out', `${bundler}-${entry}`);
        let built;
        try {
          built = await BUILDERS[bundler](app, entry, outDir);
        } catch (e) {
          row.ms = performance.now() - t0;
          row.detail = e instanceof BuildError ? e.message : String((e as Error).stack ?? e);
          settle(row, [`${bundler} ${BUNDLER_VERSIONS[bundler]} could not build the ${entry} page:\n${row.detail}`]);
          return;
        }
        const { result, problems } = await loadPage(built.outDir, entry);
        row.ms = performance.now() - t0;
        const threads = result?.info?.threads;
        row.threads = entry === 'wasm' ? `${threads ?? '-'} (worker chunks ${result?.info?.workerChunks ?? '-'})` : '-';
        row.maxErr = result?.maxAbsDiff === undefined ? '-' : `${fmt(result.maxAbsDiff)} (|cpu| ${fmt(result.maxAbsRef)})`;
        const failures = [...problems];
        if (result === null) failures.push('no result');
        else if (!result.ok) failures.push(`the page failed: ${trimStacks(result.error ?? '', 2)}`);
        else {
          const tol = REL_TOL * Math.max(1, result.maxAbsRef ?? NaN);
          if (!(result.maxAbsDiff! <= tol)) failures.push(`result differs from cpu: max abs diff ${result.maxAbsDiff} > ${tol} ${result.detail ?? ''}`);
          if (entry === 'wasm') {
            if (result.crossOriginIsolated !== true) failures.push('the page is not cross-origin isolated');
            if (threads !== 2 || result.info?.sharedMemory !== true) failures.push(`backend.info ${JSON.stringify(result.info)}: expected 2 threads on shared memory`);
            if (result.workers?.created !== 1) failures.push(`expected 1 Worker, the page created ${JSON.stringify(result.workers)}`);
            if (!((result.info?.workerChunks ?? 0) > 0)) failures.push(`the worker computed no chunk: backend.info ${JSON.stringify(result.info)}`);
          } else if (entry === 'webgpu') {
            if (result.hasNavigatorGpu !== true) failures.push('no navigator.gpu');
            if (result.info?.adapter === null || result.info?.adapter === undefined) failures.push('backend.info.adapter is null');
          } else {
            const known = { tfBackend: 'cpu', identity: [1, 2, 3, 4, 5, 6, 7, 8], gradInput: [1, -1, 2, -2, 3, -3, 4, -4], gradWeight: [10, 26, 10, 26] };
            const seen = { tfBackend: result.tfBackend, identity: result.identity, gradInput: result.gradInput, gradWeight: result.gradWeight };
            if (JSON.stringify(seen) !== JSON.stringify(known)) failures.push(`tfjs: expected ${JSON.stringify(known)}, the page gave ${JSON.stringify(seen)}`);
          }
        }
        if (result?.ok === true && JSON.stringify(result.shape) !== '[2,32,48,48]') failures.push(`output shape ${JSON.stringify(result.shape)}`);
        const about = result?.ok !== true || entry === 'tfjs' ? [] : entry === 'wasm'
          ? [`(info) ${result.info?.variant} build, worker ${result.workers?.scripts.join(', ')}`]
          : [`(info) adapter ${JSON.stringify(result.info?.adapter)}`];
        row.detail = [...failures, ...built.warnings.map((w) => `(warning) ${w}`), ...about].join('\n');
        settle(row, failures);
      }, 300_000); // webpack minifying the tfjs page (tfjs-core, tfjs-layers) took 99 s on 2 cores busy with other tests
    }
  });
}
