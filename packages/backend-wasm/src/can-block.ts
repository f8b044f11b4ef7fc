/**
 * Whether this thread may block in `Atomics.wait`, which blocking mode (`options.blocking`) needs: allowed
 * on Node's main thread and worker threads and in a browser's Web Workers, refused on a browser's main
 * thread (and some other agents) with a TypeError. There is no flag to read, so it is probed: a wait on a
 * word whose value differs from the expected one returns "not-equal" at once where waiting is allowed, and
 * throws where it is not (the spec checks that the agent can suspend before it compares the value).
 *
 * The probe calls the global `Atomics.wait` at init (not a copy taken at load), so a test can stand in for
 * an agent that cannot block by replacing it.
 */

/** Null where this thread can block; otherwise why not, in words. */
export function whyCannotBlock(): string | null {
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available (a page that is not cross-origin isolated)';
  if (typeof Atomics === 'undefined' || typeof Atomics.wait !== 'function') return 'Atomics.wait is not available';
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
  } catch (e) {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return `Atomics.wait throws on this thread (${what}); a browser's main thread cannot block, a Web Worker can`;
  }
  return null;
}
