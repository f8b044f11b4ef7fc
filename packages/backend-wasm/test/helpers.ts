/** Seeded random cases for the wasm backend's own tests. */
import type { DeformConv2dParams, HostTensor } from '@dcnv2/core';

/** Seeded uniform numbers and tensors: the conformance package's PRNG, under the names these tests use. */
import { uniformSource as rng, uniformTensor as randTensor } from '@dcnv2/conformance';
export { rng, randTensor };

export interface Case {
  input: HostTensor;
  weight: HostTensor;
  offset: HostTensor;
  mask: HostTensor;
  bias: HostTensor;
  gradOutput: HostTensor;
  params: DeformConv2dParams;
}

/** A 3x3, pad 1 case with offsets of a few pixels. */
export function makeCase(N: number, Cin: number, S: number, Cout: number, seed: number): Case {
  const r = rng(seed);
  return {
    input: randTensor([N, Cin, S, S], r),
    weight: randTensor([Cout, Cin, 3, 3], r, 0.2),
    offset: randTensor([N, 18, S, S], r, 4),
    mask: randTensor([N, 9, S, S], r, 1, 0),
    bias: randTensor([Cout], r),
    gradOutput: randTensor([N, Cout, S, S], r),
    params: { padding: 1 },
  };
}
