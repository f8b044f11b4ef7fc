/**
 * The shipped files and where the backend finds them (issue 11): dist/worker.js is one self-contained
 * module; the bundler-facing URL shapes are intact; `wasmPaths` / `workerUrl` (options and `wasmEnv`) load
 * copies from elsewhere and really run threads on them; bad values are ParamErrors naming the argument; a
 * missing or broken .wasm or worker script is an error that names the URL and the cause.
 */
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BackendError, deformConv2d, ParamError } from '@dcnv2/core';
import { transform } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend, setWasmPaths, WASM_FILES, wasmEnv, type WasmBackend } from '../dist/index.js';
import { makeCase } from './helpers.js';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const workerCode = readFileSync(join(dist, 'worker.js'), 'utf8');

/** A folder with copies of dist/wasm/*.wasm and dist/worker.js (and no package.json): a CDN or a copied bundle. */
function copyAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dcnv2-wasm-assets-'));
  cpSync(join(dist, 'wasm'), join(dir, 'wasm'), { recursive: true });
  copyFileSync(join(dist, 'worker.js'), join(dir, 'worker.js'));
  return dir;
}

/** Runs forward calls until the workers have taken chunks (a short call may be done by the caller alone). */
async function computeOnThreads(be: WasmBackend): Promise<Float32Array> {
  const c = makeCase(2, 16, 24, 16, 7);
  let out: Float32Array | null = null;
  // Chunks go to whichever thread claims them first: on a loaded machine (turbo runs every package's
  // tests at once on 2 cores) the calling thread can finish a small run before a worker wakes, many
  // times in a row. Retry for up to 30 s rather than a fixed count, so the proof does not flake.
  const until = Date.now() + 30_000;
  while (out === null || (be.info.workerChunks === 0 && Date.now() < until)) {
    out = (await deformConv2d({ input: c.input, weight: c.weight, offset: c.offset, mask: c.mask, bias: c.bias }, c.params, { backend: be })).data;
  }
  return out!;
}

let reference: Float32Array;

beforeAll(async () => {
  const be = createWasmBackend({ threads: 1, simd: 'simd' });
  await be.init();
  const c = makeCase(2, 16, 24, 16, 7);
  reference = (await deformConv2d({ input: c.input, weight: c.weight, offset: c.offset, mask: c.mask, bias: c.bias }, c.params, { backend: be })).data;
  await be.dispose();
});

describe('dist/worker.js', () => {
  it('is one self-contained module: no import or export of another file, no top-level await, no import.meta', async () => {
    expect(workerCode).not.toMatch(/(?:^|[\s;])(?:import|export)\s*(?:[^'";]*?\bfrom\s*)?['"][^'"]+['"]/m);
    expect(workerCode).not.toMatch(/\bimport\s*\(\s*['"`]\./);
    expect(workerCode).not.toMatch(/import\.meta/);
    expect(workerCode).not.toMatch(/['"]node:/);
    // esbuild refuses a top-level await when told the target lacks it.
    await expect(transform(workerCode, { format: 'esm', loader: 'js', supported: { 'top-level-await': false } })).resolves.toBeDefined();
    // The one dynamic import (Node's worker_threads) is marked for webpack and Vite to leave alone.
    expect(workerCode).toMatch(/import\(\s*\/\*\s*webpackIgnore:\s*true\s*\*\/\s*\/\*\s*@vite-ignore\s*\*\/\s*\w+\s*\)/);
    const map = JSON.parse(readFileSync(join(dist, 'worker.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sourcesContent?.length).toBe(map.sources.length);
    expect(map.sourcesContent!.every((s) => s.length > 0)).toBe(true);
  });

  it('is referenced in the shapes bundlers follow, once, and the .wasm builds as new URL literals', () => {
    const urls = readFileSync(join(dist, 'wasm-urls.js'), 'utf8');
    expect(urls).toContain("new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })");
    // No other literal reference to worker.js anywhere in dist (a bundler would copy it again as a raw asset).
    for (const f of readdirSync(dist).filter((n) => n.endsWith('.js') && n !== 'worker.js')) {
      const code = readFileSync(join(dist, f), 'utf8').replace(/\/\*[^]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      const n = (code.match(/new URL\(\s*['"`]\.\/worker\.js/g) ?? []).length;
      expect(n, f).toBe(f === 'wasm-urls.js' ? 1 : 0);
    }
    for (const f of WASM_FILES) expect(urls).toContain(`new URL('./wasm/${f}', import.meta.url)`);
    for (const f of readdirSync(dist).filter((n) => n.endsWith('.js'))) {
      const code = readFileSync(join(dist, f), 'utf8');
      expect(code, f).not.toMatch(/from\s*['"]node:|import\s*\(\s*['"`]node:|require\(/);
      // Every computed import() is ignored by webpack and Vite.
      for (const m of code.matchAll(/\bimport\s*\(([^)]*)\)/g)) expect(m[1], f).toMatch(/webpackIgnore:\s*true[^]*@vite-ignore/);
    }
  });

  it('runs in a Node worker thread from a copy outside the package (no package.json next to it)', async () => {
    const dir = copyAssets();
    try {
      const be = createWasmBackend({ threads: 2, simd: 'simd', workerUrl: join(dir, 'worker.js') });
      await be.init();
      expect(be.info.workerUrl).toBe(pathToFileURL(join(dir, 'worker.js')).href);
      expect(Array.from(await computeOnThreads(be))).toEqual(Array.from(reference));
      expect(be.info.workerChunks).toBeGreaterThan(0);
      await be.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('wasmPaths and workerUrl in Node', () => {
  let dir: string;
  beforeAll(() => {
    dir = copyAssets();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    wasmEnv.wasmPaths = undefined;
    wasmEnv.workerUrl = undefined;
  });

  it('uses the defaults next to the module', async () => {
    const be = createWasmBackend({ threads: 2, simd: 'simd' });
    await be.init();
    expect(be.info).toMatchObject({
      variant: 'simd',
      threads: 2,
      sharedMemory: true,
      wasmUrl: pathToFileURL(join(dist, 'wasm/dcn-simd-mt.wasm')).href,
      workerUrl: pathToFileURL(join(dist, 'worker.js')).href,
    });
    await be.dispose();
  });

  for (const [label, paths] of [
    ['a folder path without a trailing slash', () => join(dir, 'wasm')],
    ['a folder URL', () => pathToFileURL(join(dir, 'wasm') + '/')],
    ['a file: URL string', () => pathToFileURL(join(dir, 'wasm')).href],
  ] as const) {
    it(`loads the builds and the worker from copies: wasmPaths as ${label}`, async () => {
      const be = createWasmBackend({ threads: 2, simd: 'simd', wasmPaths: paths(), workerUrl: pathToFileURL(join(dir, 'worker.js')) });
      await be.init();
      expect(be.info.wasmUrl).toBe(pathToFileURL(join(dir, 'wasm/dcn-simd-mt.wasm')).href);
      expect(be.info.workerUrl).toBe(pathToFileURL(join(dir, 'worker.js')).href);
      expect(be.info.threads).toBe(2);
      expect(be.capabilities.threads).toBe(2);
      expect(Array.from(await computeOnThreads(be))).toEqual(Array.from(reference));
      expect(be.info.workerChunks).toBeGreaterThan(0);
      await be.dispose();
    });
  }

  it('takes per-file URLs (files left out keep the default)', async () => {
    const renamed = join(dir, 'kernels-simd-mt.wasm');
    copyFileSync(join(dir, 'wasm/dcn-simd-mt.wasm'), renamed);
    const be = createWasmBackend({ threads: 2, simd: 'simd', wasmPaths: { 'dcn-simd-mt.wasm': renamed } });
    await be.init();
    expect(be.info.wasmUrl).toBe(pathToFileURL(renamed).href);
    expect(Array.from(await computeOnThreads(be))).toEqual(Array.from(reference));
    await be.dispose();
    const one = createWasmBackend({ threads: 1, simd: 'simd', wasmPaths: { 'dcn-simd-mt.wasm': renamed } });
    await one.init();
    expect(one.info.wasmUrl).toBe(pathToFileURL(join(dist, 'wasm/dcn-simd.wasm')).href);
    await one.dispose();
  });

  it('takes module-wide settings (wasmEnv, setWasmPaths); a backend option wins', async () => {
    wasmEnv.wasmPaths = join(dir, 'wasm');
    wasmEnv.workerUrl = join(dir, 'worker.js');
    const be = createWasmBackend({ threads: 2, simd: 'simd' });
    await be.init();
    expect(be.info.wasmUrl).toBe(pathToFileURL(join(dir, 'wasm/dcn-simd-mt.wasm')).href);
    expect(be.info.workerUrl).toBe(pathToFileURL(join(dir, 'worker.js')).href);
    expect(Array.from(await computeOnThreads(be))).toEqual(Array.from(reference));
    await be.dispose();
    const own = createWasmBackend({ threads: 2, simd: 'simd', wasmPaths: join(dist, 'wasm'), workerUrl: join(dist, 'worker.js') });
    await own.init();
    expect(own.info.wasmUrl).toBe(pathToFileURL(join(dist, 'wasm/dcn-simd-mt.wasm')).href);
    expect(own.info.workerUrl).toBe(pathToFileURL(join(dist, 'worker.js')).href);
    await own.dispose();
    setWasmPaths(null);
    expect(wasmEnv.wasmPaths).toBeUndefined();
    setWasmPaths(pathToFileURL(join(dir, 'wasm/')));
    expect(String(wasmEnv.wasmPaths)).toBe(pathToFileURL(join(dir, 'wasm/')).href);
  });

  it('refuses bad values with ParamErrors naming the argument', async () => {
    const bad: Array<[unknown, unknown, string]> = [
      [5, undefined, 'options.wasmPaths'],
      ['', undefined, 'options.wasmPaths'],
      [['a/'], undefined, 'options.wasmPaths'],
      [{ 'dcn-fast.wasm': 'x.wasm' }, undefined, 'options.wasmPaths'],
      [{ 'dcn-simd.wasm': 3 }, undefined, 'options.wasmPaths["dcn-simd.wasm"]'],
      [{ 'dcn-simd.wasm': 'http://a b/' }, undefined, 'options.wasmPaths["dcn-simd.wasm"]'],
      [undefined, 42, 'options.workerUrl'],
      [undefined, { href: 'file:///x.js' }, 'options.workerUrl'],
    ];
    for (const [wasmPaths, workerUrl, argument] of bad) {
      let err: unknown;
      try {
        createWasmBackend({ wasmPaths, workerUrl } as never);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify([wasmPaths, workerUrl])).toBeInstanceOf(ParamError);
      expect((err as ParamError).argument).toBe(argument);
      expect((err as ParamError).expected).toMatch(/URL|keys are among/);
    }
    const e1 = (() => { try { wasmEnv.wasmPaths = 7 as never; } catch (e) { return e; } })();
    expect(e1).toBeInstanceOf(ParamError);
    expect((e1 as ParamError).argument).toBe('wasmEnv.wasmPaths');
    expect(() => { wasmEnv.workerUrl = [] as never; }).toThrow(ParamError);
    expect(() => setWasmPaths({ nope: 'x' } as never)).toThrow(/wasmEnv\.wasmPaths: expected an object whose keys are among "dcn-simd.wasm"/);
    expect(() => { (wasmEnv as unknown as Record<string, unknown>).wasmPath = 'x'; }).toThrow(TypeError);
    // Node's worker threads load local files only.
    const remote = createWasmBackend({ threads: 2, workerUrl: 'https://cdn.example/worker.js' });
    await expect(remote.init()).rejects.toMatchObject({ name: 'ParamError', argument: 'options.workerUrl', actual: 'https://cdn.example/worker.js' });
  });

  it('names the .wasm URL and the cause when the build is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dcnv2-wasm-empty-'));
    try {
      const be = createWasmBackend({ threads: 1, simd: 'simd', wasmPaths: empty });
      const err = await be.init().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as BackendError).argument).toBe('options.wasmPaths');
      expect((err as BackendError).message).toContain(pathToFileURL(join(empty, 'dcn-simd.wasm')).href);
      expect((err as BackendError).message).toMatch(/ENOENT/);
      writeFileSync(join(empty, 'dcn-simd.wasm'), '<!doctype html><title>Not found</title>');
      const html = await createWasmBackend({ threads: 1, simd: 'simd', wasmPaths: empty }).init().then(() => null, (e: unknown) => e);
      expect((html as BackendError).message).toMatch(/not WebAssembly.*<!doctype html>/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('names the worker URL and Node\'s import error when the worker does not start', async () => {
    const missing = join(dir, 'nowhere', 'worker.js');
    const be = createWasmBackend({ threads: 2, workerUrl: missing });
    const err = await be.init().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).argument).toBe('options.workerUrl');
    expect((err as BackendError).message).toContain(pathToFileURL(missing).href);
    expect((err as BackendError).message).toMatch(/did not start: .*Cannot find module/);
    expect((err as BackendError).message).not.toMatch(/COEP|Cross-Origin/);
    // An unbundled worker (tsc's output of src/worker.ts) whose relative import is missing.
    const broken = mkdtempSync(join(tmpdir(), 'dcnv2-wasm-broken-'));
    try {
      writeFileSync(join(broken, 'package.json'), '{ "type": "module" }');
      writeFileSync(join(broken, 'worker.js'), "import { isNode } from './env.js';\nconsole.log(isNode);\n");
      wasmEnv.workerUrl = pathToFileURL(join(broken, 'worker.js'));
      const e2 = await createWasmBackend({ threads: 2 }).init().then(() => null, (e: unknown) => e);
      expect((e2 as BackendError).argument).toBe('wasmEnv.workerUrl');
      expect((e2 as BackendError).message).toMatch(/ERR_MODULE_NOT_FOUND.*env\.js/);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe('wasmPaths over HTTP (Node fetch)', () => {
  let server: Server;
  let origin: string;
  const wasmBytes = readFileSync(join(dist, 'wasm/dcn-simd.wasm'));
  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/ok/dcn-simd.wasm') res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(wasmBytes);
      else if (path === '/octet/dcn-simd.wasm') res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(wasmBytes);
      else if (path === '/spa/dcn-simd.wasm') res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><div id=app></div>');
      else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address();
    origin = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('streams application/wasm, reads other MIME types whole, and names URL and status on failure', async () => {
    for (const folder of ['ok', 'octet']) {
      const be = createWasmBackend({ threads: 1, simd: 'simd', wasmPaths: `${origin}/${folder}` });
      await be.init();
      expect(be.info.wasmUrl).toBe(`${origin}/${folder}/dcn-simd.wasm`);
      const c = makeCase(1, 2, 5, 2, 3);
      const y = await deformConv2d({ input: c.input, weight: c.weight, offset: c.offset, mask: c.mask, bias: c.bias }, c.params, { backend: be });
      expect(y.data.every(Number.isFinite)).toBe(true);
      await be.dispose();
    }
    const e404 = await createWasmBackend({ threads: 1, simd: 'simd', wasmPaths: new URL(`${origin}/gone/`) }).init().then(() => null, (e: unknown) => e);
    expect(e404).toBeInstanceOf(BackendError);
    expect((e404 as BackendError).message).toContain(`${origin}/gone/dcn-simd.wasm`);
    expect((e404 as BackendError).message).toMatch(/HTTP 404/);
    const spa = await createWasmBackend({ threads: 1, simd: 'simd', wasmPaths: { 'dcn-simd.wasm': `${origin}/spa/dcn-simd.wasm` } }).init().then(() => null, (e: unknown) => e);
    expect((spa as BackendError).argument).toBe('options.wasmPaths["dcn-simd.wasm"]');
    expect((spa as BackendError).message).toMatch(/not WebAssembly, served as text\/html/);
  });
});
