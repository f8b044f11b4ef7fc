/**
 * What an implementation adapter provides inside a worker process. An adapter prepares everything that a user
 * would prepare once (load the runtime, build the session, lay out the weights in its native layout) but does
 * not run the op: the worker measures memory after setup, so whatever the first run allocates counts as the
 * op's working memory. The first run is the untimed agreement check, then warm-up runs follow. `run` is one
 * timed unit as a user calls it: host Float32Arrays in, results back on the host.
 */
import type { CaseData } from '../case-data.js';
import type { Direction } from '../shapes.js';

/** Names of the tensors an adapter returns for the agreement check (NCHW, like core's shapes). */
export type CheckTensorName = 'output' | 'grad_input' | 'grad_offset' | 'grad_mask' | 'grad_weight' | 'grad_bias';

export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface Runner {
  /** What runs, with versions, e.g. `onnxruntime-node 1.30.0 (cpu)`. */
  readonly version: string;
  /** Threads actually used. */
  readonly threads: number;
  /** One timed unit: the forward pass, or forward then backward (all gradients the implementation has). */
  run(): Promise<void>;
  /** One untimed unit whose results are returned for the agreement check. */
  outputs(): Promise<Partial<Record<CheckTensorName, HostTensor>>>;
  dispose(): Promise<void>;
}

export interface AdapterOptions {
  readonly threads: number;
  readonly direction: Direction;
  /** dcnv2 backends: the module file exporting `dcnBackend`. */
  readonly module?: string;
}

/** Prepares one implementation for one case of its op (`C`: the op's case data, the convolution's by default). */
export type Adapter<C = CaseData> = (c: C, options: AdapterOptions) => Promise<Runner>;

/** Thrown by an adapter that cannot run this case (not an error of the implementation). */
export class SkipError extends Error {
  override readonly name = 'SkipError';
}

/**
 * The runner of a forward-only peer: `once` computes the output (of `shape`) as a user gets it, timed by
 * `run` and handed to the agreement check by `outputs`.
 */
export function forwardRunner(
  version: string,
  threads: number,
  shape: readonly number[],
  once: () => Promise<Float32Array>,
  dispose: () => Promise<void>,
): Runner {
  return {
    version,
    threads,
    async run() {
      await once();
    },
    async outputs() {
      return { output: { shape, data: await once() } };
    },
    dispose,
  };
}
