/**
 * The conformance golden vectors (the same cases, tolerances and counts as golden.test.ts) through
 * @dcnv2/tfjs on tfjs's webgpu backend inside headless Chromium: WebGPU from the page's own
 * `navigator.gpu` (Chromium's SwiftShader fallback adapter, so no GPU is needed), tfjs-backend-webgpu
 * registering backend 'webgpu' from it as in any browser application, and the dcnv2 webgpu backend on
 * tfjs's own GPUDevice. The page (test/browser/entry.js) is bundled with esbuild for the browser against
 * the package as it ships (dist/: build first) and its dependencies from this package's node_modules; the
 * results come back as base64 float32 and are compared here, in Node, at the conformance tolerances.
 *
 * Needs Debian's chromium (scripts/setup.sh installs it); CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, pagePayload, serveStatic, type Browser, type StaticServer } from '@dcnv2/browser-harness';
import { caseTolerance, compareTensors, defaultVectorsFiles, loadVectors, roiGradTensorName, roiPoolCaseTolerance, roiPoolParams, roiVectorProblem, type ConvVectorCase, type RoiPoolVectorCase } from '@dcnv2/conformance';
import { OPS, type RoiPoolGradName } from '@dcnv2/core';
import { build, type Metafile, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const pageDir = join(pkgDir, 'test/browser');

const convCases = loadVectors(defaultVectorsFiles('deform_conv2d')[0]!, 'deform_conv2d').cases;
const roiCases = loadVectors(defaultVectorsFiles('deform_roi_pool')[0]!, 'deform_roi_pool').cases;

/** Flags that give headless Chromium a WebGPU adapter without a GPU (SwiftShader, a CPU Vulkan). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

const b64 = (f: Float32Array | null) => (f === null ? null : Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64'));
const unb64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/**
 * `@dcnv2/tfjs` as a consumer's bundler finds it: this package's dist/index.js (the package cannot depend
 * on itself, so the page's bare import is pointed here); everything else resolves as esbuild does.
 */
const selfAsShipped: Plugin = {
  name: 'dcnv2-tfjs-dist',
  setup(b) {
    b.onResolve({ filter: /^@dcnv2\/tfjs$/ }, () => ({ path: join(pkgDir, 'dist/index.js') }));
  },
};

/** A RoI pooling case as the page's `runRoi` expects it: shapes, public-API params, base64 tensors. */
function roiPayload(vc: RoiPoolVectorCase) {
  const p = roiVectorProblem(vc);
  const s = OPS.deform_roi_pool.shapes(p.geometry);
  return {
    shapes: { input: [...s.input], rois: [p.geometry.rois, 5], offset: [...s.offset], mask: [...s.mask], output: [...s.output] },
    params: roiPoolParams(p.geometry),
    input: b64(p.input), rois: b64(p.rois), offset: b64(p.offset), mask: b64(p.mask), gradOutput: b64(p.gradOutput),
  };
}

type Page = Awaited<ReturnType<Browser['newPage']>>;
interface AdapterInfo { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }
interface RunResult { results: Array<Record<string, string>>; numTensors: { before: number; after: number } }
type Win = {
  pageReady?: boolean;
  probeAdapter(): Promise<{ hasGpu: boolean; adapter: AdapterInfo | null }>;
  useWebGpu(): Promise<{ setBackend: boolean; backend: string; sameDevice: boolean; adapter: AdapterInfo | null }>;
  runConv(cases: unknown, format: string): Promise<RunResult>;
  runRoi(cases: unknown): Promise<RunResult>;
};

/** Rows compared and the problems found, for a summary line per op and format (as golden.test.ts). */
interface Tally { compared: number; problems: string[] }

function check(t: Tally, label: string, got: string | undefined, want: ArrayLike<number>, tol: { atol: number; rtol: number }, shape: readonly number[]): void {
  t.compared++;
  if (got === undefined) {
    t.problems.push(`${label}: missing from the page's results`);
    return;
  }
  const c = compareTensors(unb64(got), want, tol, shape);
  if (!c.pass) t.problems.push(`${label}: ${c.detail}`);
}

describe('@dcnv2/tfjs on tfjs webgpu in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let outDir: string;
  let metafile: Metafile;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'dcnv2-tfjs-browser-'));
    const r = await build({
      tsconfigRaw: {},
      absWorkingDir: pkgDir,
      entryPoints: [join(pageDir, 'entry.js')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      outdir: outDir,
      metafile: true,
      logLevel: 'silent',
      plugins: [selfAsShipped],
    });
    metafile = r.metafile;
    server = await serveStatic({ pages: { '/page.html': join(pageDir, 'page.html') }, roots: { '/app/': outDir } });
    browser = await launchChromium(WEBGPU_FLAGS);
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
    });
    await page.goto(`${server.origin}/page.html`);
    await page.waitForFunction(() => (globalThis as unknown as Win).pageReady === true, undefined, { timeout: 60_000 });
  });

  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('bundles @dcnv2/tfjs from dist/ with one tfjs-core and no Node built-in', () => {
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.some((f) => f.endsWith('packages/tfjs/dist/index.js') || f === 'dist/index.js')).toBe(true);
    expect(inputs.some((f) => /packages\/tfjs\/src\//.test(f) || f.startsWith('src/'))).toBe(false);
    // One copy of tfjs-core: the kernels and gradients @dcnv2/tfjs registers must land in the registry the page's tf uses.
    const cores = new Set(inputs.filter((f) => f.includes('@tensorflow/tfjs-core/dist/')).map((f) => f.slice(0, f.indexOf('@tensorflow/tfjs-core/dist/'))));
    expect([...cores]).toHaveLength(1);
    // platform 'browser' with nothing external: a Node built-in would have failed the build; nor may the output
    // import one, or the `webgpu` package @dcnv2/backend-webgpu uses in Node only.
    const outputs = Object.keys(metafile.outputs).filter((f) => f.endsWith('.js'));
    expect(outputs.length).toBeGreaterThan(0);
    for (const f of outputs) expect(readFileSync(join(pkgDir, f), 'utf8')).not.toMatch(/["']node:|(?:import\s*\(|from)\s*["']webgpu["']/);
  });

  it('runs on tfjs webgpu over the page\'s navigator.gpu, with the dcnv2 backend on tfjs\'s device', async () => {
    const probe = await page.evaluate(() => (globalThis as unknown as Win).probeAdapter());
    console.log(`navigator.gpu.requestAdapter(): ${JSON.stringify(probe.adapter)}`);
    expect(probe.hasGpu).toBe(true);
    expect(probe.adapter).not.toBeNull();
    const use = await page.evaluate(() => (globalThis as unknown as Win).useWebGpu());
    console.log(`tfjs ${use.backend}, device adapterInfo: ${JSON.stringify(use.adapter)}`);
    expect(use.setBackend).toBe(true);
    expect(use.backend).toBe('webgpu');
    expect(use.sameDevice).toBe(true);
    expect(use.adapter).not.toBeNull();
    expect(errors.splice(0)).toEqual([]);
  });

  it.each(['NCHW', 'NHWC'] as const)('deform_conv2d, %s: every case, output and all five gradients', async (format) => {
    const got = await page.evaluate(([c, f]) => (globalThis as unknown as Win).runConv(c, f), [pagePayload(convCases), format] as const);
    expect(errors.splice(0)).toEqual([]);
    expect(got.results).toHaveLength(convCases.length);
    const t: Tally = { compared: 0, problems: [] };
    convCases.forEach((vc: ConvVectorCase, i) => {
      const g = vc.problem.geometry;
      const s = OPS.deform_conv2d.shapes(g);
      for (const [name, want] of Object.entries(vc.expected)) {
        if (want === undefined) continue;
        const n = name as keyof typeof vc.expected;
        const shape = n === 'output' ? s.output : s[n.slice('grad_'.length) as 'input'];
        check(t, `${vc.name} ${n}`, got.results[i]![n], want, caseTolerance(n, g, vc.tolerance[n]), shape);
      }
    });
    console.log(`tfjs webgpu in Chromium deform_conv2d ${format}: ${t.compared - t.problems.length} of ${t.compared} golden tensors pass`);
    expect(t.problems).toEqual([]);
    expect(t.compared).toBe(convCases.length * 6 - 2);
    expect(got.numTensors.after).toBe(got.numTensors.before);
  });

  it('deform_roi_pool, NCHW: every case, output and the gradients of input, offset and mask', async () => {
    const got = await page.evaluate((c) => (globalThis as unknown as Win).runRoi(c), roiCases.map(roiPayload));
    expect(errors.splice(0)).toEqual([]);
    expect(got.results).toHaveLength(roiCases.length);
    const t: Tally = { compared: 0, problems: [] };
    roiCases.forEach((vc, i) => {
      const p = roiVectorProblem(vc);
      const g = p.geometry;
      const s = OPS.deform_roi_pool.shapes(g);
      if (vc.expected.output) check(t, `${vc.name} output`, got.results[i]!.output, vc.expected.output.data, roiPoolCaseTolerance('output', g, p.rois, vc.tolerance.output), s.output);
      for (const n of ['input', 'offset', 'mask'] as RoiPoolGradName[]) {
        const name = roiGradTensorName(n);
        const want = vc.expected[name];
        if (want !== undefined) check(t, `${vc.name} ${name}`, got.results[i]![name], want.data, roiPoolCaseTolerance(name, g, p.rois, vc.tolerance[name]), s[n]);
      }
    });
    console.log(`tfjs webgpu in Chromium deform_roi_pool NCHW: ${t.compared - t.problems.length} of ${t.compared} golden tensors pass`);
    expect(t.problems).toEqual([]);
    expect(t.compared).toBeGreaterThanOrEqual(roiCases.length * 2);
    expect(got.numTensors.after).toBe(got.numTensors.before);
  });
});
