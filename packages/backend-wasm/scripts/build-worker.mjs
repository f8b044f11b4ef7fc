#!/usr/bin/env node
/**
 * Bundles src/worker.ts and everything it imports into dist/worker.js: one self-contained ES module with
 * no import left (so Vite, webpack 5 and Parcel can take it as a worker entry, and a server or CDN can serve
 * it alone), for any platform (the Node path imports worker_threads at run time through a computed
 * specifier, marked for webpack and Vite to leave alone). Its source map carries the sources. tsc does
 * not emit the worker (tsconfig.build.json excludes it). Checks the result.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist/worker.js');

await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'src/worker.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // No top-level await: bundlers' worker builds (Vite's default iife format, terser on webpack's) refuse it.
  supported: { 'top-level-await': false },
  sourcemap: true,
  sourcesContent: true,
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: '// @dcnv2/backend-wasm kernel worker: self-contained (built by scripts/build-worker.mjs from src/worker.ts).' },
});
const code = readFileSync(outfile, 'utf8');
const problems = [];
if (/(?:^|[\s;])(?:import|export)\s*(?:[^'";]*?\bfrom\s*)?['"][^'"]+['"]/m.test(code)) problems.push('a static import or export is left');
if (/import\.meta/.test(code)) problems.push('import.meta');
if (/['"]node:/.test(code)) problems.push('a literal node: specifier');
if (!/import\(\s*\/\*\s*webpackIgnore:\s*true\s*\*\/\s*\/\*\s*@vite-ignore\s*\*\/\s*\w+\s*\)/.test(code)) problems.push('the computed import() lost its webpackIgnore / @vite-ignore comments');
if (problems.length > 0) throw new Error(`build-worker: dist/worker.js: ${problems.join('; ')}`);
process.stdout.write(`build-worker: dist/worker.js (${code.length} bytes, self-contained)\n`);
