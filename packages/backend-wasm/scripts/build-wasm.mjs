#!/usr/bin/env node
/**
 * Compiles the C kernels (src/kernels/dcn.c: deformable convolution; src/kernels/roi_pool.c: deformable
 * RoI pooling) into one module per build: the four WebAssembly builds the backend ships, with the pinned
 * @yowasp/clang (clang + wasm-ld compiled to WebAssembly: no system toolchain needed):
 *
 *   dist/wasm/dcn-simd.wasm            SIMD128, imported non-shared memory (single thread)
 *   dist/wasm/dcn-relaxed.wasm         + relaxed SIMD (f32x4.relaxed_madd = FMA where the CPU has it)
 *   dist/wasm/dcn-simd-mt.wasm         SIMD128, imported shared memory (worker threads)
 *   dist/wasm/dcn-relaxed-mt.wasm      + relaxed SIMD, shared memory
 *
 * Before compiling it writes src/kernels/generated/jobs.h, the job structs, from the field lists in
 * src/job-layout.ts (scripts/job-header.ts, bundled here with esbuild), when its text changed.
 *
 * Deterministic: same compiler, same flags, same source, same bytes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from '@yowasp/clang';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The job header, generated from the TypeScript field lists (the one declaration of the job layouts).
const bundled = await build({
  entryPoints: [join(root, 'scripts/job-header.ts')], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'error',
});
const { jobHeader, JOB_HEADER_PATH } = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);
const header = jobHeader();
const headerFile = join(root, JOB_HEADER_PATH);
if (!existsSync(headerFile) || readFileSync(headerFile, 'utf8') !== header) {
  mkdirSync(dirname(headerFile), { recursive: true });
  writeFileSync(headerFile, header);
  process.stdout.write(`build-wasm: wrote ${JOB_HEADER_PATH}\n`);
}

const sourceNames = ['dcn.c', 'roi_pool.c'];
// Headers travel in clang's virtual file system with the sources but are not compiled on their own.
const headerNames = ['dcn_simd.h'];
const sources = Object.fromEntries([...sourceNames, ...headerNames].map((f) => [f, readFileSync(join(root, 'src/kernels', f), 'utf8')]));
sources.generated = { 'jobs.h': header };
const outDir = join(root, 'dist/wasm');
mkdirSync(outDir, { recursive: true });

const common = [
  '--target=wasm32', '-O3', '-std=c11', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
  '-ffreestanding', '-nostdlib', '-fno-builtin-memset', '-msimd128', '-mbulk-memory', '-mnontrapping-fptoint', '-msign-ext',
  '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--stack-first', '-Wl,-z,stack-size=65536',
  '-Wl,--initial-memory=131072', '-Wl,--max-memory=4294967296',
  '-Wl,--export=__heap_base', '-Wl,--export=__stack_pointer',
];
const variants = [
  { file: 'dcn-simd.wasm', flags: [] },
  { file: 'dcn-relaxed.wasm', flags: ['-mrelaxed-simd', '-DDCN_RELAXED'] },
  { file: 'dcn-simd-mt.wasm', flags: ['-matomics', '-Wl,--shared-memory'] },
  { file: 'dcn-relaxed-mt.wasm', flags: ['-mrelaxed-simd', '-DDCN_RELAXED', '-matomics', '-Wl,--shared-memory'] },
];

const quiet = { stdout: () => {}, stderr: (b) => { if (b) process.stderr.write(b); }, fetchProgress: () => {} };
for (const v of variants) {
  const files = await commands.clang([...common, ...v.flags, ...sourceNames, '-o', 'out.wasm'], sources, quiet);
  const wasm = files?.['out.wasm'];
  if (!(wasm instanceof Uint8Array)) throw new Error(`build-wasm: clang produced no output for ${v.file}`);
  writeFileSync(join(outDir, v.file), wasm);
  process.stdout.write(`build-wasm: ${v.file} (${wasm.length} bytes)\n`);
}
