/**
 * The conformance golden cases (torchvision's vectors) through this backend inside headless Chromium:
 * ES modules served as built (dist/), the .wasm fetched and compiled by the page, kernels in module Web
 * Workers. Once on a plain page (no cross-origin isolation, so no SharedArrayBuffer: the single-thread
 * fallback) and once on a cross-origin-isolated page (COOP/COEP headers) with 2 threads. The results are
 * compared here, in Node, with the conformance suite's tolerances.
 *
 * playwright-core's launch() gives every run a fresh temporary profile. Needs Debian's chromium (scripts/setup.sh installs it); CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPageResults, launchChromium, pagePayload, serveStatic, type Browser, type StaticServer } from '@dcnv2/browser-harness';
import { defaultVectorsFiles, loadVectors } from '@dcnv2/conformance';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const wasmDist = join(pkgDir, 'dist');
const pageFile = join(pkgDir, 'test/browser/page.html');

/**
 * The same page twice: /plain.html without cross-origin isolation, /isolated.html with COOP + COEP. Workers
 * of an isolated page need COEP on their own script too; on the plain page it changes nothing.
 */
function isolationHeaders(pathname: string): Record<string, string> {
  const h: Record<string, string> = { 'Cross-Origin-Resource-Policy': 'same-origin' };
  // /nocoep/: the built files again, without COEP (a worker script an isolated page cannot use).
  if (pathname !== '/plain.html' && !pathname.startsWith('/nocoep/')) h['Cross-Origin-Embedder-Policy'] = 'require-corp';
  if (pathname === '/isolated.html') h['Cross-Origin-Opener-Policy'] = 'same-origin';
  return h;
}

describe('wasm backend in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  /** Another origin serving dist/ as a CDN would: CORS, CORP cross-origin, COEP. */
  let cdn: StaticServer;
  const vectors = defaultVectorsFiles('deform_conv2d').map((f) => loadVectors(f, 'deform_conv2d'));
  const cases = vectors.flatMap((v) => v.cases);

  beforeAll(async () => {
    server = await serveStatic({
      pages: { '/plain.html': pageFile, '/isolated.html': pageFile },
      roots: { '/core/': join(pkgDir, 'node_modules/@dcnv2/core/dist'), '/wasm/': wasmDist, '/nocoep/': wasmDist, '/unbundled/': join(pkgDir, 'test/browser/unbundled') },
      headers: isolationHeaders,
    });
    cdn = await serveStatic({
      pages: {},
      roots: { '/pkg/': wasmDist },
      headers: () => ({ 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }),
    });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await cdn?.close();
  });

  it('bundles for the browser with no Node built-in in the import graph', async () => {
    const r = await build({ entryPoints: [join(wasmDist, 'index.js'), join(wasmDist, 'worker.js')], bundle: true, write: false, platform: 'browser', format: 'esm', outdir: 'out', logLevel: 'silent', external: ['*.wasm'] });
    expect(r.errors).toEqual([]);
    for (const f of r.outputFiles) expect(f.text).not.toMatch(/from\s*["']node:|require\(["']node:/);
  });

  /** Runs window.tryInit(options) on a fresh tab of `page`. */
  async function tryInit(page: string, options: Record<string, unknown>): Promise<{ ok: boolean; info?: Record<string, unknown>; name?: string; argument?: string; message?: string }> {
    const tab = await browser.newPage();
    try {
      await tab.goto(`${server.origin}/${page}`);
      await tab.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 30_000 });
      return (await tab.evaluate((o) => (globalThis as unknown as { tryInit(o: unknown): Promise<unknown> }).tryInit(o), options)) as never;
    } finally {
      await tab.close();
    }
  }

  it('takes wasmPaths and workerUrl, and really runs on 2 threads from them', async () => {
    const got = await tryInit('isolated.html', { threads: 2, simd: 'simd', wasmPaths: '/wasm/wasm', workerUrl: '/wasm/worker.js' });
    expect(got.ok, got.message).toBe(true);
    expect(got.info).toMatchObject({ variant: 'simd', threads: 2, sharedMemory: true, wasmUrl: `${server.origin}/wasm/wasm/dcn-simd-mt.wasm`, workerUrl: `${server.origin}/wasm/worker.js` });
    expect(got.info!.workerChunks).toBeGreaterThan(0);
    // From another origin (the worker through a same-origin blob module that imports it).
    const remote = await tryInit('isolated.html', { threads: 2, wasmPaths: `${cdn.origin}/pkg/wasm/`, workerUrl: `${cdn.origin}/pkg/worker.js` });
    expect(remote.ok, remote.message).toBe(true);
    expect(remote.info).toMatchObject({ threads: 2, sharedMemory: true, workerUrl: `${cdn.origin}/pkg/worker.js` });
    expect(String(remote.info!.wasmUrl)).toMatch(new RegExp(`^${cdn.origin}/pkg/wasm/dcn-(relaxed|simd)-mt\\.wasm$`));
    expect(remote.info!.workerChunks).toBeGreaterThan(0);
    const shipped = await tryInit('isolated.html', { threads: 2 });
    expect(shipped.info).toMatchObject({ threads: 2, workerUrl: `${server.origin}/wasm/worker.js` });
  }, 120_000);

  it('names the URL and the real cause when the worker or the .wasm cannot be loaded', async () => {
    const missing = await tryInit('isolated.html', { threads: 2, workerUrl: '/missing/worker.js' });
    expect(missing).toMatchObject({ ok: false, name: 'BackendError', argument: 'options.workerUrl' });
    expect(missing.message).toContain(`${server.origin}/missing/worker.js`);
    expect(missing.message).toMatch(/HTTP 404/);
    expect(missing.message).not.toMatch(/COEP|Cross-Origin-Embedder-Policy/);
    const noCoep = await tryInit('isolated.html', { threads: 2, workerUrl: '/nocoep/worker.js' });
    expect(noCoep).toMatchObject({ ok: false, name: 'BackendError', argument: 'options.workerUrl' });
    expect(noCoep.message).toMatch(/without a Cross-Origin-Embedder-Policy header/);
    const unbundled = await tryInit('isolated.html', { threads: 2, workerUrl: '/unbundled/worker.js' });
    expect(unbundled).toMatchObject({ ok: false, name: 'BackendError' });
    expect(unbundled.message).toMatch(/imports \.\/env\.js/);
    const noWasm = await tryInit('isolated.html', { threads: 2, simd: 'simd', wasmPaths: '/missing/' });
    expect(noWasm).toMatchObject({ ok: false, name: 'BackendError', argument: 'options.wasmPaths' });
    expect(noWasm.message).toContain(`${server.origin}/missing/dcn-simd-mt.wasm`);
    expect(noWasm.message).toMatch(/HTTP 404/);
    const badPaths = await tryInit('plain.html', { wasmPaths: { 'dcn-simd.wasm': 1 } });
    expect(badPaths).toMatchObject({ ok: false, name: 'ParamError', argument: 'options.wasmPaths["dcn-simd.wasm"]' });
  }, 120_000);

  for (const variant of [
    { page: 'plain.html', options: { threads: 2 }, threads: 1, shared: false, isolated: false },
    { page: 'isolated.html', options: { threads: 2 }, threads: 2, shared: true, isolated: true },
    { page: 'isolated.html', options: { threads: 2, simd: 'simd' }, threads: 2, shared: true, isolated: true },
  ] as const) {
    it(`passes the golden cases on ${variant.page} with ${JSON.stringify(variant.options)}`, async () => {
      expect(cases.length).toBeGreaterThan(0);
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(String(e)));
      try {
        await tab.goto(`${server.origin}/${variant.page}`);
        await tab.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 30_000 });
        const payload = pagePayload(cases);
        const got = (await tab.evaluate(
          ([o, c]) => (globalThis as unknown as { runCases(o: unknown, c: unknown): Promise<unknown> }).runCases(o, c),
          [variant.options, payload] as const,
        )) as { info: { variant: string; threads: number; sharedMemory: boolean }; isolated: boolean; results: Array<Record<string, string>> };
        expect(errors).toEqual([]);
        expect(got.isolated).toBe(variant.isolated);
        expect(got.info.threads).toBe(variant.threads);
        expect(got.info.sharedMemory).toBe(variant.shared);
        expect(got.info.variant).toBe('simd' in variant.options ? 'simd' : 'relaxed');
        const { failures, checked } = checkPageResults(cases, got.results);
        expect(failures).toEqual([]);
        expect(checked).toBeGreaterThanOrEqual(cases.length);
      } finally {
        await tab.close();
      }
    }, 120_000);
  }
});
