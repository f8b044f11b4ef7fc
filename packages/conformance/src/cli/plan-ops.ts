/**
 * Which ops a CLI run checks, and with which vectors files. `--op X` runs X with every file given (a file
 * of another op then fails its golden suite, loudly). Without `--op` (or with `--op all`), every op runs
 * on its default golden set; files given with `--vectors` go to the op they hold, and only those ops run,
 * so `--vectors my_roi_cases.json` checks RoI pooling alone. A file whose op cannot be told (unreadable,
 * malformed) goes to deform_conv2d, whose golden suite then reports why.
 */
import { loadVectors, VECTOR_OPS, type VectorsOp } from '../vectors.js';

export interface OpPlan {
  readonly op: VectorsOp;
  /** Absent: the op's default golden set. */
  readonly vectors?: readonly string[];
}

function fileOp(path: string): VectorsOp {
  try {
    return loadVectors(path).op;
  } catch {
    return 'deform_conv2d';
  }
}

export function planOps(op: VectorsOp | 'all' | undefined, vectors: readonly string[] | undefined): OpPlan[] {
  if (op !== undefined && op !== 'all') return [{ op, ...(vectors ? { vectors } : {}) }];
  if (vectors === undefined) return VECTOR_OPS.map((o) => ({ op: o }));
  const byOp = new Map<VectorsOp, string[]>();
  for (const v of vectors) {
    const o = fileOp(v);
    byOp.set(o, [...(byOp.get(o) ?? []), v]);
  }
  return VECTOR_OPS.filter((o) => byOp.has(o)).map((o) => ({ op: o, vectors: byOp.get(o)! }));
}
