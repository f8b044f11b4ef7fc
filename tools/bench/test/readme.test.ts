import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReadme, README_END, README_START, replaceBetweenMarkers } from '../src/readme.js';

describe('README section', () => {
  const doc = `# t\n\nintro\n\n## Benchmarks\n${README_START}\nold table\n${README_END}\n\n## Contributing\nrest\n`;

  it('replaces only what lies between the markers', () => {
    const out = replaceBetweenMarkers(doc, '\nnew | table\n');
    expect(out).toBe(`# t\n\nintro\n\n## Benchmarks\n${README_START}\nnew | table\n${README_END}\n\n## Contributing\nrest\n`);
    // Idempotent for the same section.
    expect(replaceBetweenMarkers(out, 'new | table')).toBe(out);
  });

  it('refuses a README without a well-formed pair of markers', () => {
    expect(() => replaceBetweenMarkers('# no markers', 'x')).toThrow(/no <!-- bench:start -->/);
    expect(() => replaceBetweenMarkers(`${README_END}\n${README_START}`, 'x')).toThrow(/comes before/);
    expect(() => replaceBetweenMarkers(`${README_START}${README_END}${README_START}${README_END}`, 'x')).toThrow(/more than one/);
  });

  it('checks a README file before any measuring', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcnv2-bench-readme-'));
    try {
      const good = join(dir, 'good.md');
      const bad = join(dir, 'bad.md');
      writeFileSync(good, doc);
      writeFileSync(bad, '# no markers\n');
      expect(() => checkReadme(good)).not.toThrow();
      expect(() => checkReadme(bad)).toThrow(/bad.md: the README has no <!-- bench:start -->/);
      expect(() => checkReadme(join(dir, 'missing.md'))).toThrow(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
