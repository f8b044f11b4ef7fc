/**
 * Single-precision GEMM over Float32Array: C[M,N] += A[M,K] x B[K,N], blocked in the Goto/BLIS way.
 *
 * Why this shape: JavaScript has no SIMD, so the only lever is to keep a register tile of accumulators in
 * locals and feed it from memory that is read strictly sequentially. A and B are therefore copied
 * ("packed") into Float64Array panels: MR rows of A interleaved per k, NR columns of B interleaved per k.
 * Packing into float64 (not float32) matters: every Float32Array load is a float->double conversion, and
 * measured in Node 20 the float64 panels run the micro-kernel about 1.8x faster. The packing also makes
 * transposed or strided operands (W^T, gradOutput rows, col^T) cost nothing extra in the inner loop.
 *
 * Accumulation is in double inside a KC block and rounded to float32 once per block when added to C.
 *
 * Scratch is fixed: MC*KC + KC*NC doubles (see GEMM_SCRATCH_BYTES), whatever M, N and K are.
 */

/** Rows of the register tile. 4x8 = 32 accumulators: the best of the shapes measured (2x8 .. 8x4). */
export const MR = 4;
/** Columns of the register tile. */
export const NR = 8;
/** Rows of A packed at once (multiple of MR): MC*KC doubles = 128 KiB, stays in L2. */
export const MC = 64;
/** Depth of one packed block: a KC*NR micro-panel of B (16 KiB) stays in L1 while A streams past it. */
export const KC = 256;
/** Columns of B packed at once (multiple of NR): KC*NC doubles = 512 KiB. */
export const NC = 256;

/** Bytes of scratch one GemmScratch holds; part of the backend's memory bound. */
export const GEMM_SCRATCH_BYTES = (MC * KC + KC * NC + MR * NR) * 8;

/** Packing buffers, allocated once per backend and reused by every call. */
export class GemmScratch {
  readonly packA = new Float64Array(MC * KC);
  readonly packB = new Float64Array(KC * NC);
  /** Register tile spill for edge tiles (M or N not a multiple of MR / NR). */
  readonly edge = new Float64Array(MR * NR);
}

/**
 * A strided matrix view: element (r, c) is `data[offset + r * rs + c * cs]`. Lets one routine take a
 * row-major matrix, its transpose (swap rs and cs) or a row-strided slice of a bigger tensor.
 */
export interface MatView {
  readonly data: Float32Array;
  readonly offset: number;
  readonly rs: number;
  readonly cs: number;
}

/**
 * C[M,N] (+)= A[M,K] x B[K,N]. C is row-major with row stride `ldc` starting at `cOff`.
 * `accumulate` false overwrites C (zeroing it first), true adds to it. NaN and Inf propagate as
 * arithmetic does: nothing is skipped on a zero operand.
 */
export function gemm(
  M: number,
  N: number,
  K: number,
  A: MatView,
  B: MatView,
  C: Float32Array,
  cOff: number,
  ldc: number,
  accumulate: boolean,
  s: GemmScratch,
): void {
  if (M <= 0 || N <= 0) return;
  if (!accumulate) {
    for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  }
  if (K <= 0) return;
  const pa = s.packA;
  const pb = s.packB;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packB(B, pc, kc, jc, nc, pb);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packA(A, ic, mc, pc, kc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bo = (jr / NR) * kc * NR;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            kernel4x8(kc, pa, (ir / MR) * kc * MR, pb, bo, C, cOff + (ic + ir) * ldc + jc + jr, ldc, mr, nr, s.edge);
          }
        }
      }
    }
  }
}

/**
 * Packs A[ic..ic+mc, pc..pc+kc] as ceil(mc/MR) panels, each `kc` groups of MR values (rows past M are 0).
 * The loop order follows whichever stride of A is 1, so the reads are sequential either way.
 */
function packA(A: MatView, ic: number, mc: number, pc: number, kc: number, out: Float64Array): void {
  const { data, rs, cs } = A;
  const base = A.offset + ic * rs + pc * cs;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = Math.min(MR, mc - ir);
    const o = (ir / MR) * kc * MR;
    if (cs === 1) {
      for (let i = 0; i < mr; i++) {
        const src = base + (ir + i) * rs;
        for (let k = 0; k < kc; k++) out[o + k * MR + i] = data[src + k];
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const src = base + k * cs + ir * rs;
        const d = o + k * MR;
        for (let i = 0; i < mr; i++) out[d + i] = data[src + i * rs];
      }
    }
    for (let i = mr; i < MR; i++) for (let k = 0; k < kc; k++) out[o + k * MR + i] = 0;
  }
}

/** Packs B[pc..pc+kc, jc..jc+nc] as ceil(nc/NR) panels, each `kc` groups of NR values (columns past N are 0). */
function packB(B: MatView, pc: number, kc: number, jc: number, nc: number, out: Float64Array): void {
  const { data, rs, cs } = B;
  const base = B.offset + pc * rs + jc * cs;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    const o = (jr / NR) * kc * NR;
    if (cs === 1) {
      for (let k = 0; k < kc; k++) {
        const src = base + k * rs + jr;
        const d = o + k * NR;
        for (let j = 0; j < nr; j++) out[d + j] = data[src + j];
        for (let j = nr; j < NR; j++) out[d + j] = 0;
      }
    } else {
      for (let j = 0; j < nr; j++) {
        const src = base + (jr + j) * cs;
        for (let k = 0; k < kc; k++) out[o + k * NR + j] = data[src + k * rs];
      }
      for (let j = nr; j < NR; j++) for (let k = 0; k < kc; k++) out[o + k * NR + j] = 0;
    }
  }
}

/**
 * The register-tiled micro-kernel: an MR x NR tile of C += (packed A panel) x (packed B panel) over kc.
 * 32 accumulators live in locals; per k it loads 4 + 8 sequential doubles and does 32 multiply-adds.
 * Edge tiles (mr < MR or nr < NR) compute the full tile on zero-padded panels and store only the valid part.
 */
function kernel4x8(
  kc: number,
  A: Float64Array,
  ao: number,
  B: Float64Array,
  bo: number,
  C: Float32Array,
  co: number,
  ldc: number,
  mr: number,
  nr: number,
  e: Float64Array,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let k = 0; k < kc; k++) {
    const a0 = A[ao], a1 = A[ao + 1], a2 = A[ao + 2], a3 = A[ao + 3];
    const b0 = B[bo], b1 = B[bo + 1], b2 = B[bo + 2], b3 = B[bo + 3], b4 = B[bo + 4], b5 = B[bo + 5], b6 = B[bo + 6], b7 = B[bo + 7];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3; c04 += a0 * b4; c05 += a0 * b5; c06 += a0 * b6; c07 += a0 * b7;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3; c14 += a1 * b4; c15 += a1 * b5; c16 += a1 * b6; c17 += a1 * b7;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3; c24 += a2 * b4; c25 += a2 * b5; c26 += a2 * b6; c27 += a2 * b7;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3; c34 += a3 * b4; c35 += a3 * b5; c36 += a3 * b6; c37 += a3 * b7;
    ao += MR;
    bo += NR;
  }
  if (mr === MR && nr === NR) {
    C[co] += c00; C[co + 1] += c01; C[co + 2] += c02; C[co + 3] += c03; C[co + 4] += c04; C[co + 5] += c05; C[co + 6] += c06; C[co + 7] += c07;
    co += ldc;
    C[co] += c10; C[co + 1] += c11; C[co + 2] += c12; C[co + 3] += c13; C[co + 4] += c14; C[co + 5] += c15; C[co + 6] += c16; C[co + 7] += c17;
    co += ldc;
    C[co] += c20; C[co + 1] += c21; C[co + 2] += c22; C[co + 3] += c23; C[co + 4] += c24; C[co + 5] += c25; C[co + 6] += c26; C[co + 7] += c27;
    co += ldc;
    C[co] += c30; C[co + 1] += c31; C[co + 2] += c32; C[co + 3] += c33; C[co + 4] += c34; C[co + 5] += c35; C[co + 6] += c36; C[co + 7] += c37;
  } else {
    e[0] = c00; e[1] = c01; e[2] = c02; e[3] = c03; e[4] = c04; e[5] = c05; e[6] = c06; e[7] = c07;
    e[8] = c10; e[9] = c11; e[10] = c12; e[11] = c13; e[12] = c14; e[13] = c15; e[14] = c16; e[15] = c17;
    e[16] = c20; e[17] = c21; e[18] = c22; e[19] = c23; e[20] = c24; e[21] = c25; e[22] = c26; e[23] = c27;
    e[24] = c30; e[25] = c31; e[26] = c32; e[27] = c33; e[28] = c34; e[29] = c35; e[30] = c36; e[31] = c37;
    for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++) C[co + i * ldc + j] += e[i * NR + j];
  }
}
