/**
 * Writes the sweep chart: SVG as is, or PNG through `rsvg-convert` (Debian's librsvg2-bin) when the file name
 * ends in .png. No rasteriser is bundled, so PNG needs that tool; SVG always works.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writePlot(path: string, svg: string): void {
  mkdirSync(dirname(path), { recursive: true });
  if (!path.toLowerCase().endsWith('.png')) {
    writeFileSync(path, svg);
    return;
  }
  try {
    execFileSync('rsvg-convert', ['--format', 'png', '--output', path], { input: svg, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'rsvg-convert is not installed (apt-get install librsvg2-bin)' : String(e);
    throw new Error(`cannot write ${path} as PNG: ${why}; ask for an .svg file instead`);
  }
}
