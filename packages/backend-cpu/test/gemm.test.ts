/** The blocked GEMM against a naive triple loop: odd sizes, every stride layout, block-boundary sizes. */
import { describe, expect, it } from 'vitest';
import { gemm, GemmScratch, type MatView } from '../src/gemm.js';
import { KC, MC, NC } from '../src/gemm.js';
import { rng, worstViolation } from './helpers.js';

function naive(M: number, N: number, K: number, A: MatView, B: MatView, C: Float64Array, ldc: number, cOff: number, accumulate: boolean): void {
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = accumulate ? C[cOff + i * ldc + j] : 0;
      for (let k = 0; k < K; k++) s += A.data[A.offset + i * A.rs + k * A.cs] * B.data[B.offset + k * B.rs + j * B.cs];
      C[cOff + i * ldc + j] = s;
    }
}

/** A view of an M x K matrix stored row-major or transposed, after `pad` leading elements. */
function view(rows: number, cols: number, transposed: boolean, pad: number, r: () => number): MatView {
  const data = new Float32Array(pad + rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = r() * 2 - 1;
  return transposed ? { data, offset: pad, rs: 1, cs: rows } : { data, offset: pad, rs: cols, cs: 1 };
}

describe('gemm', () => {
  const s = new GemmScratch();
  const sizes: [number, number, number][] = [
    [1, 1, 1], [3, 5, 7], [5, 3, 1], [7, 13, 11], [4, 8, 16], [13, 17, 19], [67, 37, 29],
    [MC + 3, NC + 5, KC + 7], [2 * MC - 1, 9, 2 * KC + 1], [1, 2 * NC + 3, 3],
  ];
  let seed = 1;
  for (const [M, N, K] of sizes) {
    for (const aT of [false, true]) {
      for (const bT of [false, true]) {
        it(`${M}x${K} (${aT ? 'T' : 'N'}) x ${K}x${N} (${bT ? 'T' : 'N'})`, () => {
          const r = rng(seed++);
          const A = view(M, K, aT, 3, r);
          const B = view(K, N, bT, 5, r);
          const ldc = N + 2;
          const cOff = 4;
          const C = new Float32Array(cOff + M * ldc);
          for (let i = 0; i < C.length; i++) C[i] = r() - 0.5;
          const want = Float64Array.from(C);
          const accumulate = (M + N) % 2 === 0;
          gemm(M, N, K, A, B, C, cOff, ldc, accumulate, s);
          naive(M, N, K, A, B, want, ldc, cOff, accumulate);
          expect(worstViolation(C, want, { atol: 1e-5 * Math.sqrt(K), rtol: 1e-5 })).toBeNull();
          // Elements between rows (ldc > N) and before cOff are untouched.
          for (let i = 0; i < cOff; i++) expect(C[i]).toBe(Math.fround(want[i]));
          for (let i = 0; i < M; i++) for (let j = N; j < ldc; j++) expect(C[cOff + i * ldc + j]).toBe(Math.fround(want[cOff + i * ldc + j]));
        });
      }
    }
  }

  it('accumulate=false overwrites C (including NaN left in it)', () => {
    const r = rng(99);
    const A = view(5, 6, false, 0, r);
    const B = view(6, 9, false, 0, r);
    const C = new Float32Array(5 * 9).fill(NaN);
    gemm(5, 9, 6, A, B, C, 0, 9, false, s);
    const want = new Float64Array(5 * 9);
    naive(5, 9, 6, A, B, want, 9, 0, false);
    expect(worstViolation(C, want, { atol: 1e-6, rtol: 1e-5 })).toBeNull();
  });

  it('propagates NaN and Inf as arithmetic does', () => {
    const M = 6, N = 10, K = 5;
    const A = { data: new Float32Array(M * K).fill(1), offset: 0, rs: K, cs: 1 };
    const B = { data: new Float32Array(K * N).fill(1), offset: 0, rs: N, cs: 1 };
    A.data[2 * K + 1] = NaN; // row 2 of C is NaN
    B.data[3 * N + 7] = Infinity; // column 7 of C is +Inf ...
    A.data[4 * K + 3] = 0; // ... except row 4, where 0 * Inf = NaN
    A.data[5 * K + 3] = -1; // and row 5: -Inf
    const C = new Float32Array(M * N);
    gemm(M, N, K, A, B, C, 0, N, false, s);
    const want = new Float64Array(M * N);
    naive(M, N, K, A, B, want, N, 0, false);
    expect(worstViolation(C, want, { atol: 1e-6, rtol: 1e-6 })).toBeNull();
    expect(Number.isNaN(C[2 * N])).toBe(true);
    expect(C[0 * N + 7]).toBe(Infinity);
    expect(Number.isNaN(C[4 * N + 7])).toBe(true);
    expect(C[5 * N + 7]).toBe(-Infinity);
    expect(C[0]).toBe(5);
  });

  it('does nothing for empty M or N, and zeroes C for K = 0 without accumulate', () => {
    const C = new Float32Array(6).fill(7);
    const E = { data: new Float32Array(0), offset: 0, rs: 0, cs: 1 };
    gemm(0, 3, 2, E, E, C, 0, 3, false, s);
    gemm(2, 0, 2, E, E, C, 0, 3, false, s);
    expect([...C]).toEqual([7, 7, 7, 7, 7, 7]);
    gemm(2, 3, 0, E, E, C, 0, 3, true, s);
    expect([...C]).toEqual([7, 7, 7, 7, 7, 7]);
    gemm(2, 3, 0, E, E, C, 0, 3, false, s);
    expect([...C]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
