/**
 * The golden suites' walk over vectors files, the same for both ops: the files given (or the project's
 * golden set of the op), each loaded and checked, and every case labelled by its name (`file:name` when
 * several files are given, `name#n` for the n-th case of a repeated name). A golden set that cannot be
 * found, or a file that cannot be loaded, fails with a row and the walk goes on.
 */
import { basename } from 'node:path';
import { defaultVectorsFiles, loadVectors, type Vectors } from '../vectors.js';
import { errorRow, type SuiteContext } from './types.js';

export async function forEachGoldenCase<V extends Vectors>(
  ctx: SuiteContext,
  suite: string,
  op: V['op'],
  visit: (label: string, vc: V['cases'][number]) => Promise<void>,
): Promise<void> {
  let files: readonly string[];
  try {
    files = ctx.vectors ?? defaultVectorsFiles(op);
  } catch (e) {
    // Not finding the golden set must fail the run: silently testing less is how a backend goes green untested.
    ctx.row(errorRow(suite, '(vectors)', '-', e));
    return;
  }
  for (const file of files) {
    let vectors: V;
    try {
      vectors = loadVectors(file, op) as V;
    } catch (e) {
      ctx.row(errorRow(suite, basename(file), '-', e));
      continue;
    }
    const seen = new Map<string, number>();
    for (const vc of vectors.cases) {
      const count = (seen.get(vc.name) ?? 0) + 1;
      seen.set(vc.name, count);
      await visit((files.length > 1 ? `${basename(file)}:` : '') + vc.name + (count > 1 ? `#${count}` : ''), vc);
    }
  }
}
