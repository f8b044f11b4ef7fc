/**
 * GPU errors as typed errors. WebGPU reports an allocation failure or an invalid operation not by throwing
 * but on the device's error scopes (or, outside any scope, as an `uncapturederror` event), after the call
 * that caused it has returned. Dawn on SwiftShader, for one, fails to allocate a buffer of exactly 1 GiB
 * (`GPUOutOfMemoryError`), and every later use of that buffer is then a validation error that does
 * nothing: without scopes a call would return a normal-looking all-zero result. So every group of GPU
 * calls the backend makes runs inside one scope per error filter (`withErrorScopes`), and what the scopes
 * caught turns into `LimitError` (out of memory) or `BackendError` (validation, internal) on the call
 * that made those GPU calls (`faultError`).
 */
import { BackendError, LimitError, type DcnError } from '@dcnv2/core';

/** What an error scope caught: the filter that caught it and the GPU's message. */
export interface GpuFault {
  readonly kind: GPUErrorFilter;
  readonly message: string;
}

/** Pushed in this order, so out-of-memory is the innermost scope and the first one popped. */
const FILTERS: readonly GPUErrorFilter[] = ['internal', 'validation', 'out-of-memory'];

/**
 * Runs `work` (synchronous GPU calls) inside an out-of-memory, a validation and an internal error scope,
 * and returns its result with a promise of the first error the scopes caught: an out-of-memory error
 * before a validation error, since after an allocation failure every use of the invalid buffer is a
 * validation error too, a consequence and not the cause. The promise resolves once the device has
 * validated the work, not when the GPU has run it (Dawn answers within milliseconds of the submission).
 * If `work` throws, the scopes are popped (an unbalanced scope stack would swallow the errors of every
 * later call) and the exception propagates.
 */
export function withErrorScopes<T>(dev: GPUDevice, work: () => T): { readonly value: T; readonly fault: Promise<GpuFault | null> } {
  for (const f of FILTERS) dev.pushErrorScope(f);
  let value: T;
  try {
    value = work();
  } catch (e) {
    void popScopes(dev);
    throw e;
  }
  return { value, fault: popScopes(dev) };
}

function popScopes(dev: GPUDevice): Promise<GpuFault | null> {
  const pops = [...FILTERS].reverse().map((kind) =>
    dev.popErrorScope().then(
      (e): GpuFault | null => (e === null ? null : { kind, message: e.message }),
      // Only an empty scope stack rejects (someone else popped ours): nothing of this work is known to have failed.
      (): null => null,
    ),
  );
  return Promise.all(pops).then((found) => found.find((f) => f !== null) ?? null);
}

/** The filter an uncaptured GPUError belongs to, from its class. */
export function faultOf(error: GPUError): GpuFault {
  const name = error.constructor?.name ?? '';
  const kind: GPUErrorFilter = /OutOfMemory/.test(name) ? 'out-of-memory' : /Internal/.test(name) ? 'internal' : 'validation';
  return { kind, message: error.message };
}

/**
 * The typed error of a GPU fault in the work done for `argument`: `LimitError` when the GPU ran out of
 * memory (`bytes`: what was being allocated, when known), `BackendError` otherwise; the note carries the
 * GPU's message, after `context` when given.
 */
export function faultError(f: GpuFault, argument: string, bytes?: number, context?: string): DcnError {
  const note = context === undefined ? f.message.trim() : `${context}: ${f.message.trim()}`;
  if (f.kind === 'out-of-memory') {
    return new LimitError(
      { argument, expected: bytes === undefined ? 'the GPU memory the call needs' : `GPU memory for ${bytes} bytes`, actual: 'GPUOutOfMemoryError' },
      note,
    );
  }
  return new BackendError({ argument, expected: 'GPU work without errors', actual: `a GPU ${f.kind} error` }, note);
}
