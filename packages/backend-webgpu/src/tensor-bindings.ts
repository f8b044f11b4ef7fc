/**
 * Storage bindings of whole tensors, stored as the storage type's `ST` elements (storage-type.ts): every
 * program's inputs are read-only `ST` arrays and most of its results read-write ones, so the programs list
 * them by name and access here instead of spelling out one binding object per tensor.
 */
import type { StorageBinding } from './program-interface.js';

/** One `array<ST>` binding per name, in the order given, all with access `access`. */
export function tensorBindings<const B extends string>(access: StorageBinding['access'], names: readonly B[]): Array<StorageBinding<B>> {
  return names.map((name) => ({ name, access, element: 'ST' }));
}
