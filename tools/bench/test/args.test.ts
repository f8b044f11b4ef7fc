import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArgError, defaultThreads, parseArgs } from '../src/args.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('command-line arguments', () => {
  it('defaults to shapes A–E (null), both directions, threads 1 and the core count', () => {
    const o = parseArgs([]);
    expect(o.shapes).toBeNull();
    expect(o.directions).toEqual(['fwd', 'fwdbwd']);
    expect(o.threads).toEqual(defaultThreads());
    expect(o.minRuns).toBe(10);
  });

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const o = parseArgs([
      '--shape', 'C', '--shape=1,4,6,6,4', '--direction', 'fwdbwd', '--threads', '2,1,2', '--impl', 'ort,dcnv2',
      '--json', 'out.json', '--budget-ms=0', '--min-runs', '3', '--max-runs', '7', '--warmup', '0', '--seed', '9', '--matrix', '--quiet',
    ]);
    expect(o.shapes!.map((s) => s.label)).toEqual(['C', '1x4x6x6->4']);
    expect(o.directions).toEqual(['fwdbwd']);
    expect(o.threads).toEqual([1, 2]);
    expect(o.impl).toEqual(['ort', 'dcnv2']);
    expect(o).toMatchObject({ json: 'out.json', budgetMs: 0, minRuns: 3, maxRuns: 7, warmup: 0, seed: 9, matrix: true, quiet: true });
  });

  it('makes a sweep forward-only by default and takes its base from --shape', () => {
    const o = parseArgs(['--sweep', 'hw', '--plot', 'x.svg', '--shape', 'C']);
    expect(o).toMatchObject({ sweep: 'hw', plot: 'x.svg', directions: ['fwd'] });
  });

  const bad: Array<[string[], RegExp]> = [
    [['--shape'], /--shape needs a value/],
    [['--shape', '--json', 'x'], /--shape needs a value/],
    [['--shape', 'Q'], /unknown shape/],
    [['--shape', '1,2,3'], /5 to 11 numbers/],
    [['--direction', 'back'], /fwd, fwdbwd or both/],
    [['--threads', '0'], /--threads: expected an integer >= 1/],
    [['--threads', '1,x'], /--threads/],
    [['--min-runs', '0'], /--min-runs/],
    [['--budget-ms', '-5'], /--budget-ms/],
    [['--min-runs', '20', '--max-runs', '5'], /below --min-runs/],
    [['--plot', 'x.svg'], /--plot draws a sweep/],
    [['--sweep', 'depth'], /hw, channels, batch/],
    [['--sweep', 'hw', '--shape', 'A,B'], /one base shape/],
    [['--sweep', 'hw', '--update-readme'], /do not combine with --sweep/],
    [['--readme', 'R.md', '--update-readme'], /pick one/],
    [['--impl', 'a,,b'], /empty pattern/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['C'], /unexpected argument/],
    [['--quiet=yes'], /takes no value/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(' ')}`, () => {
      expect(() => parseArgs(argv)).toThrow(ArgError);
      expect(() => parseArgs(argv)).toThrow(message);
    });
  }

  it('exits with status 2 and says why on bad arguments (built CLI)', () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm build first`);
    const r = spawnSync(process.execPath, [CLI, '--shape', 'Z'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/dcnv2-bench: --shape Z: unknown shape/);
    expect(r.stdout).toBe('');
    const h = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/Usage: pnpm bench/);
  });
});

describe('RoI pooling options', () => {
  it('measures deform_conv2d unless --op says otherwise, with both RoI variants by default', () => {
    const o = parseArgs([]);
    expect(o.ops).toEqual(['deform_conv2d']);
    expect(o.roiShapes).toBeNull();
    expect(o.variants).toEqual(['modulated', 'plain']);
  });

  it('reads --op (names in table order, or all), --variant and RoI shapes from --shape and --roi-shape', () => {
    const o = parseArgs(['--op', 'deform_roi_pool', '--shape', 'R1', '--roi-shape', '1,4,12,12,5,2,2,0,1/2', '--variant', 'plain']);
    expect(o.ops).toEqual(['deform_roi_pool']);
    expect(o.shapes).toBeNull();
    expect(o.roiShapes!.map((s) => s.label)).toEqual(['R1', '1x4x12x12 R5 2x2 sr0 scale1/2']);
    expect(o.roiShapes![1].spec).toEqual({ n: 1, c: 4, h: 12, w: 12, rois: 5, ph: 2, pw: 2, ratio: 0, scale: 0.5 });
    expect(o.variants).toEqual(['plain']);
    expect(parseArgs(['--op', 'deform_roi_pool', '--variant=modulated']).variants).toEqual(['modulated']);
    expect(parseArgs(['--op', 'all']).ops).toEqual(['deform_conv2d', 'deform_roi_pool']);
    expect(parseArgs(['--op', 'deform_roi_pool,deform_conv2d']).ops).toEqual(['deform_conv2d', 'deform_roi_pool']);
  });

  it('sorts a mixed --shape list by op (named shapes are unique across ops)', () => {
    const o = parseArgs(['--op', 'deform_conv2d,deform_roi_pool', '--shape', 'A,r2,C,R1']);
    expect(o.shapes!.map((s) => s.label)).toEqual(['A', 'C']);
    expect(o.roiShapes!.map((s) => s.label)).toEqual(['R2', 'R1']);
  });

  const bad: Array<[string[], RegExp]> = [
    [['--op', 'roi'], /--op: expected deform_conv2d, deform_roi_pool or all, got "roi"/],
    [['--shape', 'R1'], /R1: deform_roi_pool shapes; add --op deform_roi_pool/],
    [['--roi-shape', '1,4,12,12,5,2,2,2,1'], /deform_roi_pool shapes; add --op deform_roi_pool/],
    [['--op', 'deform_roi_pool', '--shape', 'C'], /--shape C: deform_conv2d shapes, but --op is deform_roi_pool/],
    [['--op', 'deform_roi_pool', '--shape', 'R9'], /--shape R9: unknown shape; named shapes are A, B, C, D, E \(deform_conv2d\) and R1, R2 \(deform_roi_pool\)/],
    [['--variant', 'plain'], /--variant chooses deform_roi_pool rows; add --op deform_roi_pool/],
    [['--op', 'deform_roi_pool', '--variant', 'deformed'], /--variant: expected modulated, plain or both/],
    [['--op', 'all', '--sweep', 'hw'], /--sweep sweeps deform_conv2d shapes/],
    [['--op', 'deform_roi_pool', '--roi-shape', '1,4,12,12,5,2,2,2'], /expected 9 fields N,C,H,W,R,ph,pw,ratio,scale, got 8/],
    [['--op', 'deform_roi_pool', '--roi-shape', '1,4,12,12,5,0,2,2,1'], /ph must be a positive integer, got 0/],
    [['--op', 'deform_roi_pool', '--roi-shape', '1,4,12,12,5,2,2,2,0'], /scale must be a finite number > 0, got 0/],
    [['--op', 'deform_roi_pool', '--roi-shape', '1,4,12,12,5,2,2,2,x'], /scale must be a number or a fraction like 1\/16/],
    [['--op', 'deform_roi_pool', '--roi-shape', '0,4,12,12,5,2,2,2,1'], /5 RoIs need a batch of at least 1/],
    [['--from-json', 'x.json', '--op', 'deform_roi_pool'], /--from-json re-renders a saved run: --op/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(' ')}`, () => {
      expect(() => parseArgs(argv)).toThrow(ArgError);
      expect(() => parseArgs(argv)).toThrow(message);
    });
  }
});

describe('the command stated with results', () => {
  it('names pnpm bench:readme for the README arguments, whatever output flags were added', async () => {
    const { commandLine, measuringArgs, README_ARGS } = await import('../src/cli.js');
    const readme = ['--op', 'deform_conv2d,deform_roi_pool', '--shape', 'A,B,C,D,E,R1,R2', '--direction', 'both', '--update-readme'];
    expect(README_ARGS).toEqual(readme);
    expect(commandLine(readme)).toBe('pnpm bench:readme');
    expect(commandLine([...readme, '--json', 'x.json', '--quiet'])).toBe('pnpm bench:readme');
    expect(commandLine(['--shape', 'A,B,C,D,E', '--direction', 'both', '--update-readme'])).toBe('pnpm bench --shape A,B,C,D,E --direction both');
    expect(commandLine(['--shape', 'C', '--json=out.json'])).toBe('pnpm bench --shape C');
    expect(commandLine(['--shape', '1,4,6,6,4 k'])).toBe("pnpm bench --shape '1,4,6,6,4 k'");
    expect(measuringArgs(['--plot', 'a.svg', '--sweep', 'hw'])).toEqual(['--sweep', 'hw']);
  });

  it('matches the root package.json bench:readme script, so the README names the command that made it', async () => {
    const { README_ARGS } = await import('../src/cli.js');
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['bench:readme']).toBe(`pnpm bench ${README_ARGS.join(' ')}`);
  });
});
