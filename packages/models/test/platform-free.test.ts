import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('the main entry is platform-free', () => {
  it('no module outside src/node/ imports a Node built-in or src/node/, or uses process or Buffer', () => {
    const files = sources(SRC).filter((f) => !relative(SRC, f).startsWith('node'));
    expect(files.map((f) => relative(SRC, f)).sort()).toEqual(['errors.ts', 'fashion-mnist.ts', 'geometric.ts', 'idx.ts', 'index.ts', 'rng.ts']);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]);
      for (const spec of imports) expect(spec, `${relative(SRC, file)} imports ${spec}`).toMatch(/^\.\/[a-z-]+\.js$/);
      expect(text, relative(SRC, file)).not.toMatch(/\bprocess\.|\bBuffer\b|\brequire\(/);
    }
  });
});
