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
  if (pathname !== '/plain.html') h['Cross-Origin-Embedder-Policy'] = 'require-corp';
  if (pathname === '/isolated.html') h['Cross-Origin-Opener-Policy'] = 'same-origin';
  return h;
}

describe('wasm backend in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  const vectors = defaultVectorsFiles('deform_conv2d').map((f) => loadVectors(f, 'deform_conv2d'));
  const cases = vectors.flatMap((v) => v.cases);

  beforeAll(async () => {
    server = await serveStatic({
      pages: { '/plain.html': pageFile, '/isolated.html': pageFile },
      roots: { '/core/': join(pkgDir, 'node_modules/@dcnv2/core/dist'), '/wasm/': wasmDist },
      headers: isolationHeaders,
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('bundles for the browser with no Node built-in in the import graph', async () => {
    const r = await build({ entryPoints: [join(wasmDist, 'index.js'), join(wasmDist, 'worker.js')], bundle: true, write: false, platform: 'browser', format: 'esm', outdir: 'out', logLevel: 'silent', external: ['*.wasm'] });
    expect(r.errors).toEqual([]);
    for (const f of r.outputFiles) expect(f.text).not.toMatch(/from\s*["']node:|require\(["']node:/);
  });

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
