/**
 * Inputs an attacker (or a careless caller) can hand to the public ops: objects whose getters answer
 * differently on a second read, Proxies, Float32Array subclasses that lie about their length, data in
 * shared memory, and objects that only look like resident tensors. Each returns a fresh object, so probes
 * can mutate what they got without touching another probe's data.
 */
import type { HostTensor, ResidentTensor } from '@dcnv2/core';

/** A host tensor over a copy of `data`. */
export function hostCopy(shape: readonly number[], data: Float32Array): { shape: number[]; data: Float32Array } {
  return { shape: [...shape], data: data.slice() };
}

/**
 * A tensor whose `data` getter returns the right array on the first read and a one-element NaN array on
 * every later read: an op that reads `data` twice (validate, then upload) runs on what it did not check.
 */
export function dataGetterThatChanges(shape: readonly number[], data: Float32Array): HostTensor {
  let reads = 0;
  const good = data.slice();
  return {
    shape: [...shape],
    get data(): Float32Array {
      return reads++ === 0 ? good : new Float32Array(1).fill(NaN);
    },
  };
}

/**
 * A tensor whose `shape` is a Proxy: the first read of each index gives the true dimension, later reads
 * of index 0 give it plus 7 (as if a batch of 8 came where 1 was checked).
 */
export function shapeProxyThatChanges(shape: readonly number[], data: Float32Array): HostTensor {
  const seen = new Set<PropertyKey>();
  const target = [...shape];
  const proxy = new Proxy(target, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver) as unknown;
      if (key === '0') {
        if (seen.has(key)) return (v as number) + 7;
        seen.add(key);
      }
      return v;
    },
  });
  return { shape: proxy, data: data.slice() };
}

/** A Float32Array subclass whose `length` claims 2^31 elements (its real length is right). */
export class LongLyingFloat32Array extends Float32Array {
  override get length(): number {
    return 2 ** 31;
  }
}

/** A Float32Array subclass one element short that claims the length of the shape. */
export class ShortLyingFloat32Array extends Float32Array {
  claimed = 0;
  override get length(): number {
    return this.claimed;
  }
}

export function shortLying(data: Float32Array): ShortLyingFloat32Array {
  const a = new ShortLyingFloat32Array(data.subarray(0, Math.max(0, data.length - 1)));
  a.claimed = data.length;
  return a;
}

export function longLying(data: Float32Array): LongLyingFloat32Array {
  return new LongLyingFloat32Array(data);
}

/** A Proxy around a real Float32Array (`instanceof Float32Array` is true for it). */
export function proxyData(data: Float32Array): Float32Array {
  return new Proxy(data.slice(), {});
}

/** A copy of `data` in a SharedArrayBuffer (as a worker or a WebAssembly.Memory would hand out). */
export function sharedCopy(data: Float32Array): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(Math.max(4, data.byteLength)), 0, data.length);
  a.set(data);
  return a;
}

/**
 * An object with every field of a resident tensor, optionally carrying a real handle of a real resident
 * tensor: only tensors that core made may reach a kernel.
 */
export function forgedResident(like: { shape: readonly number[]; backend: string; handle?: unknown }, data: Float32Array): ResidentTensor {
  return {
    kind: 'resident',
    shape: [...like.shape],
    backend: like.backend,
    handle: like.handle ?? { ptr: 64, length: data.length, buffer: data, data },
    disposed: false,
    read: async () => data.slice(),
    dispose: () => {},
  };
}

/** Overwrites every element (the caller changing its data right after the call returned its promise). */
export function scribble(data: Float32Array, value: number): void {
  data.fill(value);
}
