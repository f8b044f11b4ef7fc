import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

describe('the command stated with results', () => {
  it('names pnpm bench:readme for the README arguments, whatever output flags were added', async () => {
    const { commandLine, measuringArgs } = await import('../src/cli.js');
    expect(commandLine(['--shape', 'A,B,C,D,E', '--direction', 'both', '--update-readme'])).toBe('pnpm bench:readme');
    expect(commandLine(['--shape', 'A,B,C,D,E', '--direction', 'both', '--update-readme', '--json', 'x.json', '--quiet'])).toBe('pnpm bench:readme');
    expect(commandLine(['--shape', 'C', '--json=out.json'])).toBe('pnpm bench --shape C');
    expect(commandLine(['--shape', '1,4,6,6,4 k'])).toBe("pnpm bench --shape '1,4,6,6,4 k'");
    expect(measuringArgs(['--plot', 'a.svg', '--sweep', 'hw'])).toEqual(['--sweep', 'hw']);
  });
});
