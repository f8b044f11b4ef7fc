/**
 * Finds the dcnv2 backend packages to benchmark: the known names (`@dcnv2/backend-cpu`, `-wasm`, `-webgpu`) and
 * every other `@dcnv2/backend-*` package of the pnpm workspace, so that a new backend package is benchmarked
 * without any change here (listing it in KNOWN_BACKENDS only makes its absence visible as a "skipped" line).
 * Each resolves through Node's resolution from this package first (a dependency), then through the workspace
 * (a backend package cannot always be a dependency of the bench: it may depend on the bench's dependencies).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageEntry, workspacePackages } from '@dcnv2/conformance';

/** Backend names whose packages are expected to exist sooner or later: `@dcnv2/backend-<name>`. */
export const KNOWN_BACKENDS: readonly string[] = ['cpu', 'wasm', 'webgpu'];

const PREFIX = '@dcnv2/backend-';

export interface BackendModule {
  /** Backend name: `cpu`. */
  readonly name: string;
  /** Package name: `@dcnv2/backend-cpu`. */
  readonly pkg: string;
  /** The module file exporting `dcnBackend`, or null with `reason` when it cannot be used. */
  readonly file: string | null;
  readonly reason?: string;
}

export function discoverBackends(here: string = fileURLToPath(import.meta.url)): BackendModule[] {
  const workspace = workspacePackages(dirname(here)).filter((p) => p.name.startsWith(PREFIX));
  const names = [...KNOWN_BACKENDS];
  for (const p of workspace) {
    const name = p.name.slice(PREFIX.length);
    if (!names.includes(name)) names.push(name);
  }
  const req = createRequire(here);
  return names.map((name): BackendModule => {
    const pkg = PREFIX + name;
    try {
      return { name, pkg, file: req.resolve(pkg) };
    } catch {
      // not a dependency of the bench: look in the workspace
    }
    const ws = workspace.find((p) => p.name === pkg);
    if (ws === undefined) return { name, pkg, file: null, reason: `${pkg} is not installed nor in the workspace` };
    const entry = packageEntry(ws.dir);
    return 'file' in entry ? { name, pkg, file: entry.file } : { name, pkg, file: null, reason: entry.reason };
  });
}
