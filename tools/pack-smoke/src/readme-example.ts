/** The root README's usage example, as the reader would run it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * Every TypeScript block of the root README's "Install and use" section before its first subsection, in
 * order, as one TypeScript source (later blocks use what earlier ones defined, as a reader would run them).
 * The subsections (`### Where it runs`, `### From TensorFlow.js`) are about other set-ups: the tfjs snippet
 * uses tf.Tensors of its own and is no continuation of the example (`@dcnv2/tfjs` is run by the pack-install
 * test's tfjs case).
 */
export function readmeExampleSource(root: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Install and use');
  if (start < 0) throw new Error('README: no "## Install and use" section');
  const ends = ['\n## ', '\n### '].map((h) => readme.indexOf(h, start + 1)).filter((i) => i >= 0);
  const end = ends.length === 0 ? -1 : Math.min(...ends);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error('README: no ```ts block under "## Install and use"');
  return blocks.join('\n');
}

/** TypeScript source compiled to a plain ES module (types dropped, nothing checked). */
export function toEsModule(source: string): string {
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

/** The README example as one runnable ES module. */
export function readmeExample(root: string): string {
  return toEsModule(readmeExampleSource(root));
}
