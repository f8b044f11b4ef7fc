/**
 * Tensors as dcnv2 sees them: NCHW float32, either on the host (a shape and a Float32Array) or resident
 * on a backend (a GPU buffer, wasm memory, ...), read back explicitly and asynchronously.
 */

/** A dense row-major float32 tensor in ordinary memory. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * A tensor that lives on a backend. Ops accept it wherever they accept a `HostTensor`, and can return one
 * (`{ output: 'resident' }`), so a GPU backend chains ops without a round trip through the host.
 */
export interface ResidentTensor<Handle = unknown> {
  readonly kind: 'resident';
  readonly shape: readonly number[];
  /** Name of the backend that owns the storage. */
  readonly backend: string;
  /** The backend's own storage (a GPUBuffer, an offset into wasm memory, a Float32Array on cpu). */
  readonly handle: Handle;
  readonly disposed: boolean;
  /** Copies the values to the host. */
  read(): Promise<Float32Array>;
  /** Releases the storage; later use throws `DisposedError`. Idempotent. */
  dispose(): void;
}

export type Tensor = HostTensor | ResidentTensor;

export function isResident(t: unknown): t is ResidentTensor {
  return typeof t === 'object' && t !== null && (t as { kind?: unknown }).kind === 'resident';
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major host tensor; allocates zeros when no data is given. */
export function hostTensor(shape: readonly number[], data?: Float32Array | readonly number[]): HostTensor {
  const n = sizeOf(shape);
  const buf = data === undefined ? new Float32Array(n) : data instanceof Float32Array ? data : Float32Array.from(data);
  return { shape: [...shape], data: buf };
}
