/**
 * Blocking mode (`options.blocking`) in headless Chromium, where the difference between threads matters:
 * - on a cross-origin-isolated page's main thread, where `Atomics.wait` really throws, init refuses it
 *   with a CapabilityError naming `options.blocking` (and `threads: 1, blocking: true` is accepted);
 * - in a module Web Worker of that page, runOpSync runs synchronously on 2 threads (the worker blocks on
 *   its nested kernel worker), the kernel worker takes chunks, and the result equals a one-thread backend's
 *   bit for bit.
 * Needs Debian's chromium (scripts/setup.sh installs it), as test/browser.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serveStatic, type Browser, type StaticServer } from '@dcnv2/browser-harness';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const pageFile = join(pkgDir, 'test/browser/page.html');

/** COOP + COEP on the page, COEP on every script (the kernel worker's included), as test/browser.test.ts. */
function isolationHeaders(pathname: string): Record<string, string> {
  const h: Record<string, string> = { 'Cross-Origin-Resource-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  if (pathname === '/isolated.html') h['Cross-Origin-Opener-Policy'] = 'same-origin';
  return h;
}

describe('blocking mode in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let bundleDir: string;

  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'dcnv2-blocking-'));
    await build({
      entryPoints: [join(pkgDir, 'test/browser/blocking-worker.js')],
      outfile: join(bundleDir, 'blocking-worker.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      logLevel: 'silent',
      external: ['*.wasm'],
    });
    server = await serveStatic({
      pages: { '/isolated.html': pageFile },
      roots: { '/core/': join(pkgDir, 'node_modules/@dcnv2/core/dist'), '/wasm/': join(pkgDir, 'dist'), '/blocking/': bundleDir },
      headers: isolationHeaders,
    });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (bundleDir !== undefined) rmSync(bundleDir, { recursive: true, force: true });
  });

  async function onIsolatedPage<T>(f: (tab: Awaited<ReturnType<Browser['newPage']>>) => Promise<T>): Promise<T> {
    const tab = await browser.newPage();
    try {
      await tab.goto(`${server.origin}/isolated.html`);
      await tab.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 30_000 });
      return await f(tab);
    } finally {
      await tab.close();
    }
  }

  it('is refused on the main thread of an isolated page (Atomics.wait throws there), with CapabilityError naming options.blocking', async () => {
    const [refused, single] = await onIsolatedPage(async (tab) => {
      const tryInit = (o: unknown) => tab.evaluate((x) => (globalThis as unknown as { tryInit(o: unknown): Promise<Record<string, unknown>> }).tryInit(x), o);
      // tryInit runs until a worker took chunks (20 s at most): only for the refused case, which has none.
      // A string, not a function: vitest would rewrite the function's import() for Node.
      const one = (await tab.evaluate(`(async () => {
        const { createWasmBackend } = await import('/wasm/index.js');
        const be = createWasmBackend({ threads: 1, blocking: true });
        try {
          await be.init();
          return { ok: true, info: be.info };
        } finally {
          await be.dispose();
        }
      })()`)) as Record<string, unknown>;
      return [await tryInit({ threads: 2, blocking: true }), one];
    });
    expect(refused).toMatchObject({ ok: false, name: 'CapabilityError', argument: 'options.blocking' });
    expect(refused.message).toMatch(/Atomics\.wait throws on this thread \(TypeError/);
    expect(single).toMatchObject({ ok: true, info: { threads: 1, synchronous: true } });
  }, 120_000);

  it('runs runOpSync on 2 threads inside a Web Worker: synchronous, the kernel worker takes chunks, equal to one thread', async () => {
    const got = (await onIsolatedPage((tab) =>
      tab.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const w = new Worker('/blocking/blocking-worker.js', { type: 'module' });
            w.onmessage = (e) => {
              resolve(e.data);
              w.terminate();
            };
            w.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
            w.postMessage('go');
          }),
      ),
    )) as { ok: boolean; message?: string; info?: Record<string, unknown>; same?: boolean; length?: number; calls?: number };
    expect(got.ok, got.message).toBe(true);
    expect(got.info).toMatchObject({ threads: 2, sharedMemory: true, synchronous: true });
    expect(got.info!.workerChunks).toBeGreaterThan(0);
    expect(got.same).toBe(true);
    expect(got.length).toBe(2 * 16 * 24 * 24);
  }, 120_000);
});
