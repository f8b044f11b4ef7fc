/**
 * A first-fit allocator with coalescing over the WebAssembly memory, driven from JS: tensors, job blocks,
 * packed weights and workspaces all live here. The memory grows on demand up to `maxBytes`; a request
 * that cannot fit throws LimitError and changes nothing. Freed blocks coalesce with their neighbours, and
 * a free block at the top lowers the top, so a steady workload reuses the same addresses call after call
 * (memory never grows after the first call of a given shape).
 */
import { LimitError } from '@dcnv2/core';

const ALIGN = 16;
const PAGE = 65536;

interface Block {
  ptr: number;
  size: number;
}

export class Heap {
  /** Free blocks below `top`, sorted by address, never adjacent (coalesced). */
  #free: Block[] = [];
  #top: number;
  #inUse = 0;
  readonly base: number;

  constructor(readonly memory: WebAssembly.Memory, base: number, readonly maxBytes: number) {
    this.base = align(base);
    this.#top = this.base;
  }

  /** Bytes currently allocated. */
  get inUse(): number {
    return this.#inUse;
  }
  /** End of the highest block ever in use that is still allocated or free below it. */
  get top(): number {
    return this.#top;
  }
  /** Current size of the memory in bytes. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes that could still be allocated if fragmentation allowed (an upper bound). */
  get available(): number {
    return this.maxBytes - this.#inUse - this.base;
  }

  /** Allocates `bytes` (rounded up to 16); throws LimitError when it cannot fit under maxBytes. */
  alloc(bytes: number, what = 'allocation'): number {
    const size = Math.max(ALIGN, align(bytes));
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i];
      if (b.size >= size) {
        const ptr = b.ptr;
        if (b.size === size) this.#free.splice(i, 1);
        else {
          b.ptr += size;
          b.size -= size;
        }
        this.#inUse += size;
        return ptr;
      }
    }
    const ptr = this.#top;
    const end = ptr + size;
    if (!Number.isSafeInteger(end) || end > this.maxBytes) {
      throw new LimitError({
        argument: what,
        expected: `at most ${this.maxBytes - this.base - this.#inUse} more bytes of wasm memory (the limit, options.maxMemoryBytes, is ${this.maxBytes})`,
        actual: `${bytes} bytes`,
      });
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // One growth to the size needed (not page by page): the engine reserves or moves the memory once.
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        throw new LimitError({
          argument: what,
          expected: `wasm memory the engine can grow to ${have + pages * PAGE} bytes (options.maxMemoryBytes is ${this.maxBytes})`,
          actual: `a failed growth by ${pages} pages of 64 KiB`,
        });
      }
    }
    this.#top = end;
    this.#inUse += size;
    return ptr;
  }

  free(ptr: number, bytes: number): void {
    const size = Math.max(ALIGN, align(bytes));
    this.#inUse -= size;
    let block: Block = { ptr, size };
    // Insert sorted, coalesce with neighbours.
    let lo = 0;
    let hi = this.#free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#free[mid].ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    const prev = lo > 0 ? this.#free[lo - 1] : undefined;
    const next = lo < this.#free.length ? this.#free[lo] : undefined;
    if (prev !== undefined && prev.ptr + prev.size === ptr) {
      prev.size += size;
      block = prev;
      lo--;
    } else {
      this.#free.splice(lo, 0, block);
    }
    if (next !== undefined && block.ptr + block.size === next.ptr) {
      block.size += next.size;
      this.#free.splice(lo + 1, 1);
    }
    if (block.ptr + block.size === this.#top) {
      this.#top = block.ptr;
      this.#free.splice(lo, 1);
    }
  }
}

export function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
