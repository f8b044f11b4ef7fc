/**
 * Release rehearsal (issue #11): the changesets flow against a real registry, from a copy of the workspace.
 *
 *  1. copy the working tree to a temp dir (tracked + untracked-not-ignored files; the repository's shared/
 *     folder linked where the build expects it), `pnpm install --offline --frozen-lockfile` there from this
 *     machine's store, bring in the packages' build outputs; git init
 *  2. start verdaccio (in this process, 127.0.0.1, free port, no uplinks) and create a user: its token goes
 *     into an npmrc of the rehearsal's own (the maintainer's ~/.npmrc is never read)
 *  3. `pnpm changeset status`, then `pnpm changeset version`: versions and changelogs as planned
 *  4. `pnpm changeset publish` with npm_config_registry at the local registry: every public package
 *     published at its new version, `workspace:` ranges rewritten, git tags created
 *  5. a scratch project under os.tmpdir(), outside any workspace, with its own .npmrc: `npm install
 *     @dcnv2/core @dcnv2/backend-wasm` resolves from 127.0.0.1 only, at the versions just published
 *  6. the root README's "Install and use" example, on the wasm backend, runs there and prints what it says
 *
 * The real checkout is read, never written; every temp folder is removed and the registry closed afterwards.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeExampleOnWasm } from './readme-example.js';
import { startRegistry, type LocalRegistry } from './registry.js';
import { cleanEnv, run, step } from './run.js';
import { copyBuildOutputs, copyWorkingTree, linkSharedFolder, workspacePackages, type WorkspacePackage } from './workspace-copy.js';

const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-release-'));
const repo = join(scratch, 'repo');
const app = join(scratch, 'app');
const npmCache = join(scratch, 'npm-cache');
/** npm config files of the rehearsal's own: the maintainer's user and global npmrc are never read. */
const publisherNpmrc = join(scratch, 'publisher.npmrc');
const emptyUserNpmrc = join(scratch, 'user.npmrc');
const emptyGlobalNpmrc = join(scratch, 'global.npmrc');

let registry: LocalRegistry | undefined;
let publicPackages: WorkspacePackage[] = [];

interface PlannedRelease {
  name: string;
  type: 'major' | 'minor' | 'patch' | 'none';
  oldVersion: string;
  newVersion: string;
}
/** name -> version after `changeset version`, for the packages `changeset status` says are released. */
const planned = new Map<string, string>();
/** name -> version for every public package after `changeset version`: what `changeset publish` publishes. */
const toPublish = new Map<string, string>();
let versioned = false;
let published = false;
let installed = false;

/** Environment of every npm/pnpm command that talks to the registry: ours, and nothing of the machine's. */
function registryEnv(userconfig: string): NodeJS.ProcessEnv {
  if (registry === undefined) throw new Error('registry not started');
  return cleanEnv({
    npm_config_registry: registry.url,
    npm_config_userconfig: userconfig,
    npm_config_globalconfig: emptyGlobalNpmrc,
    npm_config_cache: npmCache,
    npm_config_update_notifier: 'false',
  });
}

beforeAll(async () => {
  step(`scratch folder ${scratch}`);
  writeFileSync(emptyUserNpmrc, '');
  writeFileSync(emptyGlobalNpmrc, '');

  mkdirSync(repo);
  const files = await copyWorkingTree(root, repo);
  step(`copied ${files} files of the working tree to ${repo}`);
  for (const link of linkSharedFolder(root, repo)) step(`shared folder: ${link}`);

  // Offline, from the store this machine's `pnpm install` filled (named explicitly: pnpm would pick
  // another store for a folder on another filesystem, and that one is empty). Only the root (changesets)
  // and the packages (`pnpm publish` resolves their workspace: ranges through their node_modules): the
  // tools' dependencies are a lot of files and play no part in a release.
  const storeDir = (await run('pnpm', ['store', 'path'], { cwd: root })).trim();
  const install = ['install', '--offline', '--frozen-lockfile', '--store-dir', storeDir, '--filter', '.', '--filter', './packages/*', '--reporter', 'silent'];
  await run('pnpm', install, { cwd: repo, timeoutMs: 240_000 });
  step(`pnpm ${install.join(' ')} in the copy: done`);

  publicPackages = (await workspacePackages(repo)).filter((p) => !p.private);
  for (const pkg of publicPackages) {
    const rel = pkg.path.slice(repo.length + 1);
    const copied = copyBuildOutputs(join(root, rel), pkg.path);
    step(`build outputs of ${pkg.name}: ${copied.join(', ') || '(all tracked)'}`);
  }

  // A repository of its own, on the changesets base branch, so that `changeset status` can compare with
  // it and `changeset publish` can tag it.
  const { baseBranch } = JSON.parse(readFileSync(join(repo, '.changeset/config.json'), 'utf8')) as { baseBranch?: string };
  await run('git', ['init', '-q', '-b', baseBranch ?? 'main'], { cwd: repo });
  await run('git', ['add', '-A'], { cwd: repo });
  await run('git', ['commit', '-q', '--no-verify', '-m', 'release rehearsal: working tree snapshot'], { cwd: repo });

  registry = await startRegistry(join(scratch, 'registry'));
  const token = await registry.addUser('rehearsal', `rehearsal-${process.pid}-${Date.now()}`);
  const host = registry.url.replace(/^http:/, '');
  writeFileSync(publisherNpmrc, `registry=${registry.url}\n${host}:_authToken=${token}\n`);
  step(`verdaccio listening at ${registry.url}; user "rehearsal" created, token in ${publisherNpmrc}`);
}, 300_000);

afterAll(async () => {
  await registry?.close();
  step('registry closed');
  rmSync(scratch, { recursive: true, force: true });
  step('scratch folder removed');
});

describe('release rehearsal: changesets into a local registry, npm install from it', () => {
  it('changeset version gives every released package its planned version and a changelog, and consumes the changesets', async () => {
    // Right after a release nothing is pending: the rehearsal then brings a patch changeset of its own, so
    // that there is always a version step to rehearse (in the copy only).
    const pending = readdirSync(join(repo, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    if (pending.length === 0) {
      const frontMatter = publicPackages.map((p) => `"${p.name}": patch`).join('\n');
      writeFileSync(join(repo, '.changeset/release-rehearsal.md'), `---\n${frontMatter}\n---\n\nRelease rehearsal (no changeset was pending).\n`);
      await run('git', ['add', '.changeset/release-rehearsal.md'], { cwd: repo });
      await run('git', ['commit', '-q', '--no-verify', '-m', 'release rehearsal: a patch changeset'], { cwd: repo });
      step('no pending changeset: added a patch changeset for every public package (in the copy)');
    }
    const statusFile = join(scratch, 'changeset-status.json');
    await run('pnpm', ['changeset', 'status', `--output=${statusFile}`], { cwd: repo });
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as { releases: PlannedRelease[]; changesets: { id: string; summary: string }[] };
    for (const r of status.releases) {
      if (r.type === 'none') continue;
      expect(r.newVersion, `${r.name} is bumped`).not.toBe(r.oldVersion);
      planned.set(r.name, r.newVersion);
    }
    step(`changeset status: ${[...planned].map(([n, v]) => `${n} -> ${v}`).join(', ') || 'nothing to release'}`);
    expect(status.changesets.length, 'pending changesets in .changeset/').toBeGreaterThan(0);
    expect([...planned.keys()]).toEqual(expect.arrayContaining(['@dcnv2/core', '@dcnv2/backend-wasm']));
    // Only public packages are released; the private tools are left alone.
    const publicNames = publicPackages.map((p) => p.name);
    for (const name of planned.keys()) expect(publicNames).toContain(name);

    await run('pnpm', ['changeset', 'version'], { cwd: repo });
    for (const pkg of publicPackages) {
      const manifest = JSON.parse(readFileSync(join(pkg.path, 'package.json'), 'utf8')) as { version: string };
      const want = planned.get(pkg.name) ?? pkg.version;
      expect(manifest.version, pkg.name).toBe(want);
      if (planned.has(pkg.name)) {
        const changelog = readFileSync(join(pkg.path, 'CHANGELOG.md'), 'utf8');
        expect(changelog.startsWith(`# ${pkg.name}\n\n## ${want}\n`), `${pkg.name} CHANGELOG.md heading`).toBe(true);
      }
    }
    const core = readFileSync(join(repo, 'packages/core/CHANGELOG.md'), 'utf8');
    for (const c of status.changesets.filter((c) => c.summary.includes('@dcnv2/core'))) expect(core).toContain(c.summary.split('\n')[0]);
    expect(readdirSync(join(repo, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')).toEqual([]);
    // What goes to the registry: every public package at its version now (`changeset publish` publishes
    // whatever version the registry lacks, released or not; this registry starts empty).
    for (const pkg of publicPackages) toPublish.set(pkg.name, planned.get(pkg.name) ?? pkg.version);
    versioned = true;
    step(`changeset version: ${[...toPublish].map(([n, v]) => `${n}@${v}`).join(', ')}`);
  });

  it('changeset publish puts every released package on the local registry, with dependency ranges resolved, and tags them', async () => {
    expect(versioned, 'changeset version ran').toBe(true);
    const out = await run('pnpm', ['changeset', 'publish'], { cwd: repo, env: registryEnv(publisherNpmrc), timeoutMs: 240_000 });
    step(`changeset publish:\n${out.split('\n').filter((l) => /success|New tag|published|error/i.test(l)).join('\n')}`);
    const r = registry!;
    for (const [name, version] of toPublish) {
      const doc = await r.packument(name);
      expect(doc, `${name} on the registry`).not.toBeNull();
      expect(doc!['dist-tags'].latest, `${name} latest`).toBe(version);
      const manifest = doc!.versions[version];
      expect(manifest.dist.tarball.startsWith(r.url), `${name} tarball URL`).toBe(true);
      expect(JSON.stringify(manifest.dependencies ?? {}), `${name} dependencies`).not.toMatch(/workspace:/);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        if (toPublish.has(dep)) expect(range, `${name} -> ${dep}`).toBe(`^${toPublish.get(dep)}`);
      }
    }
    // Private workspace projects are never published.
    expect(await r.packument('@dcnv2/release-rehearsal')).toBeNull();
    const tags = (await run('git', ['tag', '--list'], { cwd: repo })).trim().split('\n').sort();
    expect(tags).toEqual([...toPublish].map(([n, v]) => `${n}@${v}`).sort());
    published = true;
  });

  it('npm install @dcnv2/core @dcnv2/backend-wasm in a scratch project resolves from the local registry only, at the published versions', async () => {
    expect(published, 'changeset publish ran').toBe(true);
    const r = registry!;
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'release-rehearsal-app', private: true, type: 'module' }, null, 2));
    writeFileSync(join(app, '.npmrc'), `registry=${r.url}\n`);
    // The scratch project's own .npmrc names the registry; the env names no registry of its own.
    const env = registryEnv(emptyUserNpmrc);
    delete env.npm_config_registry;
    await run('npm', ['install', '--no-audit', '--no-fund', '@dcnv2/core', '@dcnv2/backend-wasm'], { cwd: app, env, timeoutMs: 120_000 });
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; resolved?: string }> };
    const resolved = Object.entries(lock.packages).filter(([path]) => path !== '');
    step(`npm install resolved:\n${resolved.map(([path, p]) => `  ${path}@${p.version} <- ${p.resolved}`).join('\n')}`);
    expect(resolved.map(([path]) => path).sort()).toEqual(['node_modules/@dcnv2/backend-wasm', 'node_modules/@dcnv2/core']);
    for (const [path, p] of resolved) expect(p.resolved?.startsWith(r.url), `${path} resolved from ${p.resolved}`).toBe(true);

    for (const name of ['@dcnv2/core', '@dcnv2/backend-wasm']) {
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      expect(manifest.version, name).toBe(planned.get(name));
    }
    const deps = (JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    expect(deps).toEqual({ '@dcnv2/core': `^${planned.get('@dcnv2/core')}`, '@dcnv2/backend-wasm': `^${planned.get('@dcnv2/backend-wasm')}` });
    // The installed tarballs hold the build (wasm kernels included), not only the manifests.
    expect(existsSync(join(app, 'node_modules/@dcnv2/backend-wasm/dist/wasm/dcn-simd.wasm'))).toBe(true);
    installed = true;
  });

  it('the root README example runs on the installed core + wasm and prints the documented shapes and the expected values', async () => {
    expect(installed, 'npm install ran').toBe(true);
    // The README's own output (shapes), then values checked by hand: constant inputs make every interior
    // output pixel the same number. Input 0.5, weight 0.01, 64 channels x 9 taps, unit masks:
    //   y = 64 * 9 * 0.5 * 0.01 = 2.88; dL/dmask = 64 * 64 * 0.01 * 0.5 = 20.48; dL/dinput = 64 * 9 * 0.01 = 5.76;
    //   dL/doffset = 0 (a constant field has no slope); dL/dbias = 56 * 56 = 3136; RoI bins average 0.5.
    const values = `
const { getBackend, getBackendName } = await import('@dcnv2/core');
const hw = 56 * 56, centre = 28 * 56 + 28;
console.log(JSON.stringify({
  backend: getBackendName(), variant: getBackend().info.variant,
  y: y.data[5 * hw + centre], gradInput: grads.input.data[7 * hw + centre], gradOffset: grads.offset.data[3 * hw + centre],
  gradMask: grads.mask.data[4 * hw + centre], gradBias: grads.bias.data[0],
  pooledMin: Math.min(...pooled.data), pooledMax: Math.max(...pooled.data),
}));
`;
    writeFileSync(join(app, 'readme-example.mjs'), readmeExampleOnWasm(root) + values);
    const printed = (await run('node', ['readme-example.mjs'], { cwd: app, timeoutMs: 120_000 })).trim().split('\n');
    step(`README example on the installed packages printed:\n${printed.map((l) => `  ${l}`).join('\n')}`);
    expect(printed.slice(0, 3)).toEqual(['[ 1, 64, 56, 56 ]', '[ 1, 18, 56, 56 ]', '[ 2, 64, 7, 7 ]']);
    const v = JSON.parse(printed[3]) as Record<string, number | string>;
    expect(v.backend).toBe('wasm');
    expect(['simd', 'relaxed']).toContain(v.variant);
    expect(v.y).toBeCloseTo(2.88, 4);
    expect(v.gradInput).toBeCloseTo(5.76, 4);
    expect(v.gradOffset).toBeCloseTo(0, 5);
    expect(v.gradMask).toBeCloseTo(20.48, 3);
    expect(v.gradBias).toBeCloseTo(3136, 2);
    expect(v.pooledMin).toBeCloseTo(0.5, 5);
    expect(v.pooledMax).toBeCloseTo(0.5, 5);
  });
});
