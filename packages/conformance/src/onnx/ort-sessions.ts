/**
 * The session cache of an onnxruntime-web runner: one session per model key, created on first use (a
 * session that fails to create is dropped, so a later run tries again), and runs one at a time, since
 * onnxruntime-web does not allow overlapping runs of one session.
 */
import type { InferenceSession as OrtInferenceSession } from 'onnxruntime-web';

type Ort = typeof import('onnxruntime-web');

export class OrtSessions {
  private readonly sessions = new Map<string, Promise<OrtInferenceSession>>();
  private queue: Promise<unknown> = Promise.resolve();

  /** Number of cached sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** The session of `key`, created from `model()` on the wasm backend the first time. */
  session(ort: Ort, key: string, model: () => Uint8Array): Promise<OrtInferenceSession> {
    let s = this.sessions.get(key);
    if (s === undefined) {
      const created = ort.InferenceSession.create(model(), { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      this.sessions.set(key, created);
      created.catch(() => {
        if (this.sessions.get(key) === created) this.sessions.delete(key);
      });
      s = created;
    }
    return s;
  }

  /** Runs `run` after every run queued before it (whether that one succeeded or not). */
  serialise<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Releases every cached session, after the queued runs; the cache stays usable. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await this.queue;
    await Promise.all(
      all.map(async (p) => {
        try {
          await (await p).release();
        } catch {
          // a session that failed to create has nothing to release
        }
      }),
    );
  }
}
