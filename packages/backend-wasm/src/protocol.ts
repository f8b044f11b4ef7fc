/** Messages between the backend and its workers. */
import type { ChunkFn } from './job.js';

export interface InitMessage {
  readonly type: 'init';
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Top of this worker's own stack region (the linker's stack pointer would collide with the main instance). */
  readonly stackTop: number;
  /** Blocking mode only: the completion block (completion.ts) through which runs marked `blocking` are reported. */
  readonly completion?: SharedArrayBuffer;
}
export interface RunMessage {
  readonly type: 'run';
  readonly fn: ChunkFn;
  /** Job block of this thread. */
  readonly job: number;
  /** Workspace of this thread. */
  readonly ws: number;
  /** Byte address of the int32 chunk counter shared by every thread of the run. */
  readonly counter: number;
  readonly total: number;
  /**
   * Blocking mode only: run number and this worker's slot in the completion block. Such a run is reported
   * there (never by a 'done' or 'error' message, which a blocked caller could not receive, and which would
   * reach the pool after the synchronous call had returned).
   */
  readonly blocking?: { readonly seq: number; readonly slot: number };
}
export interface CloseMessage {
  readonly type: 'close';
}
export type ToWorker = InitMessage | RunMessage | CloseMessage;
export type FromWorker = { readonly type: 'ready' } | { readonly type: 'done'; readonly chunks: number } | { readonly type: 'error'; readonly message: string };
