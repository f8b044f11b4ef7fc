/** The `ResidentTensor` implementation core hands out, and the host<->backend plumbing of an op call. */
import type { Backend } from './backend.js';
import { asDcnError, BackendError, CapabilityError, DisposedError } from './errors.js';
import { takeAnyShape, takeHostTensor } from './intake.js';
import type { HostTensor, ResidentTensor, Tensor } from './tensor.js';

/**
 * A tensor on a backend. Only this class counts as resident: its fields are private, so a forged
 * `{ kind: 'resident' }` object or an edited `shape` cannot steer a kernel. It belongs to one backend
 * *instance* (two wasm backends have two memories). A call borrows it for as long as the backend may
 * still read it; `dispose()` during that time takes effect at once for the caller (later use throws
 * `DisposedError`) but frees the storage only when the last borrow ends, so a queued call never reads
 * freed, reused memory.
 */
class BackendTensor<H> implements ResidentTensor<H> {
  readonly kind = 'resident' as const;
  readonly #owner: Backend<H>;
  readonly #shape: readonly number[];
  #handle: H | null;
  #borrows = 0;
  #disposed = false;

  constructor(owner: Backend<H>, handle: H, shape: readonly number[]) {
    this.#owner = owner;
    this.#handle = handle;
    this.#shape = Object.freeze([...shape]);
  }

  static isCore(t: unknown): t is BackendTensor<unknown> {
    return typeof t === 'object' && t !== null && #shape in t;
  }
  static shapeOf(t: BackendTensor<unknown>): readonly number[] {
    return t.#shape;
  }
  static ownerOf(t: BackendTensor<unknown>): Backend<unknown> {
    return t.#owner;
  }

  /** Frozen: editing it throws in strict code and changes nothing otherwise. */
  get shape(): readonly number[] {
    return this.#shape;
  }
  get backend(): string {
    return this.#owner.name;
  }
  get disposed(): boolean {
    return this.#disposed;
  }
  get handle(): H {
    if (this.#disposed || this.#handle === null) throw new DisposedError({ argument: 'tensor', expected: 'a live tensor', actual: 'a disposed tensor' });
    return this.#handle;
  }

  /** The handle, kept alive until the matching `unborrow()`. */
  borrow(argument: string): H {
    if (this.#disposed || this.#handle === null) throw new DisposedError({ argument, expected: 'a live tensor', actual: 'a disposed tensor' });
    this.#borrows++;
    return this.#handle;
  }
  unborrow(): void {
    this.#borrows--;
    if (this.#borrows === 0 && this.#disposed) this.#free();
  }

  async read(): Promise<Float32Array> {
    const h = this.borrow('tensor');
    try {
      return await this.#owner.download(h, this.#shape);
    } catch (e) {
      throw asDcnError(e, this.#owner.name, 'read()');
    } finally {
      this.unborrow();
    }
  }
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#borrows === 0) this.#free();
  }
  #free(): void {
    const h = this.#handle;
    this.#handle = null;
    if (h !== null) this.#owner.release(h);
  }
}

/** Whether `t` is a resident tensor made by this copy of core (not merely an object that looks like one). */
export function isCoreResident(t: unknown): t is ResidentTensor {
  return BackendTensor.isCore(t);
}

/** Core's own frozen copy of a resident tensor's shape. */
export function residentShape(t: ResidentTensor): readonly number[] {
  return BackendTensor.shapeOf(t as BackendTensor<unknown>);
}

/** Wraps a backend handle as a resident tensor that the caller owns. */
export function wrapResident<H>(backend: Backend<H>, handle: H, shape: readonly number[]): ResidentTensor<H> {
  return new BackendTensor(backend, handle, takeAnyShape(shape, 'shape'));
}

/** Copies a host tensor onto `backend`; the caller owns (and disposes) the result. */
export function upload<H>(backend: Backend<H>, t: HostTensor): ResidentTensor<H> {
  const { shape, data } = takeHostTensor(t, 'tensor');
  let handle: H;
  try {
    handle = backend.upload(data, shape);
  } catch (e) {
    throw asDcnError(e, backend.name, 'upload');
  }
  return new BackendTensor(backend, handle, shape);
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
  const s = takeAnyShape(shape, 'shape');
  return new BackendTensor(backend, backend.adopt(external, s), s);
}

/** What a call needs of an argument: its data on the host (already validated) or a core resident tensor. */
export interface CallTensor {
  readonly shape: readonly number[];
  readonly host: Float32Array | null;
  readonly resident: ResidentTensor | null;
}

/**
 * The backend handles of one call. Host data is uploaded (the backend copies it, synchronously) and
 * released when the call ends; resident tensors of this very backend instance are borrowed and given back
 * when the call ends, also on error.
 */
export class CallScope<H> {
  readonly #temps: H[] = [];
  readonly #borrowed: BackendTensor<H>[] = [];
  constructor(readonly backend: Backend<H>) {}

  handle(t: CallTensor, argument: string): H {
    if (t.resident !== null) {
      const r = t.resident as BackendTensor<H>;
      const owner = BackendTensor.ownerOf(r as BackendTensor<unknown>);
      if (owner !== this.backend) {
        const actual = owner.name === this.backend.name ? `a tensor of another instance of backend ${owner.name}` : `a tensor of backend ${owner.name}`;
        throw new BackendError({ argument, expected: `a tensor of this ${JSON.stringify(this.backend.name)} backend instance, or a host tensor`, actual }, 'read it back with read() and pass the host tensor');
      }
      const h = r.borrow(argument);
      this.#borrowed.push(r);
      return h;
    }
    const h = this.backend.upload(t.host!, t.shape);
    this.#temps.push(h);
    return h;
  }

  optional(t: CallTensor | null, argument: string): H | null {
    return t === null ? null : this.handle(t, argument);
  }

  /** Uploads host data that core made itself (a validated copy). */
  uploadCopy(data: Float32Array, shape: readonly number[]): H {
    const h = this.backend.upload(data, shape);
    this.#temps.push(h);
    return h;
  }

  /** Releases the temporaries and gives back the borrowed tensors (freeing those disposed meanwhile). */
  end(): void {
    for (const h of this.#temps.splice(0)) this.backend.release(h);
    for (const t of this.#borrowed.splice(0)) t.unborrow();
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
