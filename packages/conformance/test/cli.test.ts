/** The dcnv2-conformance CLI, run as users run it: a built dist/cli.js in a child process. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultVectorsFiles, type VectorsOp } from '../src/index.js';

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(pkg, 'dist', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'dcnv2-cli-'));

function runCli(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] };
}

/**
 * A third-party backend module (`dcnBackend`) in the temporary folder: the reference backend named `name`,
 * with the fields of `overrides` (JavaScript source, `b` is the reference backend) replaced.
 */
function writeBackendModule(name: string, overrides?: string): string {
  const mod = join(tmp, `${name}-backend.mjs`);
  const index = pathToFileURL(join(pkg, 'dist', 'index.js')).href;
  writeFileSync(
    mod,
    `import { createReferenceBackend } from ${JSON.stringify(index)};\n` +
      `export const dcnBackend = { name: '${name}', create: () => { const b = createReferenceBackend(); return { ...b, name: '${name}'${overrides ? `, ${overrides}` : ''} }; } };\n`,
  );
  return mod;
}

/** The op's golden vectors, changed by `tamper`, in a file of the temporary folder. */
function writeTamperedVectors(op: VectorsOp, tamper: (doc: { cases: Array<Record<string, { data: number[] }>> }) => void): string {
  const doc = JSON.parse(readFileSync(defaultVectorsFiles(op)[0], 'utf8'));
  tamper(doc);
  const file = join(tmp, `tampered-${op}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

beforeAll(() => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: pkg, stdio: 'pipe' });
}, 120_000);

describe('dcnv2-conformance', () => {
  it('--backend reference: every suite of both ops passes; cross is skipped for want of another backend', () => {
    const r = runCli(['--backend', 'reference']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.last).toMatch(/^\d+ passed, 0 failed, 2 skipped$/);
    expect(Number(r.last.split(' ')[0])).toBeGreaterThan(2500);
    expect(r.stdout).toContain('op deform_conv2d, suites golden');
    expect(r.stdout).toContain('op deform_roi_pool, suites golden');
    expect(r.stdout).toContain('skipped cross: no other backend');
    expect(r.stdout).toContain('skipped roi-cross: no other backend with RoI pooling');
    expect(r.stdout).toMatch(/^roi-onnx +onnx#29 +output .*PASS$/m);
    expect(r.stdout).toMatch(/^golden +basic_3x3 +output +\S+ +atol 1\.00e-4 rtol 1\.00e-4 +PASS$/m);
    expect(r.stdout).toMatch(/^roi-golden +basic_3x3 +output +\S+ +atol 1\.00e-4 rtol 1\.00e-4 +PASS$/m);
  }, 120_000);

  it('--vectors with one tampered expected value fails with a non-zero status', () => {
    const file = writeTamperedVectors('deform_conv2d', (doc) => (doc.cases[3].grad_weight.data[5] += 0.01));
    const r = runCli(['--backend', 'reference', '--vectors', file, '--suite', 'golden']);
    expect(r.status).toBe(1);
    expect(r.last).toBe('99 passed, 1 failed');
    expect(r.stdout).toMatch(/pad2_dilation2 +grad_weight .* FAIL\n {4}1 of \d+ outside tolerance; worst at \[/);
  }, 300_000);

  it('--backend-module loads a third-party backend from a path; --json writes every row', () => {
    const mod = writeBackendModule('third-party');
    const json = join(tmp, 'report.json');
    const r = runCli(['--backend-module', mod, '--suite', 'golden,properties', '--json', json, '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([r.last]);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report).toMatchObject({ backend: 'third-party', failed: 0, summary: r.last });
    expect(report.rows.length).toBe(report.passed);
    expect(report.rows[0]).toMatchObject({ op: 'deform_conv2d', suite: 'golden', case: 'basic_3x3', tensor: 'output', pass: true });
    expect(report.ops).toEqual(['deform_conv2d', 'deform_roi_pool']);
    expect(report.rows.some((row: { op: string; suite: string }) => row.op === 'deform_roi_pool' && row.suite === 'roi-properties')).toBe(true);
  }, 300_000);

  it('--backend takes a path: the shipped example backend (examples/my-backend.js) passes every forward check, the rest skipped with reasons', () => {
    // Relative to the directory the command runs from (the package folder here), like a user's ./my-backend.js.
    const r = runCli(['--backend', './examples/my-backend.js', '--quiet']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.last).toMatch(/^\d+ passed, 0 failed, 8 skipped$/);
    expect(Number(r.last.split(' ')[0])).toBeGreaterThan(400);
    expect(r.stdout).toContain('skipped golden: backend has no backward');
    expect(r.stdout).toContain('skipped deform_roi_pool: missing kernel deform_roi_pool forward: backend my-backend has none');
    expect(r.stdout).toContain('missing kernels: deform_conv2d backward, deform_roi_pool forward, deform_roi_pool backward');
    // The same module by absolute path, through --backend-module (the alias) and through --backend.
    const file = join(pkg, 'examples', 'my-backend.js');
    for (const flag of ['--backend', '--backend-module']) {
      const g = runCli([flag, file, '--suite', 'golden', '--op', 'deform_conv2d']);
      expect(g.status, g.stderr).toBe(0);
      expect(g.stdout).toContain('dcnv2 conformance: backend my-backend');
      expect(g.last).toBe('17 passed, 0 failed, 2 skipped');
    }
  }, 120_000);

  it('--other adds backends for the cross suite; --seed and --fuzz-cases are honoured', () => {
    const r = runCli(['--backend', 'reference', '--other', 'reference', '--suite', 'cross,fuzz', '--seed', '5', '--fuzz-cases', '7']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('seed 5, fuzz cases 7 (+4 large)');
    expect(r.stdout).toMatch(/^cross +reference~reference#19 /m);
    expect(r.stdout).toMatch(/^fuzz +fuzz#6 /m);
    expect(r.stdout).not.toMatch(/fuzz#7 /);
    expect(r.last).toMatch(/^\d+ passed, 0 failed$/);
  }, 300_000);

  it('--op deform_roi_pool: only the RoI pooling suites, with --suite, --seed and --fuzz-cases honoured', () => {
    const r = runCli(['--backend', 'reference', '--op', 'deform_roi_pool', '--other', 'reference', '--seed', '9', '--fuzz-cases', '5', '--blocked-cases', '1']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('op deform_roi_pool, suites golden,properties,fuzz,onnx,gradcheck,cross,adversarial, seed 9, fuzz cases 5 (+1 large)');
    expect(r.stdout).not.toContain('op deform_conv2d');
    expect(r.stdout).not.toMatch(/^golden /m);
    for (const s of ['roi-golden', 'roi-properties', 'roi-fuzz', 'roi-onnx', 'roi-gradcheck', 'roi-cross', 'roi-adversarial']) expect(r.stdout).toMatch(new RegExp(`^${s} `, 'm'));
    expect(r.stdout).toMatch(/^roi-fuzz +fuzz#4 /m);
    expect(r.stdout).toMatch(/^roi-fuzz +fuzz-blocked#0 /m);
    expect(r.stdout).not.toMatch(/fuzz#5 /);
    expect(r.stdout).toMatch(/^roi-cross +reference~reference#19 /m);
    expect(r.last).toMatch(/^\d+ passed, 0 failed$/);
    const golden = runCli(['--backend', 'reference', '--op', 'deform_roi_pool', '--suite', 'golden']);
    expect(golden.last).toBe('22 passed, 0 failed');
  }, 300_000);

  it('--op deform_roi_pool: a backend without RoI pooling kernels is skipped, each missing kernel named', () => {
    const mod = writeBackendModule('no-roi', 'kernels: { deform_conv2d: b.kernels.deform_conv2d }');
    const r = runCli(['--backend-module', mod, '--op', 'deform_roi_pool']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('skipped deform_roi_pool: missing kernel deform_roi_pool forward: backend no-roi has none');
    expect(r.stdout).toContain('missing kernels: deform_roi_pool forward, deform_roi_pool backward');
    expect(r.last).toBe('0 passed, 0 failed, 2 skipped');
  });

  it('--vectors without --op runs the op the file holds; a tampered RoI value fails', () => {
    const file = writeTamperedVectors('deform_roi_pool', (doc) => (doc.cases[1].grad_offset.data[2] += 0.05));
    const r = runCli(['--backend', 'reference', '--vectors', file, '--suite', 'golden']);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('op deform_conv2d');
    expect(r.last).toBe('21 passed, 1 failed');
    expect(r.stdout).toMatch(/^roi-golden +adaptive_sampling +grad_offset .* FAIL\n {4}1 of 24 outside tolerance; worst at \[0,0,0,2\]/m);
  });

  it.each([
    [[], /give exactly one of --backend and --backend-module/],
    [['--backend', 'reference', '--backend-module', 'x'], /exactly one/],
    [['--backend', 'reference', '--suite', 'golden,bogus'], /unknown suite "bogus"/],
    [['--backend', 'reference', '--op', 'conv3d'], /--op expects/],
    [['--backend', 'reference', '--seed', 'abc'], /--seed expects an integer/],
    [['--backend', 'reference', '--fuzz-cases=-3'], /--fuzz-cases expects an integer >= 0/],
    [['--backend', 'reference', '--frobnicate'], /Unknown option '--frobnicate'/],
  ])('usage error %j exits 2 with the usage', (args, message) => {
    const r = runCli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: dcnv2-conformance');
  });

  it('an unknown or unloadable backend exits 1 with a clear message', () => {
    const a = runCli(['--backend', 'tpu']);
    expect(a.status).toBe(1);
    expect(a.stderr).toMatch(/unknown backend "tpu"/);
    const b = runCli(['--backend-module', join(tmp, 'missing.mjs')]);
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/not found/);
    const notProvider = join(tmp, 'not-a-provider.mjs');
    writeFileSync(notProvider, 'export const something = 1;\n');
    const c = runCli(['--backend-module', notProvider]);
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/does not export dcnBackend/);
  });

  it('--help prints the usage and exits 0', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--backend-module SPEC');
  });
});
