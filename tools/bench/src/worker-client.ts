/**
 * The coordinator's end of a worker process: starts it (a forked Node worker, or the Python worker over
 * stdin/stdout), sends one request at a time and waits for its reply, with a time limit. A worker that dies or
 * hangs turns into a rejected request carrying the tail of its stderr, never into a hung benchmark.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Reply, Request } from './protocol.js';

export interface WorkerClient {
  readonly pid: number | undefined;
  /** Sends a request and resolves with its reply; rejects if the worker exits or `timeoutMs` passes (then it is killed). */
  request(req: Request, timeoutMs: number): Promise<Reply>;
  /** Asks the worker to leave, and kills it if it has not after a grace period. */
  close(): Promise<void>;
}

export class WorkerError extends Error {
  override readonly name = 'WorkerError';
}

const STDERR_TAIL_BYTES = 4000;

/** Path of the Node worker entry (next to this file in dist/). */
export function nodeWorkerPath(): string {
  return fileURLToPath(new URL('./worker.js', import.meta.url));
}

/** Path of the Python worker script shipped with the package. */
export function pythonWorkerPath(): string {
  return fileURLToPath(new URL('../python/torch_worker.py', import.meta.url));
}

class Client implements WorkerClient {
  #child: ChildProcess;
  #label: string;
  #stderr = '';
  #exited: string | null = null;
  #pending: { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  #send: (req: Request) => void;

  constructor(child: ChildProcess, label: string, send: (req: Request) => void) {
    this.#child = child;
    this.#label = label;
    this.#send = send;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    // Worker stdout is library chatter at best (the Python worker keeps its protocol on its own descriptor of
    // stdout and redirects the rest): drain it so the pipe never fills.
    child.on('exit', (code, signal) => {
      this.#exited = signal !== null ? `killed by ${signal}` : `exited with status ${code}`;
      this.#fail(new WorkerError(`${this.#label} worker ${this.#exited}${this.#tail()}`));
    });
    child.on('error', (e) => {
      this.#exited = `failed: ${e.message}`;
      this.#fail(new WorkerError(`${this.#label} worker failed to start: ${e.message}`));
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  #tail(): string {
    const t = this.#stderr.trim();
    return t === '' ? '' : `; its stderr ended with:\n${t}`;
  }

  #fail(e: Error): void {
    const p = this.#pending;
    if (p === null) return;
    this.#pending = null;
    clearTimeout(p.timer);
    p.reject(e);
  }

  /** Called by the transport with each reply. */
  deliver(reply: Reply): void {
    const p = this.#pending;
    if (p === null) return; // a reply nobody waits for (after a timeout): drop it
    this.#pending = null;
    clearTimeout(p.timer);
    p.resolve(reply);
  }

  request(req: Request, timeoutMs: number): Promise<Reply> {
    if (this.#exited !== null) return Promise.reject(new WorkerError(`${this.#label} worker ${this.#exited}${this.#tail()}`));
    if (this.#pending !== null) return Promise.reject(new WorkerError(`${this.#label} worker: a request is already in flight`));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new WorkerError(`${this.#label} worker did not answer ${req.op} within ${Math.round(timeoutMs / 1000)} s${this.#tail()}`));
        this.#child.kill('SIGKILL');
      }, timeoutMs);
      this.#pending = { resolve, reject, timer };
      try {
        this.#send(req);
      } catch (e) {
        this.#fail(new WorkerError(`${this.#label} worker: cannot send ${req.op}: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  async close(): Promise<void> {
    if (this.#exited !== null) return;
    const gone = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    try {
      this.#send({ op: 'exit' });
    } catch {
      // the channel is already closed
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/** A forked Node worker (dist/worker.js) talking over the IPC channel. */
export function startNodeWorker(label: string): WorkerClient {
  // --expose-gc: the worker collects garbage after setup so its memory baseline is clean (see worker.ts).
  const child = fork(nodeWorkerPath(), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json', execArgv: ['--expose-gc'] });
  child.stdout?.resume();
  const client = new Client(child, label, (req) => {
    if (!child.connected) throw new Error('IPC channel closed');
    child.send(req);
  });
  child.on('message', (m) => client.deliver(m as Reply));
  return client;
}

/** The Python worker (python/torch_worker.py) talking JSON lines over stdin/stdout. */
export function startPythonWorker(label: string, python: string): WorkerClient {
  const child = spawn(python, [pythonWorkerPath()], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  const client = new Client(child, label, (req) => {
    if (child.stdin === null || child.stdin.destroyed) throw new Error('stdin closed');
    child.stdin.write(`${JSON.stringify(req)}\n`);
  });
  child.stdin?.on('error', () => undefined); // a dead worker surfaces through 'exit'
  let buffer = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line === '') continue;
      try {
        client.deliver(JSON.parse(line) as Reply);
      } catch {
        client.deliver({ ok: false, error: `unparseable reply from the Python worker: ${line.slice(0, 200)}` });
      }
    }
  });
  return client;
}
