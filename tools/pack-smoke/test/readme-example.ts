/** The root README's usage example, as the reader would run it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * Every TypeScript block of the root README's "Install and use" section, in order, as one module compiled
 * to plain JS (later blocks use what earlier ones defined, as a reader would run them).
 */
export function readmeExample(root: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Install and use');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error('README: no ```ts block under "## Install and use"');
  return ts.transpileModule(blocks.join('\n'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}
