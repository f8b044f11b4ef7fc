/** The root README's usage example, on the wasm backend, as a reader who installed core + wasm would run it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * Every TypeScript block of the root README's "Install and use" section, in order, as one ES module (later
 * blocks use what earlier ones defined), compiled to JavaScript. The README installs backend-cpu and says
 * backend-wasm has the same API; the rehearsal installs core + wasm, so the backend's import, factory and
 * name are swapped for wasm's. Throws when the README no longer has what is swapped, so the two stay in step.
 */
export function readmeExampleOnWasm(root: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Install and use');
  if (start < 0) throw new Error('README: no "## Install and use" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error('README: no ```ts block under "## Install and use"');
  let source = blocks.join('\n');
  const swaps: [RegExp, string][] = [
    [/'@dcnv2\/backend-cpu'/g, "'@dcnv2/backend-wasm'"],
    [/\bcreateCpuBackend\b/g, 'createWasmBackend'],
    [/(registerBackend|setBackend)\('cpu'/g, "$1('wasm'"],
  ];
  for (const [pattern, replacement] of swaps) {
    if (!pattern.test(source)) throw new Error(`README example: expected ${pattern} in the "Install and use" code (the rehearsal swaps it for wasm)`);
    source = source.replace(pattern, replacement);
  }
  if (/cpu/i.test(source.replace(/\/\/.*$/gm, ''))) throw new Error('README example: still names the cpu backend after swapping it for wasm');
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}
