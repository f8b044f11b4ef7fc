/**
 * What the end-to-end tests share (e2e.test.ts, e2e-roi.test.ts): the built CLI (dist/cli.js) run in a child
 * process as `pnpm bench` runs it, options that keep a run to seconds, and a temporary directory per file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
/** A backend module whose results are wrong (the agreement check must catch it). */
export const WRONG_BACKEND = fileURLToPath(new URL('./fixtures/wrong-backend.mjs', import.meta.url));
/** Few runs, no time budget, one warm-up, no progress lines. */
export const FAST = ['--min-runs', '2', '--max-runs', '4', '--budget-ms', '0', '--warmup', '1', '--quiet'];

export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

/**
 * A temporary directory `prefix`XXXXXX for the calling test file (made before its tests, which first need
 * the CLI built, and removed after them); returns the path of a file `name` in it.
 */
export function tempFiles(prefix: string): (name: string) => string {
  let dir = '';
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm build first`);
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name) => join(dir, name);
}

/**
 * Renders the run saved in `json` again without measuring (`--from-json`), into a README file `readme`
 * that holds `before`; expects success and returns the table printed and the README's text after.
 */
export async function renderSavedRun(json: string, readme: string, before: string): Promise<{ stdout: string; readme: string }> {
  writeFileSync(readme, before);
  const r = await runCli(['--from-json', json, '--readme', readme, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  return { stdout: r.stdout, readme: readFileSync(readme, 'utf8') };
}
