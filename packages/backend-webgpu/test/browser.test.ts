/**
 * The conformance golden cases (torchvision's vectors, shared/golden/deform_conv2d.json, read by path from
 * the workspace and handed to the page, never copied into the package), forward and backward, through this
 * backend inside headless Chromium on its own `navigator.gpu` (nothing injected): ES modules served as
 * built (dist/), WebGPU from Chromium's SwiftShader fallback adapter, so no GPU is needed. The results are
 * compared here, in Node, with the conformance suite's tolerances.
 *
 * playwright-core's launch() gives every run a fresh temporary profile. Needs Debian's chromium
 * (scripts/setup.sh installs it); CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convShapes, type ConvGeometry } from '@dcnv2/core';
import { caseTolerance, compareTensors, loadVectors, type ConvTensorName } from '@dcnv2/conformance';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const coreDist = join(pkgDir, 'node_modules/@dcnv2/core/dist');
const gpuDist = join(pkgDir, 'dist');
const goldenFile = fileURLToPath(new URL('../../../../shared/golden/deform_conv2d.json', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that give headless Chromium 156 a WebGPU adapter without a GPU (SwiftShader, a CPU Vulkan). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };

function serve(): Promise<{ server: Server; origin: string }> {
  const page = readFileSync(join(pkgDir, 'test/browser/page.html'));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers = { 'Cache-Control': 'no-store' };
    if (url.pathname === '/page.html') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(page);
      return;
    }
    const roots: Record<string, string> = { '/core/': coreDist, '/webgpu/': gpuDist };
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

interface AdapterInfo { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }

describe('webgpu backend in headless Chromium', () => {
  let browser: Browser;
  let server: Server;
  let origin: string;
  const cases = loadVectors(goldenFile, 'deform_conv2d').cases;

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: run scripts/setup.sh (apt-get install chromium) or set CHROMIUM_PATH`);
    ({ server, origin } = await serve());
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--headless', ...WEBGPU_FLAGS],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it('bundles for the browser with no static Node built-in import', async () => {
    // node-gpu.ts reaches node:fs / node:os / "webgpu" only through dynamic imports on the Node path
    // (when there is no navigator.gpu), so they are left external here and must never appear as static imports.
    const r = await build({ entryPoints: [join(gpuDist, 'index.js')], bundle: true, write: false, platform: 'browser', format: 'esm', outdir: 'out', logLevel: 'silent', external: ['node:*'] });
    expect(r.errors).toEqual([]);
    for (const f of r.outputFiles) expect(f.text).not.toMatch(/(?:from|import)\s*["']node:|require\(["']node:/);
  });

  it('passes the golden cases, forward and backward, on navigator.gpu', async () => {
    expect(cases.length).toBeGreaterThan(0);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(`${origin}/page.html`);
      await page.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 30_000 });
      const probe = (await page.evaluate(() => (globalThis as unknown as { probeAdapter(): Promise<unknown> }).probeAdapter())) as {
        hasGpu: boolean; adapter: (AdapterInfo & { maxStorageBufferBindingSize: number }) | null;
      };
      console.log(`navigator.gpu.requestAdapter(): ${JSON.stringify(probe.adapter)}`);
      expect(probe.hasGpu).toBe(true);
      expect(probe.adapter).not.toBeNull();

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
        (c) => (globalThis as unknown as { runCases(c: unknown): Promise<unknown> }).runCases(c),
        payload,
      )) as { deviceAdapter: AdapterInfo | null; results: Array<Record<string, string>> };
      console.log(`backend device adapterInfo: ${JSON.stringify(got.deviceAdapter)}`);
      expect(errors).toEqual([]);
      expect(got.results).toHaveLength(cases.length);
      const failures: string[] = [];
      let checked = 0;
      let grads = 0;
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
          if (name !== 'output') grads++;
          if (!cmp.pass) failures.push(`${vc.name} ${name}: max abs error ${cmp.maxAbsError} ${cmp.detail ?? ''}`);
        }
      });
      console.log(`golden: ${cases.length} cases, ${checked} tensors compared (${grads} gradients)`);
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThanOrEqual(cases.length);
      expect(grads).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  }, 120_000);
});
