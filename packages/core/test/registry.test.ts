import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, disposeAll, getBackend, getBackendName, listBackends, ready, registerBackend, removeBackend, setBackend } from '../src/index.js';
import { FakeBackend } from './fake-backend.js';

afterEach(() => disposeAll());

describe('backend registry', () => {
  it('registers lazily, initialises once, and lists by priority', async () => {
    let created = 0;
    registerBackend('a', () => (created++, new FakeBackend('a')));
    registerBackend('b', () => new FakeBackend('b'), { priority: 10 });
    expect(created).toBe(0);
    expect(listBackends()).toEqual(['b', 'a']);
    const [x, y] = await Promise.all([setBackend('a'), ready('a')]);
    expect(x).toBe(y);
    expect(created).toBe(1);
    expect((x as FakeBackend).initCalls).toBe(1);
    expect(getBackend()).toBe(x);
    expect(getBackendName()).toBe('a');
    expect(getBackend('a')).toBe(x);
  });

  it('getBackend without any ready backend throws a BackendError', () => {
    expect(() => getBackend()).toThrow(BackendError);
    registerBackend('late', () => new FakeBackend('late'));
    expect(() => getBackend('late')).toThrow(/initialised/);
  });

  it('falls back to the ready backend of highest priority when none was set', async () => {
    registerBackend('lo', () => new FakeBackend('lo'), { priority: 1 });
    registerBackend('hi', () => new FakeBackend('hi'), { priority: 5 });
    await ready('lo');
    expect(getBackend().name).toBe('lo');
    await ready('hi');
    expect(getBackend().name).toBe('hi');
  });

  it('unknown names list the known ones', async () => {
    registerBackend('cpu', () => new FakeBackend('cpu'));
    await expect(setBackend('gpu')).rejects.toThrow(/backend: expected one of "cpu", got "gpu"/);
    expect(() => getBackend('gpu')).toThrow(BackendError);
  });

  it('refuses a duplicate name unless replace is set, and disposes the replaced instance', async () => {
    const first = new FakeBackend('x');
    registerBackend('x', () => first);
    await ready('x');
    expect(() => registerBackend('x', () => new FakeBackend('x'))).toThrow(/not registered yet/);
    registerBackend('x', () => new FakeBackend('x'), { replace: true });
    expect(first.disposed).toBe(true);
    expect(await ready('x')).not.toBe(first);
  });

  it('a failing init surfaces as BackendError with the cause, and can be retried', async () => {
    let attempts = 0;
    registerBackend('flaky', () => {
      attempts++;
      const b = new FakeBackend('flaky');
      if (attempts === 1) b.init = async () => { throw new Error('no adapter'); };
      return b;
    });
    const err = await setBackend('flaky').catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toMatch(/no adapter/);
    expect((await setBackend('flaky')).name).toBe('flaky');
  });

  it('removeBackend and disposeAll dispose instances', async () => {
    const b = new FakeBackend('gone');
    registerBackend('gone', () => b);
    await setBackend('gone');
    await removeBackend('gone');
    expect(b.disposed).toBe(true);
    expect(listBackends()).toEqual([]);
    expect(() => getBackend()).toThrow(BackendError);
  });

  it('rejects bad names and factories', () => {
    expect(() => registerBackend('', () => new FakeBackend())).toThrow(BackendError);
    expect(() => registerBackend('z', 3 as never)).toThrow(/a function returning a Backend/);
  });
});
