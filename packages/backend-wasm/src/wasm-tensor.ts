/** A tensor in wasm memory: `length` float32 values at byte address `ptr` (ptr 0 when empty). */
export class WasmTensor {
  #released = false;
  constructor(readonly ptr: number, readonly length: number) {}
  get released(): boolean {
    return this.#released;
  }
  /** @internal */
  markReleased(): boolean {
    if (this.#released) return false;
    this.#released = true;
    return true;
  }
}
