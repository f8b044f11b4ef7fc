#!/usr/bin/env node
/**
 * create-backend: scaffolds a new backend package of this repository,
 *
 *   pnpm create-backend <name> [--dir <packages folder>] [--no-install]
 *
 * writes `packages/backend-<name>/` (package `@dcnv2/backend-<name>`), runs `pnpm install --offline` at the
 * repository root so the workspace links it, and prints the commands to build it and run conformance on it.
 */
import { spawnSync } from 'node:child_process';
import { basename, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { workspacePackages } from '@dcnv2/conformance';
import { NameError } from './names.js';
import { findRepoRoot, scaffold } from './scaffold.js';

const USAGE = `usage: pnpm create-backend <name> [--dir <packages folder>] [--no-install]

  <name>          the backend's name: lowercase letters, digits and dashes, starting with a letter (my-gpu);
                  the package is @dcnv2/backend-<name>, in <packages folder>/backend-<name>
  --dir DIR       the folder to create it in (default: the repository's packages/)
  --no-install    do not run pnpm install --offline at the repository root afterwards
  --help          print this help

Exit status: 0 when the package was written, 1 when a step failed, 2 on usage errors (a bad or taken name).`;

class UsageError extends Error {}

interface Args {
  readonly name: string | undefined;
  readonly dir: string | undefined;
  readonly install: boolean;
  readonly help: boolean;
}

function parse(argv: readonly string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        'no-install': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`one backend name expected, got ${positionals.length}: ${positionals.join(' ')}`);
  return { name: positionals[0], dir: values.dir, install: values['no-install'] !== true, help: values.help === true };
}

/** pnpm, as the one running this script when there is one (`pnpm create-backend`), else from PATH. */
function pnpm(args: readonly string[], cwd: string): number {
  const execPath = process.env.npm_execpath;
  const viaPnpm = execPath !== undefined && /pnpm/.test(basename(execPath)) && /\.(c|m)?js$/.test(execPath);
  const r = viaPnpm
    ? spawnSync(process.execPath, [execPath, ...args], { cwd, stdio: 'inherit' })
    : spawnSync('pnpm', [...args], { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error) throw new Error(`could not run pnpm ${args.join(' ')}: ${r.error.message}`);
  return r.status ?? 1;
}

function main(argv: readonly string[]): number {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`create-backend: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    out(USAGE);
    return 0;
  }
  const root = findRepoRoot();
  let made;
  try {
    made = scaffold({ name: args.name ?? '', root, ...(args.dir !== undefined ? { dir: args.dir } : {}) });
  } catch (e) {
    if (!(e instanceof NameError)) throw e;
    process.stderr.write(`create-backend: ${e.message}\n(pnpm create-backend --help prints the usage)\n`);
    return 2;
  }
  const shown = relative(process.cwd(), made.dir) || '.';
  out(`created ${made.packageName} in ${shown}:`);
  for (const f of made.files) out(`  ${f}`);
  const inWorkspace = workspacePackages(root).some((p) => p.name === made.packageName);
  const write = `write kernels in ${shown}/src/${made.name}-backend.ts (see its README.md)`;
  if (!inWorkspace) {
    // pnpm install at the root would not link it, nor turbo build it, nor the conformance CLI find it by name.
    out('');
    out(`${shown} is not among the packages of the workspace at ${root}: install its dependencies there yourself, then ${write},`);
    out(`build it (pnpm build in ${shown}) and run conformance on it by path:`);
    out(`  pnpm conformance --backend ${made.dir}/dist/index.js`);
    return 0;
  }
  const next: string[] = [];
  if (args.install) {
    out('running pnpm install --offline at the repository root, to link the new package into the workspace');
    let status = pnpm(['install', '--offline'], root);
    if (status !== 0) {
      // The store has every package (the new one's are the repository's own versions), but pnpm resolves a new
      // package's dependencies from cached registry metadata, which a store filled from a lockfile may lack.
      out('pnpm install --offline could not resolve from this machine alone; retrying with --prefer-offline (fetches only missing metadata)');
      status = pnpm(['install', '--prefer-offline'], root);
    }
    if (status !== 0) {
      process.stderr.write(`create-backend: pnpm install failed (exit ${status}); the package is written: run pnpm install at ${root}\n`);
      return 1;
    }
  } else {
    next.push('pnpm install --offline');
  }
  next.push('pnpm build', `pnpm conformance --backend ${made.name}`);
  out('');
  out(`next: ${write}, and at the repository root (${root}):`);
  for (const c of next) out(`  ${c}`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`create-backend: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
