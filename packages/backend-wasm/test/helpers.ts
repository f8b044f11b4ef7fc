/** Seeded random cases for the wasm backend's own tests. */
import type { DeformConv2dParams, HostTensor } from '@dcnv2/core';
import { Rng } from '@dcnv2/conformance';

/** A seeded uniform [0, 1) generator: the conformance package's PRNG, as a plain function. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

export function randTensor(shape: readonly number[], r: () => number, scale = 1, shift = -0.5): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() + shift) * scale;
  return { shape: [...shape], data };
}

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
