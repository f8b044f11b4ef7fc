/**
 * Environment probing without Node-only static imports: Node built-ins are reached through dynamic
 * imports of a computed specifier (bundlers leave them alone and the browser never executes them).
 */

interface NodeProcess {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
}
const proc = (globalThis as { process?: NodeProcess }).process;

export const isNode: boolean = typeof proc?.versions?.node === 'string';

/** Imports a Node built-in (`node:fs/promises`, ...) at run time; never called in a browser. */
export function importNode<T>(name: string): Promise<T> {
  const spec = `node:${name}`;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ spec) as Promise<T>;
}

/** Reads an environment variable in Node; undefined elsewhere. */
export function envVar(name: string): string | undefined {
  if (!isNode) return undefined;
  const v = proc?.env?.[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Logical cores available to this process or page (1 when unknown). */
export async function hardwareThreads(): Promise<number> {
  if (isNode) {
    const os = await importNode<{ availableParallelism?: () => number; cpus: () => unknown[] }>('os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, hc ?? 1);
}

/**
 * A tiny module using f32x4.relaxed_madd: (func (param v128 v128 v128) (result v128) local.get 0..2
 * f32x4.relaxed_madd). `WebAssembly.validate` on it says whether relaxed SIMD is available.
 */
const RELAXED_PROBE = /* @__PURE__ */ new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/** (func (result v128) v128.const 0): SIMD128. */
const SIMD_PROBE = /* @__PURE__ */ new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
]);

export function hasSimd(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

let relaxedFlagTried = false;

/**
 * Whether relaxed SIMD validates here. On Node 20 it is behind `--experimental-wasm-relaxed-simd`, which
 * NODE_OPTIONS refuses; setting it through `v8.setFlagsFromString` before compiling works, so Node gets
 * one attempt at that first.
 */
export async function hasRelaxedSimd(): Promise<boolean> {
  if (WebAssembly.validate(RELAXED_PROBE)) return true;
  if (isNode && !relaxedFlagTried) {
    relaxedFlagTried = true;
    try {
      const v8 = await importNode<{ setFlagsFromString(f: string): void }>('v8');
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      return false;
    }
    return WebAssembly.validate(RELAXED_PROBE);
  }
  return false;
}

/** Shared WebAssembly memory and workers can be used: SharedArrayBuffer exists (cross-origin isolated page). */
export function canShareMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown };
  if (!isNode && (g.crossOriginIsolated === false || typeof g.Worker !== 'function')) return false;
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}
