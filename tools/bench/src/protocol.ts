/**
 * Messages between the coordinator and a worker process (one worker = one implementation at one thread count,
 * for one shape and direction). Node workers get them over the fork IPC channel, the Python worker as JSON
 * lines on stdin/stdout; both answer every request with exactly one reply, in order.
 *
 *   setup  load the runtime, read the case file, prepare (sessions, tensors)      -> SetupReply
 *   check  run the direction once and write its tensors to `outFile`                -> CheckReply
 *   run    run the direction `count` times back to back, timing each run inside    -> RunReply
 *          the worker (so IPC latency is never measured)
 *   memory current and peak resident memory, wasm linear memory                     -> MemoryReply
 *   exit   dispose and leave                                                          (no reply)
 */
import type { Direction } from './shapes.js';

export interface SetupRequest {
  readonly op: 'setup';
  /** Implementation id, e.g. `dcnv2-cpu`, `ort-web`. */
  readonly impl: string;
  /** Which adapter runs it (`dcnv2`, `ort-web`, `torchvision`, ...): see impls.ts. */
  readonly adapter: string;
  /** For dcnv2 backends: the module file exporting `dcnBackend`. */
  readonly module?: string;
  readonly threads: number;
  readonly direction: Direction;
  readonly caseFile: string;
}

export interface CheckRequest {
  readonly op: 'check';
  readonly outFile: string;
}

export interface RunRequest {
  readonly op: 'run';
  readonly count: number;
}

export interface MemoryRequest {
  readonly op: 'memory';
}

export interface ExitRequest {
  readonly op: 'exit';
}

export type Request = SetupRequest | CheckRequest | RunRequest | MemoryRequest | ExitRequest;

export interface MemorySnapshot {
  /** Resident set size now, bytes. */
  readonly rssBytes: number;
  /** Peak resident set size of the process so far (getrusage maxrss), bytes. */
  readonly peakRssBytes: number;
  /** Total size of the WebAssembly memories the process created; null where it has none. */
  readonly wasmBytes: number | null;
}

/** A worker that cannot run what was asked (no backward, unsupported parameters, runtime missing). */
export interface SkipReply {
  readonly ok: false;
  readonly skip: string;
}

/** A worker that failed (a crash, an exception): reported as an error, never as a result. */
export interface ErrorReply {
  readonly ok: false;
  readonly error: string;
}

export interface SetupReply {
  readonly ok: true;
  /** What ran, with versions: `onnxruntime-web 1.30.0 (wasm, simd-threaded)`. */
  readonly version: string;
  /** The thread count actually used (a single-threaded implementation reports 1 whatever was asked). */
  readonly threads: number;
  /** Whether the working memory is wasm linear memory (then `wasmBytes` growth is the op's own memory). */
  readonly wasm: boolean;
  readonly memory: MemorySnapshot;
}

export interface CheckReply {
  readonly ok: true;
  /** Names of the tensors written: `output`, and for fwdbwd `grad_input`, ... */
  readonly tensors: readonly string[];
}

export interface RunReply {
  readonly ok: true;
  readonly timesMs: readonly number[];
}

export interface MemoryReply {
  readonly ok: true;
  readonly memory: MemorySnapshot;
}

export type FailedReply = SkipReply | ErrorReply;
export type Reply = SetupReply | CheckReply | RunReply | MemoryReply | FailedReply;

export function isFailed(r: Reply): r is FailedReply {
  return r.ok === false;
}
