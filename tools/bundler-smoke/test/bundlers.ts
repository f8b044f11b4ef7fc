/**
 * One production build of a page (`<entry>.html` + `<entry>.js` in the scratch app) per bundler, through each
 * bundler's Node API, with the scratch app as root/context so that @dcnv2/* resolve from its node_modules
 * (the installed tarballs), never from the workspace. The bundlers themselves are this package's
 * devDependencies. Each recipe is what the packages' READMEs tell that bundler's users to do; anything
 * beyond a bundler's defaults is commented with where it comes from.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { build as viteBuild, createLogger, type Rollup } from 'vite';
import webpack from 'webpack';

export type Bundler = 'vite' | 'webpack' | 'esbuild';
export type Entry = 'wasm' | 'webgpu' | 'tfjs';

export const BUNDLER_VERSIONS: Record<Bundler, string> = (() => {
  const req = createRequire(import.meta.url);
  const v = (name: string) => (req(`${name}/package.json`) as { version: string }).version;
  return { vite: v('vite'), webpack: v('webpack'), esbuild: v('esbuild') };
})();

/** A failed build, with the bundler's own error text. */
export class BuildError extends Error {
  override name = 'BuildError';
}

/** `text` without stack-trace lines (`    at ...`) past the first `keep` of each run of them. */
export function trimStacks(text: string, keep = 0): string {
  let run = 0;
  return text
    .split('\n')
    .filter((l) => {
      if (!/^\s+at /.test(l)) {
        run = 0;
        return true;
      }
      return run++ < keep;
    })
    .join('\n');
}

export interface BuildOutput {
  /** The folder to serve; the page is `<entry>.html` in it. */
  readonly outDir: string;
  /** The bundler's warnings (not failures, shown in the report). */
  readonly warnings: string[];
}

/** createWasmBackend options the page adds to `{ threads: 2 }` (app/wasm-options.js), per bundler recipe. */
function writeWasmOptions(app: string, options: Record<string, string>): void {
  writeFileSync(join(app, 'wasm-options.js'), `export default ${JSON.stringify(options)};\n`);
}

async function buildVite(app: string, entry: Entry, outDir: string): Promise<BuildOutput> {
  writeWasmOptions(app, {});
  const warnings: string[] = [];
  const logger = createLogger('warn', { allowClearScreen: false });
  const customLogger = { ...logger, warn: (msg: string) => warnings.push(msg), warnOnce: (msg: string) => warnings.push(msg), error: (msg: string) => warnings.push(`error: ${msg}`) };
  try {
    await viteBuild({
      root: app,
      configFile: false,
      logLevel: 'warn',
      customLogger,
      build: { outDir, emptyOutDir: true, rolldownOptions: { input: join(app, `${entry}.html`) } },
    });
  } catch (e) {
    const err = e as Error & Partial<Rollup.RollupError>;
    throw new BuildError([err.message, err.id ? `  in ${err.id}` : '', ...warnings].filter(Boolean).join('\n'));
  }
  return { outDir, warnings };
}

async function buildWebpack(app: string, entry: Entry, outDir: string): Promise<BuildOutput> {
  writeWasmOptions(app, {});
  const compiler = webpack({
    mode: 'production',
    context: app,
    entry: { [entry]: `./${entry}.js` },
    target: 'web',
    // ES module output, like the page's <script type="module">; assets and chunks are found from import.meta.url.
    experiments: { outputModule: true },
    output: { path: outDir, filename: '[name].js', module: true, clean: true },
    resolve: { modules: [join(app, 'node_modules')] },
    devtool: false,
    performance: false,
    infrastructureLogging: { level: 'error' },
  });
  const stats = await new Promise<webpack.Stats>((resolve, reject) =>
    compiler.run((err, s) => {
      compiler.close(() => {});
      if (err) reject(new BuildError(`webpack: ${err.stack ?? String(err)}`));
      else resolve(s!);
    }),
  );
  const json = stats.toJson({ all: false, errors: true, warnings: true, moduleTrace: true, errorDetails: false });
  const text = (list: webpack.StatsError[] | undefined) => (list ?? []).map((e) => [e.moduleName ? `${e.moduleName}: ` : '', e.message].join(''));
  if (stats.hasErrors()) throw new BuildError(trimStacks(text(json.errors).join('\n')));
  writeFileSync(join(outDir, `${entry}.html`), readFileSync(join(app, `${entry}.html`)));
  return { outDir, warnings: text(json.warnings) };
}

async function buildEsbuild(app: string, entry: Entry, outDir: string): Promise<BuildOutput> {
  writeWasmOptions(app, {});
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  let result: esbuild.BuildResult;
  try {
    result = await esbuild.build({
      absWorkingDir: app,
      entryPoints: [`${entry}.js`],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      splitting: true,
      outdir: outDir,
      logLevel: 'silent',
    });
  } catch (e) {
    const failure = e as esbuild.BuildFailure;
    const msgs = failure.errors ? await esbuild.formatMessages(failure.errors, { kind: 'error', color: false }) : [String(e)];
    throw new BuildError(msgs.join('\n'));
  }
  // backend-wasm's README ("Building"): "with other bundlers, serve dist/wasm/ and dist/worker.js next to the bundle".
  if (entry === 'wasm') {
    const dist = join(app, 'node_modules/@dcnv2/backend-wasm/dist');
    cpSync(join(dist, 'wasm'), join(outDir, 'wasm'), { recursive: true });
    copyFileSync(join(dist, 'worker.js'), join(outDir, 'worker.js'));
  }
  writeFileSync(join(outDir, `${entry}.html`), readFileSync(join(app, `${entry}.html`)));
  const warnings = await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false });
  return { outDir, warnings };
}

export const BUILDERS: Record<Bundler, (app: string, entry: Entry, outDir: string) => Promise<BuildOutput>> = {
  vite: buildVite,
  webpack: buildWebpack,
  esbuild: buildEsbuild,
};
