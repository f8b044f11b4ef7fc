/**
 * Taking an op call's tensors, for every op alike: each field of `args` named in the op's input list is
 * read exactly once (a getter is never asked twice), checked for rank and data, and kept as a
 * `TakenTensor`. Other fields are allowed (callers pass richer objects), unlike in `params` and `options`.
 */
import { takeObject, takeOptional, takeTensor, type TakenTensor } from './intake.js';
import { describeArgs, type OpSpec } from './op-specs.js';

/** A call's tensors by input name (null: an optional input left out), and `gradOutput` of a backward call. */
export type TakenArgs<I extends string> = { readonly [K in I]: TakenTensor | null } & { readonly gradOutput: TakenTensor | null };

export function takeOpArgs<I extends string>(spec: OpSpec<string, I>, args: unknown, backward: boolean): TakenArgs<I> {
  const a = takeObject(args, 'args', describeArgs(spec, backward));
  const taken: Record<string, TakenTensor | null> = {};
  // In the op table's order, so the first bad argument reported is the first in the signature.
  for (const i of spec.inputs) taken[i.name] = i.optional ? takeOptional(a[i.name], i.name, i.rank, i.dims) : takeTensor(a[i.name], i.name, i.rank, i.dims);
  taken.gradOutput = backward ? takeTensor(a.gradOutput, 'gradOutput', spec.gradOutput.rank, spec.gradOutput.dims) : null;
  return taken as TakenArgs<I>;
}
