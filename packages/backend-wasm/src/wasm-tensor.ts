/**
 * A tensor in wasm memory: `length` float32 values at byte address `ptr` (ptr 0 when empty).
 *
 * The fields are for reading only, and frozen. The backend does not trust them anyway: it keeps its own
 * record of every tensor it made (address, length, whether it is live), so a handle of another backend
 * instance, a forged or edited one, or a released one is refused instead of naming memory it does not own.
 */
export class WasmTensor {
  #released = false;
  constructor(readonly ptr: number, readonly length: number) {
    Object.freeze(this);
  }
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
