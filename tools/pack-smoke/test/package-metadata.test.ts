/**
 * What the registry shows and a user's tools read, checked on the packed tarballs: the license text, the
 * manifest's links and keywords, the stated module format and Node versions, README links that work on the
 * registry's page (which renders the README without the repository around it, so relative links break), and
 * source maps that carry their sources (the TypeScript sources are not shipped).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packWorkspacePackage, tarballFiles } from '../src/tarball.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGE_DIRS = ['packages/core', 'packages/backend-cpu', 'packages/backend-wasm', 'packages/backend-webgpu', 'packages/conformance', 'packages/tfjs'];
const scratch = mkdtempSync(join(tmpdir(), 'dcnv2-metadata-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const tarballs: string[] = [];

function readFromTarball(tgz: string, file: string): string {
  return execFileSync('tar', ['-xzOf', tgz, `package/${file}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

interface Manifest {
  name: string;
  license?: string;
  type?: string;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  keywords?: string[];
  engines?: { node?: string };
  exports?: Record<string, unknown>;
}

beforeAll(() => {
  const dest = join(scratch, 'tarballs');
  for (const d of PACKAGE_DIRS) tarballs.push(packWorkspacePackage(join(root, d), dest));
}, 300_000);

describe('what the registry shows and users read, per packed package', () => {
  it('LICENSE (MIT) is in every tarball and matches the manifest', () => {
    for (const tgz of tarballs) {
      expect(tarballFiles(tgz), tgz).toContain('LICENSE');
      expect(readFromTarball(tgz, 'LICENSE')).toMatch(/^MIT License/);
      expect((JSON.parse(readFromTarball(tgz, 'package.json')) as Manifest).license).toBe('MIT');
    }
  });

  it('manifests: ESM only, Node >= 20, repository with its directory, homepage, bugs, keywords', () => {
    for (const [i, tgz] of tarballs.entries()) {
      const m = JSON.parse(readFromTarball(tgz, 'package.json')) as Manifest;
      expect(m.type, m.name).toBe('module');
      expect(m.engines?.node, m.name).toBe('>=20');
      expect(m.repository, m.name).toEqual({ type: 'git', url: 'git+https://github.com/dcnv2/dcnv2.git', directory: PACKAGE_DIRS[i] });
      expect(m.homepage, m.name).toMatch(/^https:\/\/github\.com\/dcnv2\/dcnv2\//);
      expect(m.bugs?.url, m.name).toBe('https://github.com/dcnv2/dcnv2/issues');
      expect(m.keywords?.length ?? 0, m.name).toBeGreaterThanOrEqual(4);
      // ESM only: no "require" condition anywhere in the exports map.
      expect(JSON.stringify(m.exports), m.name).not.toMatch(/"require"/);
    }
  });

  it('READMEs state ESM-only and Node 20+, and link only to absolute URLs or anchors', () => {
    for (const tgz of tarballs) {
      const readme = readFromTarball(tgz, 'README.md');
      const name = (JSON.parse(readFromTarball(tgz, 'package.json')) as Manifest).name;
      expect(readme, name).toMatch(/ES ?module|ESM/);
      expect(readme, name).toMatch(/Node(\.js)? 20\+|Node(\.js)? >= ?20/);
      // Markdown links and images: [text](target) / ![alt](target), outside code spans and blocks.
      const prose = readme.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
      const relative = [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g)].map((m) => m[1]!).filter((t) => !/^(https?:|mailto:|#)/.test(t));
      expect(relative, `${name}: relative links break on the registry's page`).toEqual([]);
    }
  });

  it('source maps carry their sources (sourcesContent), since the .ts files are not shipped', () => {
    for (const tgz of tarballs) {
      const maps = tarballFiles(tgz).filter((f) => f.endsWith('.map'));
      for (const f of maps) {
        const map = JSON.parse(readFromTarball(tgz, f)) as { sources: string[]; sourcesContent?: (string | null)[] };
        expect(map.sourcesContent?.length, `${tgz}: ${f}`).toBe(map.sources.length);
        expect(map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0), `${tgz}: ${f}`).toBe(true);
      }
    }
  });
});
