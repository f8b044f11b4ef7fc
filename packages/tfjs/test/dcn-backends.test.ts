/**
 * Which dcnv2 backend serves tfjs wasm: in Node the wasm backend on every core with blocking (synchronous)
 * threaded calls; where the thread may not block (a browser's main thread: simulated by an Atomics.wait
 * that throws, as it does there), the wasm backend on one thread. Either way the kernels answer
 * synchronously, and `setDcnv2Backend` refuses a backend whose threads answer with promises.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createWasmBackend } from '@dcnv2/backend-wasm';
import { BackendError } from '@dcnv2/core';
import { afterAll, describe, expect, it } from 'vitest';
import { deformConv2d, disposeDcnv2Backends, prepareDcnv2, setDcnv2Backend } from '../src/index.js';
import { useBackend } from './tfjs-setup.js';

type WasmInfo = { info: { threads: number; synchronous: boolean } };

const call = () => tf.tidy(() => deformConv2d({ input: tf.ones([1, 4, 4, 2]), weight: tf.ones([1, 1, 2, 3]), offset: tf.zeros([1, 4, 4, 2]) }).dataSync());

describe('the dcnv2 backend of tfjs wasm', () => {
  afterAll(async () => {
    await disposeDcnv2Backends();
    await useBackend('cpu');
  });

  it('in Node: every core, blocking threaded calls', async () => {
    await disposeDcnv2Backends();
    await useBackend('wasm');
    const b = (await prepareDcnv2('wasm')) as unknown as WasmInfo;
    expect(b.info.synchronous).toBe(true);
    expect(b.info.threads).toBeGreaterThanOrEqual(Math.min(2, (await import('node:os')).availableParallelism()));
    expect([...call()]).toEqual(new Array(48).fill(2));
  });

  it('where the thread cannot block: one thread', async () => {
    await disposeDcnv2Backends();
    const wait = Atomics.wait;
    Atomics.wait = () => {
      throw new TypeError('Atomics.wait cannot be called in this context');
    };
    let b: WasmInfo;
    try {
      b = (await prepareDcnv2('wasm')) as unknown as WasmInfo;
    } finally {
      Atomics.wait = wait;
    }
    expect(b.info.threads).toBe(1);
    expect(b.info.synchronous).toBe(true);
    expect([...call()]).toEqual(new Array(48).fill(2));
  });

  it('setDcnv2Backend refuses a wasm backend whose threads answer with promises', async () => {
    const async2 = createWasmBackend({ threads: 2 });
    await async2.init();
    try {
      expect(() => setDcnv2Backend('wasm', async2)).toThrow(BackendError);
    } finally {
      await async2.dispose();
    }
  });
});
