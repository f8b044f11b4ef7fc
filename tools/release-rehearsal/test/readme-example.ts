/** The root README's usage example, on the wasm backend, as a reader who installed core + wasm would run it. */
import { readmeExampleSource, toEsModule } from '@dcnv2/pack-smoke/readme-example';

/**
 * Every TypeScript block of the root README's "Install and use" section, in order, as one ES module (later
 * blocks use what earlier ones defined), compiled to JavaScript. The README installs backend-cpu and says
 * backend-wasm has the same API; the rehearsal installs core + wasm, so the backend's import, factory and
 * name are swapped for wasm's. Throws when the README no longer has what is swapped, so the two stay in step.
 */
export function readmeExampleOnWasm(root: string): string {
  let source = readmeExampleSource(root);
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
  return toEsModule(source);
}
