/**
 * The conformance golden cases (torchvision's vectors, shared/golden/deform_conv2d.json, and the RoI
 * pooling vectors, shared/golden/deform_roi_pool.json, read by path from the workspace and handed to the
 * page, never copied into the package), forward and backward, through this backend inside headless Chromium on its own `navigator.gpu` (nothing injected): ES modules served as
 * built (dist/), WebGPU from Chromium's SwiftShader fallback adapter, so no GPU is needed. The results are
 * compared here, in Node, with the conformance suite's tolerances.
 *
 * playwright-core's launch() gives every run a fresh temporary profile. Needs Debian's chromium
 * (scripts/setup.sh installs it); CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPageResults, launchChromium, pagePayload, serveStatic, type Browser, type StaticServer } from '@dcnv2/browser-harness';
import { roiPoolShapes } from '@dcnv2/core';
import { compareTensors, loadVectors, roiPoolCaseTolerance, roiPoolParams, roiVectorProblem, ROI_POOL_TENSORS, type RoiPoolVectorCase } from '@dcnv2/conformance';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const gpuDist = join(pkgDir, 'dist');
const goldenFile = fileURLToPath(new URL('../../../../shared/golden/deform_conv2d.json', import.meta.url));
const roiGoldenFile = fileURLToPath(new URL('../../../../shared/golden/deform_roi_pool.json', import.meta.url));

const b64 = (v: { data: Float32Array } | null) => (v === null ? null : Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('base64'));
const unb64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** A RoI pooling case as the page's `runRoiCases` expects it: shapes, public-API params, base64 tensors. */
function roiPayload(vc: RoiPoolVectorCase) {
  const g = roiVectorProblem(vc).geometry;
  const s = roiPoolShapes(g);
  return {
    shapes: { input: [...s.input], rois: [...s.rois], offset: [...s.offset], mask: [...s.mask], output: [...s.output] },
    params: roiPoolParams(g),
    input: b64(vc.input), rois: b64(vc.rois), offset: b64(vc.offset), mask: b64(vc.mask), gradOutput: b64(vc.gradOutput),
  };
}

/** Flags that give headless Chromium 156 a WebGPU adapter without a GPU (SwiftShader, a CPU Vulkan). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

type Page = Awaited<ReturnType<Browser['newPage']>>;

interface AdapterInfo { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }

describe('webgpu backend in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  const cases = loadVectors(goldenFile, 'deform_conv2d').cases;

  beforeAll(async () => {
    server = await serveStatic({
      pages: { '/page.html': join(pkgDir, 'test/browser/page.html') },
      roots: { '/core/': join(pkgDir, 'node_modules/@dcnv2/core/dist'), '/webgpu/': gpuDist },
    });
    browser = await launchChromium(WEBGPU_FLAGS);
  }, 300_000);

  /**
   * Opens a new tab on page.html, waits until the page has defined its functions, runs `test` on it and
   * closes the tab however `test` ends. `errors` collects the page's uncaught errors as they happen.
   */
  async function onTestPage(test: (page: Page, errors: readonly string[]) => Promise<void>): Promise<void> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(`${server.origin}/page.html`);
      await page.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, undefined, { timeout: 30_000 });
      await test(page, errors);
    } finally {
      await page.close();
    }
  }

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('bundles for the browser with no Node built-in and no "webgpu"', async () => {
    // package.json "imports" maps #node-gpu to browser-gpu.js outside Node, so esbuild (platform browser,
    // nothing external) never sees node-gpu.js's node:fs / node:os / "webgpu" (test/node-adapter.test.ts
    // checks the Node side). tsconfigRaw: the package's tsconfig.json plays no part in a consumer's bundle.
    const r = await build({ tsconfigRaw: {}, entryPoints: [join(gpuDist, 'index.js')], bundle: true, write: false, platform: 'browser', format: 'esm', outdir: 'out', logLevel: 'silent' });
    expect(r.errors).toEqual([]);
    for (const f of r.outputFiles) expect(f.text).not.toMatch(/["']node:|(?:import\s*\(|from)\s*["']webgpu["']/);
  });

  it('passes the golden cases, forward and backward, on navigator.gpu', async () => {
    expect(cases.length).toBeGreaterThan(0);
    await onTestPage(async (page, errors) => {
      const probe = (await page.evaluate(() => (globalThis as unknown as { probeAdapter(): Promise<unknown> }).probeAdapter())) as {
        hasGpu: boolean; adapter: (AdapterInfo & { maxStorageBufferBindingSize: number }) | null;
      };
      console.log(`navigator.gpu.requestAdapter(): ${JSON.stringify(probe.adapter)}`);
      expect(probe.hasGpu).toBe(true);
      expect(probe.adapter).not.toBeNull();

      const payload = pagePayload(cases);
      const got = (await page.evaluate(
        (c) => (globalThis as unknown as { runCases(c: unknown): Promise<unknown> }).runCases(c),
        payload,
      )) as { deviceAdapter: AdapterInfo | null; results: Array<Record<string, string>> };
      console.log(`backend device adapterInfo: ${JSON.stringify(got.deviceAdapter)}`);
      expect(errors).toEqual([]);
      expect(got.results).toHaveLength(cases.length);
      const { failures, checked, grads } = checkPageResults(cases, got.results);
      console.log(`golden: ${cases.length} cases, ${checked} tensors compared (${grads} gradients)`);
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThanOrEqual(cases.length);
      expect(grads).toBeGreaterThan(0);
    });
  }, 120_000);

  it('passes the RoI pooling golden cases, forward and backward, on navigator.gpu', async () => {
    const roiCases = loadVectors(roiGoldenFile, 'deform_roi_pool').cases;
    expect(roiCases.length).toBeGreaterThan(0);
    await onTestPage(async (page, errors) => {
      const results = (await page.evaluate(
        (c) => (globalThis as unknown as { runRoiCases(c: unknown): Promise<unknown> }).runRoiCases(c),
        roiCases.map(roiPayload),
      )) as Array<Record<string, string>>;
      expect(errors).toEqual([]);
      expect(results).toHaveLength(roiCases.length);
      const failures: string[] = [];
      let checked = 0;
      roiCases.forEach((vc, i) => {
        const g = roiVectorProblem(vc).geometry;
        for (const name of ROI_POOL_TENSORS) {
          const want = vc.expected[name];
          if (want === undefined) continue;
          const res = results[i]![name];
          if (res === undefined) {
            failures.push(`${vc.name} ${name}: missing`);
            continue;
          }
          const cmp = compareTensors(unb64(res), want.data, roiPoolCaseTolerance(name, g, vc.rois.data, vc.tolerance[name]));
          checked++;
          if (!cmp.pass) failures.push(`${vc.name} ${name}: max abs error ${cmp.maxAbsError} ${cmp.detail ?? ''}`);
        }
      });
      console.log(`RoI golden: ${roiCases.length} cases, ${checked} tensors compared`);
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThan(roiCases.length);
    });
  }, 120_000);
});
