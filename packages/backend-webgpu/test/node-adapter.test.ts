/**
 * Who picks the adapter in Node: the caller. Each scenario runs in a fresh Node process (the Vulkan loader
 * reads VK_ICD_FILENAMES once per process) importing the built package, with an environment this test
 * controls: no driver asked for (Dawn's default adapter, VK_ICD_FILENAMES left alone, and on a machine
 * without a GPU a BackendError naming the variable to set), DCNV2_WEBGPU_VK_ICD=swiftshader,
 * `nodeAdapter: { vulkanIcd: 'lavapipe' }` followed by a conflicting request (BackendError), an adapter
 * picked by name, a missing driver. Plus the option's validation and the `#node-gpu` mapping (Node and
 * vitest get node-gpu.js, browser bundles browser-gpu.js; see also test/browser.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BackendError, ParamError } from '@dcnv2/core';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { createWebGpuBackend, ENV_ADAPTER_NAME, ENV_VULKAN_ICD } from '../dist/index.js';
import { lavapipeIcdPath, SWIFTSHADER_ICDS } from '../src/cpu-vulkan-drivers.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const entry = pathToFileURL(join(pkgDir, 'dist/index.js')).href;
const swiftshader = SWIFTSHADER_ICDS.find((f) => existsSync(f));
const lavapipe = ((p) => (p !== null && existsSync(p) ? p : undefined))(lavapipeIcdPath(process.env, homedir()));

interface Outcome {
  readonly vkBefore: string | null;
  readonly vkAfter: string | null;
  readonly results: ReadonlyArray<{ readonly ok: true; readonly variant: string } | { readonly ok: false; readonly name: string; readonly message: string }>;
}

/**
 * Runs `createWebGpuBackend(options).init()` for each options object in a fresh Node process whose
 * environment is this one's without any Vulkan/dcnv2 driver variable, plus `env`.
 */
function inFreshProcess(optionsList: readonly object[], env: Record<string, string> = {}): Outcome {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'VK_ICD_FILENAMES' && k !== 'VK_DRIVER_FILES' && k !== ENV_VULKAN_ICD && k !== ENV_ADAPTER_NAME) clean[k] = v;
  }
  const script = `
    const { createWebGpuBackend } = await import(${JSON.stringify(entry)});
    const vkBefore = process.env.VK_ICD_FILENAMES ?? null;
    const results = [];
    for (const options of ${JSON.stringify(optionsList)}) {
      const b = createWebGpuBackend(options);
      try {
        await b.init();
        results.push({ ok: true, variant: b.info.variant });
      } catch (e) {
        results.push({ ok: false, name: e.constructor.name, message: e.message });
      } finally {
        await b.dispose();
      }
    }
    process.stdout.write('@@' + JSON.stringify({ vkBefore, vkAfter: process.env.VK_ICD_FILENAMES ?? null, results }) + '@@');
    process.exit(0);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: tmpdir(), env: { ...clean, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir(), ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000,
  });
  const m = /@@(.*)@@/s.exec(out);
  if (m === null) throw new Error(`no result from the child process: ${out}`);
  return JSON.parse(m[1]!) as Outcome;
}

describe('the adapter in Node is the caller\'s choice', () => {
  it('asks for nothing: Dawn\'s default adapter, VK_ICD_FILENAMES untouched; without one, a BackendError naming what to set', () => {
    const o = inFreshProcess([{}]);
    expect(o.vkBefore).toBeNull();
    expect(o.vkAfter).toBeNull();
    const r = o.results[0]!;
    if (r.ok) {
      // A machine with a GPU (or a system CPU driver Dawn accepts): whatever Dawn chose, no software driver forced.
      console.log(`Dawn's default adapter here: ${r.variant}`);
    } else {
      // This repository's CI machines have no GPU (and bookworm's lavapipe 22, which Dawn rejects).
      expect(r.name).toBe('BackendError');
      expect(r.message).toMatch(/^backend: expected a WebGPU adapter, got null \(Dawn \(the "webgpu" package\) found no adapter with the system's Vulkan drivers/);
      expect(r.message).toContain(`${ENV_VULKAN_ICD}=swiftshader`);
      expect(r.message).toContain(`${ENV_VULKAN_ICD}=lavapipe`);
      expect(r.message).toContain("nodeAdapter: { vulkanIcd: 'swiftshader' }");
    }
  });

  it.skipIf(swiftshader === undefined)('DCNV2_WEBGPU_VK_ICD=swiftshader: SwiftShader, VK_ICD_FILENAMES pointed at it', () => {
    const o = inFreshProcess([{}], { [ENV_VULKAN_ICD]: 'swiftshader' });
    expect(o.vkAfter).toBe(swiftshader);
    expect(o.results[0]).toMatchObject({ ok: true, variant: expect.stringMatching(/^f32, SwiftShader.*software$/) });
  });

  it.skipIf(lavapipe === undefined || swiftshader === undefined)(
    "nodeAdapter: { vulkanIcd: 'lavapipe' } fixes the process's drivers: a later backend asking for SwiftShader gets a BackendError",
    () => {
      const o = inFreshProcess([
        { nodeAdapter: { vulkanIcd: 'lavapipe' }, precision: 'float16' },
        { nodeAdapter: { vulkanIcd: 'swiftshader' } },
        { nodeAdapter: { vulkanIcd: [lavapipe] } },
        {},
      ]);
      expect(o.vkAfter).toBe(lavapipe);
      expect(o.results[0]).toMatchObject({ ok: true, variant: expect.stringMatching(/^f16, llvmpipe/) });
      expect(o.results[1]).toMatchObject({ ok: false, name: 'BackendError' });
      const conflict = (o.results[1] as { message: string }).message;
      expect(conflict).toContain(`options.nodeAdapter.vulkanIcd: expected the Vulkan drivers this process already uses (VK_ICD_FILENAMES=${lavapipe}), got "${swiftshader}"`);
      expect(conflict).toMatch(/once per process/);
      // The same drivers by path, or no request at all, are fine.
      expect(o.results[2]).toMatchObject({ ok: true, variant: expect.stringMatching(/^f32, llvmpipe/) });
      expect(o.results[3]).toMatchObject({ ok: true, variant: expect.stringMatching(/^f32, llvmpipe/) });
    },
  );

  it.skipIf(lavapipe === undefined || swiftshader === undefined)('both CPU drivers: adapter by need, or by DCNV2_WEBGPU_ADAPTER / nodeAdapter.adapterName', () => {
    const both = inFreshProcess([{}, { precision: 'float16' }, { nodeAdapter: { adapterName: 'llvmpipe' } }], { [ENV_VULKAN_ICD]: 'swiftshader:lavapipe' });
    expect(both.vkAfter).toBe(`${swiftshader}:${lavapipe}`);
    expect(both.results.map((r) => (r.ok ? r.variant.replace(/ .*/, '') : r.message))).toEqual(['f32,', 'f16,', 'f32,']);
    expect(both.results.map((r) => r.ok && /SwiftShader/.test(r.variant))).toEqual([true, false, false]);
    const named = inFreshProcess([{}], { [ENV_VULKAN_ICD]: 'swiftshader:lavapipe', [ENV_ADAPTER_NAME]: 'llvmpipe' });
    expect(named.results[0]).toMatchObject({ ok: true, variant: expect.stringMatching(/^f32, llvmpipe/) });
    const none = inFreshProcess([{ nodeAdapter: { vulkanIcd: 'swiftshader', adapterName: 'NoSuchAdapter' } }]);
    expect(none.results[0]).toMatchObject({ ok: false, name: 'BackendError' });
    expect((none.results[0] as { message: string }).message).toContain(`found no adapter matching Dawn's adapter=NoSuchAdapter with VK_ICD_FILENAMES=${swiftshader}`);
  });

  it('a driver that is not there: BackendError naming the variable or option, VK_ICD_FILENAMES untouched', () => {
    const o = inFreshProcess([{}, { nodeAdapter: { vulkanIcd: '/nonexistent/icd.json' } }], { [ENV_VULKAN_ICD]: '/nonexistent/icd.json' });
    expect(o.vkAfter).toBeNull();
    expect(o.results).toEqual([
      { ok: false, name: 'BackendError', message: expect.stringMatching(/^DCNV2_WEBGPU_VK_ICD: expected a Vulkan driver: "swiftshader", "lavapipe" or the path of an ICD json, got "\/nonexistent\/icd\.json" \(no Vulkan ICD manifest at/) },
      { ok: false, name: 'BackendError', message: expect.stringMatching(/^options\.nodeAdapter\.vulkanIcd: expected a Vulkan driver/) },
    ]);
    const noLvp = inFreshProcess([{ nodeAdapter: { vulkanIcd: 'lavapipe' } }], { DCNV2_LAVAPIPE_DIR: '/nonexistent' });
    expect(noLvp.results[0]).toMatchObject({ ok: false, name: 'BackendError', message: expect.stringContaining("Mesa's lavapipe 25 not found (looked for /nonexistent/lvp_icd.json") });
  });
});

describe('nodeAdapter option', () => {
  it('is checked by the constructor (ParamError)', () => {
    for (const bad of [5, 'swiftshader', [], { vulkanIcd: '' }, { vulkanIcd: [] }, { vulkanIcd: ['ok', 3] }, { adapterName: '' }, { adapterName: 7 }]) {
      expect(() => createWebGpuBackend({ nodeAdapter: bad as never })).toThrow(ParamError);
    }
    expect(() => createWebGpuBackend({ nodeAdapter: { vulkanIcd: 3 as never } })).toThrow(
      'options.nodeAdapter.vulkanIcd: expected "swiftshader", "lavapipe", the path of a Vulkan ICD json, or a non-empty list of them, got 3',
    );
    expect(() => createWebGpuBackend({ nodeAdapter: { vulkanIcd: ['swiftshader', 'lavapipe'], adapterName: 'llvmpipe' } })).not.toThrow();
  });
});

describe('#node-gpu: Node gets node-gpu.js, browsers browser-gpu.js', () => {
  it('in Node (and vitest) the package maps it to dist/node-gpu.js', async () => {
    expect(import.meta.resolve('#node-gpu')).toBe(pathToFileURL(join(pkgDir, 'dist/node-gpu.js')).href);
    // Under vitest, too: the backend's defaultGpu is Dawn's, not the browser one that would throw here.
    const { defaultGpu } = await import('#node-gpu');
    expect(typeof (await defaultGpu()).requestAdapter).toBe('function');
  });

  it('esbuild --platform=browser bundles dist/index.js with no Node built-in and no "webgpu"; --platform=node keeps node-gpu.js', async () => {
    const bundle = async (platform: 'browser' | 'node') => {
      // tsconfigRaw: the package's tsconfig.json plays no part in a consumer's bundle.
      const r = await build({ tsconfigRaw: {}, entryPoints: [join(pkgDir, 'dist/index.js')], bundle: true, write: false, platform, format: 'esm', outdir: 'out', logLevel: 'silent', metafile: true, packages: platform === 'node' ? 'external' : undefined });
      expect(r.errors).toEqual([]);
      return { text: r.outputFiles.map((f) => f.text).join('\n'), inputs: Object.keys(r.metafile.inputs) };
    };
    const browser = await bundle('browser');
    expect(browser.inputs.some((f) => f.endsWith('dist/browser-gpu.js'))).toBe(true);
    expect(browser.inputs.some((f) => f.endsWith('dist/node-gpu.js'))).toBe(false);
    expect(browser.text).not.toMatch(/["']node:|(?:import\s*\(|from)\s*["']webgpu["']/);
    const node = await bundle('node');
    expect(node.inputs.some((f) => f.endsWith('dist/node-gpu.js'))).toBe(true);
    expect(node.inputs.some((f) => f.endsWith('dist/browser-gpu.js'))).toBe(false);
  });

  it('the browser module refuses an environment without navigator.gpu', async () => {
    const browserGpu = (await import('../dist/browser-gpu.js')) as { defaultGpu(): Promise<GPU> };
    await expect(browserGpu.defaultGpu()).rejects.toThrow(BackendError);
    await expect(browserGpu.defaultGpu()).rejects.toThrow(/^backend: expected a WebGPU-capable environment \(navigator\.gpu\), got "none"/);
  });
});
