/**
 * Backend registry: backends register a factory by name; the first `setBackend`/`ready` creates and
 * initialises it once. The registry is a module singleton shared by every op in the process.
 */
import type { Backend } from './backend.js';
import { BackendError, DisposedError } from './errors.js';

export type BackendFactory = () => Backend | Promise<Backend>;

interface Entry {
  readonly factory: BackendFactory;
  readonly priority: number;
  instance?: Backend;
  pending?: Promise<Backend>;
}

const entries = new Map<string, Entry>();
let current: string | null = null;

export interface RegisterOptions {
  /** Higher is preferred when no backend was set explicitly. Default 0. */
  readonly priority?: number;
  /** Replace an existing registration (disposing its instance). Default false: re-registering throws. */
  readonly replace?: boolean;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new BackendError({ argument: 'name', expected: 'a non-empty string', actual: name });
  }
}

function unknownBackend(name: string): BackendError {
  const known = [...entries.keys()];
  return new BackendError({
    argument: 'backend',
    expected: known.length ? `one of ${known.map((k) => JSON.stringify(k)).join(', ')}` : 'a registered backend (none is registered: import one, e.g. @dcnv2/backend-cpu, and call registerBackend)',
    actual: name,
  });
}

/** Registers a backend factory under `name`. Creation is lazy. */
export function registerBackend(name: string, factory: BackendFactory, options: RegisterOptions = {}): void {
  checkName(name);
  if (typeof factory !== 'function') {
    throw new BackendError({ argument: 'factory', expected: 'a function returning a Backend', actual: factory });
  }
  const old = entries.get(name);
  if (old && !options.replace) {
    throw new BackendError({ argument: 'name', expected: 'a name not registered yet (pass { replace: true } to replace)', actual: name });
  }
  if (old?.instance) void old.instance.dispose();
  entries.set(name, { factory, priority: options.priority ?? 0 });
}

/** Names of the registered backends, most preferred first. */
export function listBackends(): string[] {
  return [...entries.entries()].sort((a, b) => b[1].priority - a[1].priority).map(([k]) => k);
}

/** Creates (once) and initialises the backend `name`. */
export async function ready(name: string): Promise<Backend> {
  checkName(name);
  const e = entries.get(name);
  if (!e) throw unknownBackend(name);
  if (e.instance) return e.instance;
  if (!e.pending) {
    e.pending = (async () => {
      let b: Backend;
      try {
        b = await e.factory();
        await b.init();
      } catch (err) {
        e.pending = undefined;
        if (err instanceof BackendError) throw err;
        const be = new BackendError({ argument: 'backend', expected: 'a backend that initialises', actual: name }, String((err as Error)?.message ?? err));
        (be as { cause?: unknown }).cause = err;
        throw be;
      }
      if (entries.get(name) !== e) {
        await b.dispose();
        throw new DisposedError({ argument: 'backend', expected: 'a backend still registered', actual: name });
      }
      e.instance = b;
      return b;
    })();
  }
  return e.pending;
}

/** Makes `name` the default backend of every op, initialising it. */
export async function setBackend(name: string): Promise<Backend> {
  const b = await ready(name);
  current = name;
  return b;
}

/**
 * The initialised backend `name`, or the current default: the one set with `setBackend`, else the
 * initialised backend of highest priority. Throws `BackendError` when none is ready.
 */
export function getBackend(name?: string): Backend {
  if (name !== undefined) {
    checkName(name);
    const e = entries.get(name);
    if (!e) throw unknownBackend(name);
    if (!e.instance) {
      throw new BackendError({ argument: 'backend', expected: `an initialised backend (await setBackend(${JSON.stringify(name)}) or ready() first)`, actual: name });
    }
    return e.instance;
  }
  if (current !== null && entries.get(current)?.instance) return entries.get(current)!.instance!;
  for (const n of listBackends()) {
    const inst = entries.get(n)!.instance;
    if (inst) return inst;
  }
  throw new BackendError({ argument: 'backend', expected: 'a backend set with setBackend()', actual: current ?? 'none' });
}

/** Name of the current default backend, or null. */
export function getBackendName(): string | null {
  return current;
}

/** Disposes the backend `name` and removes its registration. */
export async function removeBackend(name: string): Promise<void> {
  const e = entries.get(name);
  if (!e) return;
  entries.delete(name);
  if (current === name) current = null;
  const inst = e.instance ?? (e.pending ? await e.pending.catch(() => undefined) : undefined);
  if (inst) await inst.dispose();
}

/** Disposes every backend and clears the registry (workers, devices and pools are released). */
export async function disposeAll(): Promise<void> {
  const names = [...entries.keys()];
  for (const n of names) await removeBackend(n);
}
