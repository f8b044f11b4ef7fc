// Shared by the wasm and webgpu pages: a deterministic problem, the comparison with the cpu backend's result,
// and the report the test reads (window.__smoke, also printed as one `SMOKE {...}` console line).

/** mulberry32: the same pseudo-random floats in every build. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tensor(shape, next, lo, hi) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * next();
  return { shape, data };
}

/**
 * 2 x 32 x 48 x 48 input, 32 x 32 x 3 x 3 weight, padding 1: 72 chunks of work (2 images x 36 tiles of 64
 * pixels) on the wasm backend, so both of its threads take some; offsets up to +-2.5 pixels, a mask and a bias.
 */
export function problem() {
  const next = rng(20240611);
  const N = 2, C = 32, H = 48, W = 48, Cout = 32, K = 9;
  return {
    args: {
      input: tensor([N, C, H, W], next, -1, 1),
      weight: tensor([Cout, C, 3, 3], next, -0.25, 0.25),
      offset: tensor([N, 2 * K, H, W], next, -2.5, 2.5),
      mask: tensor([N, K, H, W], next, 0, 1),
      bias: tensor([Cout], next, -1, 1),
    },
    params: { padding: 1 },
  };
}

/** Largest absolute difference between `got` and the reference `want`, and the reference's magnitude. */
export function compare(got, want) {
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  let firstBad = -1;
  if (got.length !== want.length) return { maxAbsDiff: Infinity, maxAbsRef: NaN, detail: `length ${got.length} != ${want.length}` };
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= maxAbsDiff)) {
      maxAbsDiff = Number.isNaN(d) ? Infinity : d;
      if (firstBad < 0 && !(d <= 1e-3)) firstBad = i;
    }
    maxAbsRef = Math.max(maxAbsRef, Math.abs(want[i]));
  }
  return { maxAbsDiff, maxAbsRef, detail: firstBad < 0 ? null : `index ${firstBad}: ${got[firstBad]} vs ${want[firstBad]}` };
}

/**
 * Counts the Workers the page creates (and their script URLs, as the bundler rewrote them), without
 * changing what they do: an independent check that the wasm backend's second thread is a real worker.
 */
export function watchWorkers() {
  const stats = { created: 0, scripts: [] };
  const Native = globalThis.Worker;
  if (typeof Native !== 'function') return stats;
  globalThis.Worker = class extends Native {
    constructor(url, options) {
      super(url, options);
      stats.created++;
      const s = String(url);
      stats.scripts.push(s.length > 120 ? `${s.slice(0, 120)}...` : s);
    }
  };
  return stats;
}

/** Runs `body` and publishes its outcome for the test. */
export function report(backend, body) {
  const started = performance.now();
  const publish = (r) => {
    globalThis.__smoke = r;
    console.log(`SMOKE ${JSON.stringify(r)}`);
  };
  body().then(
    (r) => publish({ ok: true, backend, ms: Math.round(performance.now() - started), ...r }),
    (e) => {
      const cause = e?.cause ? ` (cause: ${e.cause?.stack ?? e.cause})` : '';
      publish({ ok: false, backend, error: `${e?.stack ?? e}${cause}` });
    },
  );
}
