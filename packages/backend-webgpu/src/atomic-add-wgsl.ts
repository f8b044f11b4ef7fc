/**
 * WGSL `atomicAddF32(idx, v)`: adds the float32 `v` to element `idx` of a storage array of atomic<u32>
 * holding float32 bit patterns, by a compare-exchange loop on the word (WGSL has no float atomics). Each
 * addition is an exact float32 addition; their order is not deterministic. The grad_input scatters of the
 * backward (backward-shader.ts) and of RoI pooling (roi-pool-shader.ts) accumulate through it.
 */
export function atomicAddF32Wgsl(buffer: string): string {
  return /* wgsl */ `fn atomicAddF32(idx: u32, v: f32) {
  var old = atomicLoad(&${buffer}[idx]);
  loop {
    let nv = bitcast<u32>(bitcast<f32>(old) + v);
    let res = atomicCompareExchangeWeak(&${buffer}[idx], old, nv);
    if (res.exchanged) { break; }
    old = res.old_value;
  }
}
`;
}
