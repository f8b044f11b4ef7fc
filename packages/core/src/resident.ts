/** The `ResidentTensor` implementation core hands out, and the host<->backend plumbing of an op call. */
import type { Backend } from './backend.js';
import { BackendError, CapabilityError, DisposedError } from './errors.js';
import { isResident, type HostTensor, type ResidentTensor, type Tensor } from './tensor.js';

class BackendTensor<H> implements ResidentTensor<H> {
  readonly kind = 'resident' as const;
  #handle: H | null;
  constructor(readonly owner: Backend<H>, handle: H, readonly shape: readonly number[]) {
    this.#handle = handle;
  }
  get backend(): string {
    return this.owner.name;
  }
  get disposed(): boolean {
    return this.#handle === null;
  }
  get handle(): H {
    if (this.#handle === null) throw new DisposedError({ argument: 'tensor', expected: 'a live tensor', actual: 'a disposed tensor' });
    return this.#handle;
  }
  async read(): Promise<Float32Array> {
    return this.owner.download(this.handle, this.shape);
  }
  dispose(): void {
    if (this.#handle === null) return;
    const h = this.#handle;
    this.#handle = null;
    this.owner.release(h);
  }
}

/** Wraps a backend handle as a resident tensor that the caller owns. */
export function wrapResident<H>(backend: Backend<H>, handle: H, shape: readonly number[]): ResidentTensor<H> {
  return new BackendTensor(backend, handle, [...shape]);
}

/** Copies a host tensor onto `backend`; the caller owns (and disposes) the result. */
export function upload<H>(backend: Backend<H>, t: HostTensor): ResidentTensor<H> {
  return wrapResident(backend, backend.upload(t.data, t.shape), t.shape);
}

/**
 * Wraps storage made outside dcnv2 (a tfjs tensor's GPUBuffer, a caller's wasm allocation) as a resident
 * tensor without copying. The caller keeps ownership of the storage: disposing the result only drops
 * dcnv2's wrapper.
 */
export function adopt<H>(backend: Backend<H>, external: unknown, shape: readonly number[]): ResidentTensor<H> {
  if (!backend.capabilities.externalBuffers || typeof backend.adopt !== 'function') {
    throw new CapabilityError({ argument: 'backend', expected: 'a backend with externalBuffers', actual: backend.name });
  }
  return wrapResident(backend, backend.adopt(external, shape), shape);
}

/**
 * Handles for the inputs of one call: resident tensors of this backend are borrowed, host tensors are
 * uploaded and released again by `releaseTemporaries()` when the call ends (also on error).
 */
export class CallScope<H> {
  readonly #temps: H[] = [];
  constructor(readonly backend: Backend<H>) {}

  handle(t: Tensor, argument: string): H {
    if (isResident(t)) {
      if (t.backend !== this.backend.name) {
        throw new BackendError({ argument, expected: `a tensor of backend ${JSON.stringify(this.backend.name)} or a host tensor`, actual: `a tensor of backend ${JSON.stringify(t.backend)}` });
      }
      if (t.disposed) throw new DisposedError({ argument, expected: 'a live tensor', actual: 'a disposed tensor' });
      return t.handle as H;
    }
    const h = this.backend.upload(t.data, t.shape);
    this.#temps.push(h);
    return h;
  }

  optional(t: Tensor | null | undefined, argument: string): H | null {
    return t === null || t === undefined ? null : this.handle(t, argument);
  }

  releaseTemporaries(): void {
    for (const h of this.#temps.splice(0)) this.backend.release(h);
  }
}

export type OutputMode = 'host' | 'resident';

/** Turns an op's output handle into what the caller asked for; a host result releases the handle. */
export async function deliver<H>(backend: Backend<H>, handle: H, shape: readonly number[], mode: OutputMode): Promise<Tensor> {
  if (mode === 'resident') return wrapResident(backend, handle, shape);
  try {
    return { shape: [...shape], data: await backend.download(handle, shape) };
  } finally {
    backend.release(handle);
  }
}
