/**
 * Tracks the WebAssembly memories a worker process creates, so that the op's own working memory can be read for
 * wasm implementations (onnxruntime-web, tfjs-backend-wasm, a future @dcnv2/backend-wasm): a wasm module's
 * heap only grows, so its size after the timed runs minus its size after setup is the high-water mark of what
 * the op allocated (scratch, im2col columns, outputs). RSS cannot show this precisely because the whole
 * linear memory is reserved up front and pages are touched lazily.
 *
 * Emscripten builds with threads create their memory in JavaScript (`new WebAssembly.Memory`), others export
 * it from the instance; both paths are wrapped. Must be installed before any runtime is imported.
 */

const memories = new Set<WebAssembly.Memory>();
let installed = false;

function collectExports(exports: WebAssembly.Exports): void {
  for (const v of Object.values(exports)) if (v instanceof WebAssembly.Memory) memories.add(v);
}

function collectResult(r: unknown): void {
  if (r instanceof WebAssembly.Instance) collectExports(r.exports);
  else if (typeof r === 'object' && r !== null && 'instance' in r && (r as { instance: unknown }).instance instanceof WebAssembly.Instance) {
    collectExports((r as { instance: WebAssembly.Instance }).instance.exports);
  }
}

/** Starts tracking; idempotent. */
export function installWasmMemoryProbe(): void {
  if (installed) return;
  installed = true;
  const wasm = WebAssembly as unknown as Record<string, unknown>;

  const OriginalMemory = WebAssembly.Memory;
  // A subclass instance is a genuine WebAssembly.Memory (made by the real constructor), so imports accept it.
  class TrackedMemory extends OriginalMemory {
    constructor(descriptor: WebAssembly.MemoryDescriptor) {
      super(descriptor);
      memories.add(this);
    }
  }
  wasm.Memory = TrackedMemory;

  const OriginalInstance = WebAssembly.Instance;
  class TrackedInstance extends OriginalInstance {
    constructor(module: WebAssembly.Module, imports?: WebAssembly.Imports) {
      super(module, imports);
      collectExports(this.exports);
    }
  }
  wasm.Instance = TrackedInstance;

  for (const name of ['instantiate', 'instantiateStreaming'] as const) {
    const original = wasm[name];
    if (typeof original !== 'function') continue;
    wasm[name] = async function (this: unknown, ...args: unknown[]) {
      const r: unknown = await (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      collectResult(r);
      return r;
    };
  }
}

/** Total byte length of the tracked memories, or null when the process has created none. */
export function wasmMemoryBytes(): number | null {
  if (memories.size === 0) return null;
  let total = 0;
  for (const m of memories) total += m.buffer.byteLength;
  return total;
}
