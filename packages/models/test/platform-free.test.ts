/**
 * The package's main entry runs in browsers: every module it can reach is free of Node built-ins, `process`,
 * `Buffer` and `require`, and imports only relative modules that are themselves platform-free, or the
 * packages a browser bundle gets (tfjs, dcnv2's, fast-png). The Node-only modules are the `./node` entry
 * (src/node/) and the command-line tools (`cli.ts` and `node.ts` files), which nothing platform-free imports.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const nodeOnly = (f: string) => {
  const r = relative(SRC, f);
  return r.startsWith('node/') || /(^|\/)(cli|node)\.ts$/.test(r);
};
const PACKAGES = /^(@tensorflow\/tfjs(-core|-layers)?|@dcnv2\/(core|tfjs)|fast-png)$/;

describe('the main entry is platform-free', () => {
  it('no module outside the Node-only ones imports a Node built-in, a Node-only module or another package, or uses process or Buffer', () => {
    const files = sources(SRC).filter((f) => !nodeOnly(f));
    expect(files.map((f) => relative(SRC, f))).toContain('index.ts');
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/\b(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
      for (const spec of imports) {
        const what = `${relative(SRC, file)} imports ${spec}`;
        if (spec.startsWith('.')) {
          expect(spec, what).toMatch(/\.js$/);
          expect(nodeOnly(resolve(dirname(file), spec.replace(/\.js$/, '.ts'))), what).toBe(false);
        } else {
          expect(spec, what).toMatch(PACKAGES);
        }
      }
      // Code only: comments may name Node's objects (e.g. "process.stderr" as an example of a sink).
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(code, relative(SRC, file)).not.toMatch(/\bprocess\.|\bBuffer\b|\brequire\(/);
    }
  });
});
