/**
 * The conformance golden cases (torchvision's vectors) through this backend inside headless Chromium:
 * ES modules served as built (dist/), the .wasm fetched and compiled by the page, kernels in module Web
 * Workers. Once on a plain page (no cross-origin isolation, so no SharedArrayBuffer: the single-thread
 * fallback) and once on a cross-origin-isolated page (COOP/COEP headers) with 2 threads. The results are
 * compared here, in Node, with the conformance suite's tolerances.
 *
 * playwright-core's launch() gives every run a fresh temporary profile. Needs Debian's chromium (scripts/setup.sh installs it); CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convShapes, type ConvGeometry } from '@dcnv2/core';
import { caseTolerance, compareTensors, defaultVectorsFiles, loadVectors, type ConvTensorName } from '@dcnv2/conformance';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const coreDist = join(pkgDir, 'node_modules/@dcnv2/core/dist');
const wasmDist = join(pkgDir, 'dist');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.map': 'application/json' };

function serve(): Promise<{ server: Server; origin: string }> {
  const page = readFileSync(join(pkgDir, 'test/browser/page.html'));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const isolated = url.pathname === '/isolated.html';
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' };
    // Workers of an isolated page need COEP on their own script too; on the plain page it changes nothing.
    if (url.pathname !== '/plain.html') headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    if (isolated) headers['Cross-Origin-Opener-Policy'] = 'same-origin';
    if (url.pathname === '/plain.html' || isolated) {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(page);
      return;
    }
    const roots: Record<string, string> = { '/core/': coreDist, '/wasm/': wasmDist };
    for (const [prefix, root] of Object.entries(roots)) {
      if (url.pathname.startsWith(prefix)) {
        const file = normalize(join(root, url.pathname.slice(prefix.length)));
        if (file.startsWith(root) && existsSync(file)) {
          res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
          return;
        }
      }
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve({ server, origin: `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}` });
  }));
}

const b64 = (f: Float32Array | null) => (f === null ? null : Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64'));
const unb64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

function convParams(g: ConvGeometry) {
  return {
    stride: [g.strideH, g.strideW], padding: [g.padTop, g.padLeft, g.padBottom, g.padRight],
    dilation: [g.dilationH, g.dilationW], groups: g.groups, offsetGroups: g.offsetGroups,
  };
}

describe('wasm backend in headless Chromium', () => {
  let browser: Browser;
  let server: Server;
  let origin: string;
  const vectors = defaultVectorsFiles('deform_conv2d').map((f) => loadVectors(f, 'deform_conv2d'));
  const cases = vectors.flatMap((v) => v.cases);

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: run scripts/setup.sh (apt-get install chromium) or set CHROMIUM_PATH`);
    ({ server, origin } = await serve());
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--headless'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
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
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      try {
        await page.goto(`${origin}/${variant.page}`);
        await page.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 30_000 });
        const payload = cases.map((vc) => {
          const p = vc.problem;
          const s = convShapes(p.geometry);
          return {
            shapes: { input: [...s.input], weight: [...s.weight], offset: [...s.offset], mask: [...s.mask], bias: [...s.bias], output: [...s.output] },
            params: convParams(p.geometry),
            input: b64(p.input), weight: b64(p.weight), offset: b64(p.offset), mask: b64(p.mask), bias: b64(p.bias), gradOutput: b64(p.gradOutput),
          };
        });
        const got = (await page.evaluate(
          ([o, c]) => (globalThis as unknown as { runCases(o: unknown, c: unknown): Promise<unknown> }).runCases(o, c),
          [variant.options, payload] as const,
        )) as { info: { variant: string; threads: number; sharedMemory: boolean }; isolated: boolean; results: Array<Record<string, string>> };
        expect(errors).toEqual([]);
        expect(got.isolated).toBe(variant.isolated);
        expect(got.info.threads).toBe(variant.threads);
        expect(got.info.sharedMemory).toBe(variant.shared);
        expect(got.info.variant).toBe('simd' in variant.options ? 'simd' : 'relaxed');
        const failures: string[] = [];
        let checked = 0;
        cases.forEach((vc, i) => {
          for (const [name, want] of Object.entries(vc.expected) as Array<[ConvTensorName, Float32Array | undefined]>) {
            if (want === undefined) continue;
            const res = got.results[i][name];
            if (res === undefined) {
              failures.push(`${vc.name} ${name}: missing`);
              continue;
            }
            const cmp = compareTensors(unb64(res), want, caseTolerance(name, vc.problem.geometry, vc.tolerance[name]));
            checked++;
            if (!cmp.pass) failures.push(`${vc.name} ${name}: max abs error ${cmp.maxAbsError} ${cmp.detail ?? ''}`);
          }
        });
        expect(failures).toEqual([]);
        expect(checked).toBeGreaterThanOrEqual(cases.length);
      } finally {
        await page.close();
      }
    }, 120_000);
  }
});
