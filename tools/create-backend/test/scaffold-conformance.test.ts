/**
 * The whole flow a contributor follows, end to end, outside the repository: `create-backend` writes a
 * package, tsc builds and type-checks it, and the conformance CLI (by the package's short name, as
 * `pnpm conformance --backend <name>` does) and the package's own conformance test run on it. First
 * with the empty kernel table (every kernel reported missing, by op and direction, nothing failed), then
 * with a deform_conv2d forward kernel added to the generated source the way its comment says (its rows
 * run and pass; the other three kernels are still missing).
 *
 * The package goes into a scratch pnpm workspace under the system temp dir, never into packages/, and
 * nothing is installed: its dependencies are symlinks to the repository's core and conformance packages
 * and to the repository's typescript, vitest and @types/node, so the lockfile is not touched and no
 * network is used. Turbo builds core, conformance and this tool before the test (`^build`, `build`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const toolDir = resolve(import.meta.dirname, '..');
const root = resolve(toolDir, '../..');
const CLI = join(toolDir, 'dist/cli.js');
const CONFORMANCE_CLI = join(root, 'packages/conformance/dist/cli.js');
const TSC = join(root, 'node_modules/typescript/bin/tsc');
const VITEST = join(root, 'node_modules/vitest/vitest.mjs');

const NAME = 'probe';
const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-create-backend-'));
const pkgDir = join(scratch, 'packages', `backend-${NAME}`);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs node with `args` in `cwd`, outside this vitest run (its VITEST* variables removed). */
function node(args: readonly string[], cwd: string): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...args], { cwd, env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function expectOk(r: Run, what: string): void {
  expect(r.code, `${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`).toBe(0);
}

function link(target: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(realpathSync(target), path, 'dir');
}

interface Report {
  readonly passed: number;
  readonly failed: number;
  readonly missing: readonly { readonly op: string; readonly direction: string }[];
  readonly rows: readonly { readonly op: string; readonly suite: string; readonly pass: boolean }[];
  readonly summary: string;
}

/** `dcnv2-conformance --backend probe` from the scratch workspace's root, both ops, with its JSON report. */
async function conformance(tag: string): Promise<{ run: Run; report: Report }> {
  const json = join(scratch, `report-${tag}.json`);
  // 40 fuzz cases rather than 300: every suite still runs, in a third of the time (CI runs all packages at once).
  const run = await node([CONFORMANCE_CLI, '--backend', NAME, '--quiet', '--fuzz-cases', '40', '--json', json], scratch);
  expectOk(run, `conformance (${tag})`);
  return { run, report: JSON.parse(readFileSync(json, 'utf8')) as Report };
}

async function build(): Promise<void> {
  expectOk(await node([TSC, '-p', 'tsconfig.build.json'], pkgDir), 'tsc -p tsconfig.build.json');
  expectOk(await node([TSC, '-p', 'tsconfig.json'], pkgDir), 'tsc -p tsconfig.json (typecheck, tests included)');
}

beforeAll(async () => {
  for (const f of [CLI, CONFORMANCE_CLI, join(root, 'packages/core/dist/index.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: build first (pnpm turbo run test --filter=@dcnv2/create-backend builds what it needs)`);
  }
  // A pnpm workspace of its own, so that the conformance CLI finds the package by its short name.
  writeFileSync(join(scratch, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('pnpm create-backend, then conformance on what it wrote', () => {
  it('scaffolds the package (not into the repository) and says what to run next', async () => {
    const r = await node([CLI, NAME, '--dir', join(scratch, 'packages'), '--no-install'], scratch);
    expectOk(r, 'create-backend');
    expect(r.stdout).toContain(`created @dcnv2/backend-${NAME} in packages/backend-${NAME}:`);
    expect(r.stdout).toContain(`  src/${NAME}-backend.ts`);
    // Outside the repository's workspace: conformance by path.
    expect(r.stdout).toContain(`pnpm conformance --backend ${pkgDir}/dist/index.js`);
    expect(existsSync(join(root, 'packages', `backend-${NAME}`))).toBe(false);
    // What `pnpm install` would link, from the repository instead.
    const nm = join(pkgDir, 'node_modules');
    link(join(root, 'packages/core'), join(nm, '@dcnv2/core'));
    link(join(root, 'packages/conformance'), join(nm, '@dcnv2/conformance'));
    for (const dep of ['typescript', 'vitest', '@types/node']) link(join(root, 'node_modules', dep), join(nm, dep));

    const again = await node([CLI, NAME, '--dir', join(scratch, 'packages'), '--no-install'], scratch);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    const reserved = await node([CLI, 'cpu', '--no-install'], scratch);
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain('"cpu" is a built-in backend name');
  });

  it('the empty skeleton builds, type-checks, and conformance reports all four kernels missing, failing nothing', async () => {
    await build();
    const { run, report } = await conformance('empty');
    expect(report.missing).toEqual([
      { op: 'deform_conv2d', direction: 'forward' },
      { op: 'deform_conv2d', direction: 'backward' },
      { op: 'deform_roi_pool', direction: 'forward' },
      { op: 'deform_roi_pool', direction: 'backward' },
    ]);
    expect(run.stdout).toContain('skipped deform_conv2d: missing kernel deform_conv2d forward: backend probe has none');
    expect(run.stdout).toContain('skipped deform_roi_pool: missing kernel deform_roi_pool backward: backend probe has none');
    expect(run.stdout).toContain('missing kernels: deform_conv2d forward, deform_conv2d backward, deform_roi_pool forward, deform_roi_pool backward');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('0 passed, 0 failed, 4 skipped');
    expect(report.rows).toEqual([]);
  });

  it("the package's own conformance test passes on the empty skeleton", async () => {
    const r = await node([VITEST, 'run'], pkgDir);
    expectOk(r, 'vitest run (empty skeleton)');
    expect(r.stdout).toContain('missing kernels: deform_conv2d forward, deform_conv2d backward');
    expect(r.stdout).toContain('missing kernels: deform_roi_pool forward, deform_roi_pool backward');
  });

  it('with a deform_conv2d forward kernel added, its suites run and pass; three kernels remain missing', async () => {
    const file = join(pkgDir, 'src', `${NAME}-backend.ts`);
    const source = readFileSync(file, 'utf8');
    const table = 'readonly kernels: KernelTable<Float32Array> = {\n';
    expect(source).toContain(table);
    // The forward of the float64 reference, rounded once to float32: what the reference backend's kernel does.
    const edited = source
      .replace(/^import .* from '@dcnv2\/core';$/m, (m) => `${m}\nimport { deformConv2dF64 } from '@dcnv2/conformance';`)
      .replace(table, `${table}    deform_conv2d: { forward: ({ geometry, inputs }) => Float32Array.from(deformConv2dF64(geometry, inputs)) },\n`);
    expect(edited).toContain('import { deformConv2dF64 }');
    writeFileSync(file, edited);
    await build();

    const { run, report } = await conformance('forward');
    expect(report.missing).toEqual([
      { op: 'deform_conv2d', direction: 'backward' },
      { op: 'deform_roi_pool', direction: 'forward' },
      { op: 'deform_roi_pool', direction: 'backward' },
    ]);
    expect(run.stdout).toContain('missing kernels: deform_conv2d backward, deform_roi_pool forward, deform_roi_pool backward');
    expect(report.failed).toBe(0);
    expect(report.passed).toBe(report.rows.length);
    expect(report.rows.every((r) => r.op === 'deform_conv2d' && r.pass)).toBe(true);
    const suites = new Set(report.rows.map((r) => r.suite));
    for (const s of ['golden', 'properties', 'fuzz', 'cross', 'adversarial']) expect(suites, s).toContain(s);
    expect(report.passed).toBeGreaterThan(100);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed, \d+ skipped$/);

    const r = await node([VITEST, 'run'], pkgDir);
    expectOk(r, 'vitest run (with a forward kernel)');
    expect(r.stdout).toContain('missing kernels: deform_conv2d backward');
    expect(r.stdout).toMatch(/deform_conv2d: [1-9]\d* passed, 0 failed/);
  });
});
