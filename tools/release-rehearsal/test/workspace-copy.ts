/**
 * A copy of the workspace as it stands (tracked files and untracked ones git does not ignore, so work in
 * progress is rehearsed too), in which versions can be bumped, changesets consumed and tags created without
 * touching the real checkout.
 */
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './run.js';

export interface WorkspacePackage {
  name: string;
  version: string;
  path: string;
  private: boolean;
}

/** Copies the working tree's files (as `git ls-files -co --exclude-standard` lists them) from `root` to `dest`. */
export async function copyWorkingTree(root: string, dest: string): Promise<number> {
  const listed = (await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })).split('\0').filter((f) => f !== '');
  let copied = 0;
  for (const file of new Set(listed)) {
    const from = join(root, file);
    // Deleted in the working tree but still in the index (or removed by a concurrent edit): not part of it.
    if (!existsSync(from) && !isSymlink(from)) continue;
    const to = join(dest, file);
    mkdirSync(dirname(to), { recursive: true });
    if (isSymlink(from)) symlinkSync(readlinkSync(from), to);
    else copyFileSync(from, to);
    copied++;
  }
  return copied;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The workspace's projects (`pnpm ls -r`), root excluded. */
export async function workspacePackages(root: string): Promise<WorkspacePackage[]> {
  const listed = JSON.parse(await run('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: root })) as WorkspacePackage[];
  return listed.filter((p) => p.path !== root && p.path !== root.replace(/\/$/, ''));
}

/**
 * Copies a publishable package's build outputs from the workspace into the copy: every entry of its `files`
 * that git does not track (dist/, and whatever else a build generates, e.g. conformance's golden/), as
 * turbo built them before this test (`^build`: the rehearsal depends on every publishable package).
 * Versions are not compiled into any output, so these are the bytes `pnpm build` would give after
 * `changeset version`. Returns what was copied; throws, saying what to run, when an output is missing.
 */
export function copyBuildOutputs(workspaceDir: string, copyDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(workspaceDir, 'package.json'), 'utf8')) as { name: string; files?: string[] };
  const copied: string[] = [];
  for (const entry of manifest.files ?? []) {
    const to = join(copyDir, entry);
    if (existsSync(to)) continue; // tracked, already in the copy
    const from = join(workspaceDir, entry);
    if (!existsSync(from)) {
      throw new Error(
        `${manifest.name}: ${entry} (in its "files") is neither tracked nor built at ${from}; ` +
          'run the rehearsal through turbo so the packages are built first: pnpm turbo run test --filter=@dcnv2/release-rehearsal',
      );
    }
    cpSync(from, to, { recursive: true });
    copied.push(entry);
  }
  return copied;
}

/**
 * The repository's `shared/` folder (golden vectors and the like, kept beside the checkout or inside it,
 * untracked) is read by builds and pack scripts, e.g. conformance's copy-golden at `prepack`. The copy at
 * `<scratch>/repo` sees the same one: a symlink at the same place relative to it. Returns the links made.
 */
export function linkSharedFolder(root: string, copyDir: string): string[] {
  const links: string[] = [];
  for (const [from, to] of [
    [join(root, '..', 'shared'), join(copyDir, '..', 'shared')],
    [join(root, 'shared'), join(copyDir, 'shared')],
  ] as const) {
    if (existsSync(from) && !existsSync(to)) {
      symlinkSync(from, to);
      links.push(`${to} -> ${from}`);
    }
  }
  return links;
}
