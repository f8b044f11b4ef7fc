/**
 * RoI pooling end to end through the built CLI (dist/cli.js), as `pnpm bench --op deform_roi_pool` runs it:
 * real worker processes, real implementations, a tiny shape so that it takes seconds. Nothing here asserts
 * anything about time.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchDocument } from '../src/json-output.js';
import { validateRecord } from '../src/records.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/wrong-backend.mjs', import.meta.url));
const FAST = ['--min-runs', '2', '--max-runs', '4', '--budget-ms', '0', '--warmup', '1', '--quiet'];
const TINY = ['--op', 'deform_roi_pool', '--roi-shape', '1,4,12,12,5,2,2,2,1/2'];
const LABEL = '1x4x12x12 R5 2x2 sr2 scale1/2';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir = '';
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm build first`);
  dir = mkdtempSync(join(tmpdir(), 'dcnv2-bench-roi-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pnpm bench --op deform_roi_pool, end to end', () => {
  it('times dcnv2 with and without offsets and masks against the RoIAlign peers, and writes valid JSON records', async () => {
    const json = join(dir, 'roi.json');
    const r = await run([...TINY, '--impl', 'dcnv2-cpu,roialign', '--direction', 'both', '--threads', '1,2', '--json', json, ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchDocument;
    expect(doc.ops).toEqual(['deform_roi_pool']);
    expect(doc.shapes).toEqual([{ op: 'deform_roi_pool', label: LABEL, spec: { n: 1, c: 4, h: 12, w: 12, rois: 5, ph: 2, pw: 2, ratio: 2, scale: 0.5 } }]);
    for (const rec of doc.records) expect(validateRecord(rec), JSON.stringify(rec)).toEqual([]);
    const find = (impl: string, direction: string, threads = 1) => doc.records.find((x) => x.impl === impl && x.direction === direction && x.threads === threads);
    expect(find('dcnv2-cpu', 'fwd')).toMatchObject({ op: 'deform_roi_pool', kind: 'deformable', check_against: 'f64', dims: { rois: 5, ph: 2 } });
    expect(find('dcnv2-cpu', 'fwdbwd')).toMatchObject({ kind: 'deformable' });
    expect(find('dcnv2-cpu-plain', 'fwd')).toMatchObject({ kind: 'plain', check_against: 'RoIAlign f64' });
    expect(find('dcnv2-cpu-plain', 'fwdbwd')).toMatchObject({ kind: 'plain' });
    for (const t of [1, 2]) {
      expect(find('roialign-ort-node', 'fwd', t)).toMatchObject({ kind: 'plain', check_against: 'RoIAlign f64' });
      // onnxruntime-web lives in wasm memory, which the workers track.
      expect(find('roialign-ort-web', 'fwd', t)!.wasm_total_mb).toBeGreaterThan(0);
    }
    if (doc.impls.some((i) => i.id === 'roialign-torchvision')) {
      expect(find('roialign-torchvision', 'fwd')).toMatchObject({ kind: 'plain' });
      expect(find('roialign-torchvision', 'fwdbwd')!.version).toMatch(/roi_align/);
    }
    // Work: 8 flops per sample and channel, 5 RoIs x 4 channels x 2x2 bins x 2x2 samples; x3 with the backward.
    expect(find('dcnv2-cpu', 'fwd')!.gflop).toBeCloseTo((8 * 5 * 4 * 4 * 4) / 1e9, 12);
    expect(find('dcnv2-cpu', 'fwdbwd')!.gflop).toBeCloseTo((3 * 8 * 5 * 4 * 4 * 4) / 1e9, 12);
    expect(doc.problems.some((p) => p.impl === 'roialign-ort-node' && p.direction === 'fwdbwd' && p.status === 'skipped')).toBe(true);
    expect(doc.problems.filter((p) => p.status === 'wrong' || p.status === 'error')).toEqual([]);
    const cpu = find('dcnv2-cpu', 'fwd')!;
    const node = find('roialign-ort-node', 'fwd')!;
    expect(cpu.ratios['roialign-ort-node@1t']).toBeCloseTo(cpu.median_ms / node.median_ms, 2);

    expect(r.stdout).toMatch(/^### RoI pooling, forward\n/);
    expect(r.stdout).toContain(`| ${LABEL} | dcnv2-cpu-plain `);
    expect(r.stdout).toMatch(/÷ roialign-ort-node 1t/);
    expect(r.stdout).toMatch(/### RoI pooling, forward \+ backward/);

    const readme = join(dir, 'README.md');
    writeFileSync(readme, '# x\n<!-- bench:start -->\nold\n<!-- bench:end -->\n');
    const again = await run(['--from-json', json, '--readme', readme, '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(r.stdout);
    const text = readFileSync(readme, 'utf8');
    expect(text).toContain(`Generated by \`pnpm bench --op deform_roi_pool --roi-shape 1,4,12,12,5,2,2,2,1/2 --impl dcnv2-cpu,roialign`);
    expect(text).toContain(`RoI pooling shapes (`);
    expect(text).toContain(`): ${LABEL}.`);
    expect(text).toContain('- `roialign-ort-node`: onnxruntime-node RoiAlign (opset 16, half_pixel, avg)');
  });

  it('runs only the plain rows with --variant plain, and both ops in one run with --op all', async () => {
    const json = join(dir, 'all.json');
    const r = await run(['--op', 'all', '--shape', '1,4,6,6,4', '--roi-shape', '1,4,12,12,5,2,2,2,1/2', '--variant', 'plain', '--impl', 'dcnv2-cpu', '--direction', 'fwd', '--threads', '1', '--json', json, ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchDocument;
    expect(doc.ops).toEqual(['deform_conv2d', 'deform_roi_pool']);
    expect(doc.records.map((x) => `${x.op} ${x.impl} ${x.shape}`)).toEqual(['deform_conv2d dcnv2-cpu 1x4x6x6->4', `deform_roi_pool dcnv2-cpu-plain ${LABEL}`]);
    expect(r.stdout.indexOf('### Forward\n')).toBe(0);
    expect(r.stdout.indexOf('### RoI pooling, forward\n')).toBeGreaterThan(0);
  });

  it('reports a wrong RoI pooling backend as WRONG in both variants, does not time it, and exits 1', async () => {
    const json = join(dir, 'wrong.json');
    const r = await run(['--backend-module', FIXTURE, '--impl', 'wrongtest', ...TINY, '--direction', 'fwd', '--threads', '1', '--json', json, ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\| dcnv2-wrongtest +\|.*\*\*WRONG\*\*/);
    expect(r.stdout).toMatch(/\| dcnv2-wrongtest-plain \|.*\*\*WRONG\*\*/);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchDocument;
    expect(doc.records).toEqual([]);
    const wrong = doc.problems.filter((p) => p.status === 'wrong');
    expect(wrong.map((p) => p.impl).sort()).toEqual(['dcnv2-wrongtest', 'dcnv2-wrongtest-plain']);
    for (const p of wrong) expect(p.check_max_abs_err).toBeGreaterThan(0.04);
  });

  it('lists the RoI pooling implementations', async () => {
    const r = await run(['--op', 'deform_roi_pool', '--list']);
    expect(r.code, r.stderr).toBe(0);
    for (const id of ['dcnv2-cpu ', 'dcnv2-cpu-plain', 'roialign-ort-node', 'roialign-ort-web']) expect(r.stdout).toContain(id);
  });
});
