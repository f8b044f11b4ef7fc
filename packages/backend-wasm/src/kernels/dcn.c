/*
 * dcnv2 WebAssembly kernels: modulated deformable convolution (torchvision.ops.deform_conv2d), forward
 * and backward, float32, SIMD128 (and relaxed-SIMD FMA when built with -DDCN_RELAXED).
 *
 * Freestanding C (no libc): every buffer comes from the JS host, which owns the memory, allocates the
 * tensors and the per-thread workspaces, and hands a job (a ConvJob, generated/jobs.h) to
 * the entry points. A job is cut into chunks (one chunk = one batch image x one tile of output pixels);
 * the host distributes chunk indices to threads dynamically, and each thread passes its own workspace.
 *
 * Semantics mirror packages/backend-cpu (see its src/sampling-plan.ts): float32 coordinates, torchvision's
 * range test for values, none for the coordinate gradient, corners outside the image never read, the
 * mask not folded into the bilinear weights, grad_input scattered with torchvision's |y - yp| < 1 rule.
 */
#include "dcn_simd.h"

/* The job block (ConvJob, pointers are 32-bit): generated from src/job-layout.ts, like the host's offsets. */
#include "generated/jobs.h"

#define C00 1
#define C01 2
#define C10 4
#define C11 8
#define ALL 15
#define IN_RANGE 16

/* GEMM: output rows (channels) per block of the register-blocked product (BLIS's mc). */
#define GEMM_ROW_BLOCK 64

/*
 * Long reductions. A GEMM lane accumulates its dot product in float32, so a chain of n terms is off by up
 * to about n ulps of the running sum, and much worse when the terms are a few ulps of the sum each (a
 * 2000x2000 kernel summed in one chain was 2% off). So no chain is longer than RED_ROWS terms (a normal
 * layer's reduction, Cin*K <= 512 per column block, is never cut, and keeps its bits), the chains' partial
 * sums are added in a 4x8 tile, and when there are more than RED_SUPER of them per output, RED_SUPER at a
 * time are added in a workspace tile first and those sums into the output: three levels of at most 512,
 * 64 and n/32768 terms.
 */
#define RED_ROWS 512
#define RED_SUPER 64

static inline i32 imin(i32 a, i32 b) { return a < b ? a : b; }

/* ---------------------------------------------------------------------------------------------------- */
/* Sampling plan: per (offset group, tap, pixel) of a tile, entry e = tap*pt + p.                       */

typedef struct {
  i32 *base;
  float *w0, *w1, *w2, *w3, *mk;
  u8 *flags;
  /* backward; the coordinate gradients sum over the offset group's channels in double */
  float *fy, *fx;
  double *gy, *gx, *gm;
  u8 *scat;
} Plan;

/* Bytes per plan entry: forward 4 + 5*4 + 1; backward adds 2*4 + 3*8 + 1. Rounded up per array to 16. */
#define PLAN_FWD_BYTES 25
#define PLAN_BWD_BYTES 58

/*
 * Workspace layout, shared by the chunks (which carve their workspace) and the host's sizing calls (which
 * measure it from address 0). Offsets are summed in double: measuring an absurd job returns its true size,
 * which the host refuses against the memory limit, instead of a product wrapped around 2^31; a workspace
 * that was allocated lies in the 32-bit memory, so carving it never leaves the range.
 */
static void *carve(double *p, double bytes) {
  const double r = *p;
  *p += __builtin_ceil(bytes / 16.0) * 16.0;
  /* Only a measuring run gets past 2^32; its pointers are never used (and the conversion stays defined). */
  return (void *)(uintptr_t)(r < 4294967296.0 ? r : 0.0);
}

static void plan_carve(Plan *pl, double *p, double cap, int backward) {
  pl->base = carve(p, cap * 4);
  pl->w0 = carve(p, cap * 4);
  pl->w1 = carve(p, cap * 4);
  pl->w2 = carve(p, cap * 4);
  pl->w3 = carve(p, cap * 4);
  pl->mk = carve(p, cap * 4);
  pl->flags = carve(p, cap);
  if (backward) {
    pl->fy = carve(p, cap * 4);
    pl->fx = carve(p, cap * 4);
    pl->gy = carve(p, cap * 8);
    pl->gx = carve(p, cap * 8);
    pl->gm = carve(p, cap * 8);
    pl->scat = carve(p, cap);
  }
}

static void build_plan(const ConvJob *job, Plan *pl, i32 n, i32 og, i32 p0, i32 pt, int backward) {
  const i32 H = job->H, W = job->W, kh = job->KH, kw = job->KW, Wo = job->WO;
  const i32 K = kh * kw, HoWo = job->HO * Wo, OG = job->OG;
  const float *offset = (const float *)(uintptr_t)job->offset;
  const float *mask = (const float *)(uintptr_t)job->mask;
  const float *offBase = offset + (n * OG + og) * 2 * K * HoWo;
  const float *maskBase = mask ? mask + (n * OG + og) * K * HoWo : 0;
  const float fH = (float)H, fW = (float)W, fH1 = (float)(H - 1), fW1 = (float)(W - 1);
  for (i32 i = 0; i < kh; i++) {
    for (i32 j = 0; j < kw; j++) {
      const i32 t = i * kw + j;
      const float *dyRow = offBase + 2 * t * HoWo + p0;
      const float *dxRow = dyRow + HoWo;
      const float *mRow = maskBase ? maskBase + t * HoWo + p0 : 0;
      const i32 yTap = i * job->DH - job->PT;
      const i32 xTap = j * job->DW - job->PL;
      i32 oy = p0 / Wo;
      i32 ox = p0 - oy * Wo;
      for (i32 p = 0; p < pt; p++) {
        const i32 e = t * pt + p;
        /* One rounding of the exact integer tap position plus the offset, as on the cpu backend. Where the
         * position is exact in float32 (|pos| <= 2^24: every tap that can land in an image) this is the
         * float32 sum torchvision computes; beyond, rounding the integer first could move a tap that an
         * offset brings back by up to 64 pixels (core allows positions up to 2^31). */
        const float y = (float)((double)(oy * job->SH + yTap) + (double)dyRow[p]);
        const float x = (float)((double)(ox * job->SW + xTap) + (double)dxRow[p]);
        const float y0 = __builtin_floorf(y);
        const float x0 = __builtin_floorf(x);
        const int r0 = y0 >= 0.0f && y0 < fH;
        const int r1 = y0 >= -1.0f && y0 < fH1;
        const int k0 = x0 >= 0.0f && x0 < fW;
        const int k1 = x0 >= -1.0f && x0 < fW1;
        int f = (r0 && k0 ? C00 : 0) | (r0 && k1 ? C01 : 0) | (r1 && k0 ? C10 : 0) | (r1 && k1 ? C11 : 0);
        if (!(y <= -1.0f || y >= fH || x <= -1.0f || x >= fW)) f |= IN_RANGE;
        pl->flags[e] = (u8)f;
        /* A corner bit implies -1 <= floor <= H-1 (resp. W-1): the conversion is exact and cannot trap. */
        pl->base[e] = (f & ALL) ? (i32)y0 * W + (i32)x0 : 0;
        const float ly = y - y0, lx = x - x0;
        const float hy = 1.0f - ly, hx = 1.0f - lx;
        pl->w0[e] = hy * hx;
        pl->w1[e] = hy * lx;
        pl->w2[e] = ly * hx;
        pl->w3[e] = ly * lx;
        pl->mk[e] = mRow ? mRow[p] : 1.0f;
        if (backward) {
          pl->fy[e] = ly;
          pl->fx[e] = lx;
          const int s0 = r0 && __builtin_fabsf(y - y0) < 1.0f;
          const int s1 = r1 && __builtin_fabsf(y - (y0 + 1.0f)) < 1.0f;
          const int t0 = k0 && __builtin_fabsf(x - x0) < 1.0f;
          const int t1 = k1 && __builtin_fabsf(x - (x0 + 1.0f)) < 1.0f;
          pl->scat[e] = (u8)((s0 && t0 ? C00 : 0) | (s0 && t1 ? C01 : 0) | (s1 && t0 ? C10 : 0) | (s1 && t1 ? C11 : 0));
          pl->gy[e] = 0.0;
          pl->gx[e] = 0.0;
          pl->gm[e] = 0.0;
        }
        if (++ox == Wo) {
          ox = 0;
          oy++;
        }
      }
    }
  }
}

/* mask * bilinear(x, entry e): torchvision's order, corners outside never read. */
static inline float sample(const Plan *pl, i32 e, const float *x, i32 W) {
  const i32 f = pl->flags[e];
  const float *b = x + pl->base[e];
  const float m = pl->mk[e];
  if ((f & ALL) == ALL) {
    return m * (pl->w0[e] * b[0] + pl->w1[e] * b[1] + pl->w2[e] * b[W] + pl->w3[e] * b[W + 1]);
  } else if (f & IN_RANGE) {
    const float v00 = (f & C00) ? b[0] : 0.0f;
    const float v01 = (f & C01) ? b[1] : 0.0f;
    const float v10 = (f & C10) ? b[W] : 0.0f;
    const float v11 = (f & C11) ? b[W + 1] : 0.0f;
    return m * (pl->w0[e] * v00 + pl->w1[e] * v01 + pl->w2[e] * v10 + pl->w3[e] * v11);
  }
  return m * 0.0f;
}

/*
 * Four consecutive entries at once when all their corners are inside the image (the common case): the
 * corner pairs are loaded 64 bits at a time and de-interleaved, then the same operations as `sample`, in
 * the same order, lane by lane (bit-identical results). Returns 0, writing nothing, otherwise.
 */
static inline int sample4(const Plan *pl, i32 e, const float *x, i32 W, float *dst) {
  uint32_t f4;
  __builtin_memcpy(&f4, pl->flags + e, 4);
  if ((f4 & 0x0F0F0F0Fu) != 0x0F0F0F0Fu) return 0;
  const i32 *bs = pl->base + e;
  const float *q0 = x + bs[0], *q1 = x + bs[1], *q2 = x + bs[2], *q3 = x + bs[3];
  v128_t t01 = wasm_v128_load64_lane(q1, wasm_v128_load64_zero(q0), 1);
  v128_t t23 = wasm_v128_load64_lane(q3, wasm_v128_load64_zero(q2), 1);
  v128_t u01 = wasm_v128_load64_lane(q1 + W, wasm_v128_load64_zero(q0 + W), 1);
  v128_t u23 = wasm_v128_load64_lane(q3 + W, wasm_v128_load64_zero(q2 + W), 1);
  v128_t v00 = wasm_i32x4_shuffle(t01, t23, 0, 2, 4, 6);
  v128_t v01 = wasm_i32x4_shuffle(t01, t23, 1, 3, 5, 7);
  v128_t v10 = wasm_i32x4_shuffle(u01, u23, 0, 2, 4, 6);
  v128_t v11 = wasm_i32x4_shuffle(u01, u23, 1, 3, 5, 7);
  v128_t s = wasm_f32x4_mul(wasm_v128_load(pl->w0 + e), v00);
  s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(pl->w1 + e), v01));
  s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(pl->w2 + e), v10));
  s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(pl->w3 + e), v11));
  wasm_v128_store(dst, wasm_f32x4_mul(wasm_v128_load(pl->mk + e), s));
  return 1;
}

/* ---------------------------------------------------------------------------------------------------- */
/* 4x8 register-blocked micro-kernel: C[4 x 8] (+)= A[4 x kc] * B[kc x 8], A packed [k][4], B packed [k][8]. */

static inline void kern4x8(i32 kc, const float *restrict a, const float *restrict b, float *c, i32 ldc, int acc, i32 mr, i32 nr) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  _Pragma("clang loop unroll(disable)")
  for (i32 k = 0; k < kc; k++) {
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t a0 = wasm_v128_load32_splat(a);
    c00 = MADD(a0, b0, c00);
    c01 = MADD(a0, b1, c01);
    a0 = wasm_v128_load32_splat(a + 1);
    c10 = MADD(a0, b0, c10);
    c11 = MADD(a0, b1, c11);
    a0 = wasm_v128_load32_splat(a + 2);
    c20 = MADD(a0, b0, c20);
    c21 = MADD(a0, b1, c21);
    a0 = wasm_v128_load32_splat(a + 3);
    c30 = MADD(a0, b0, c30);
    c31 = MADD(a0, b1, c31);
    a += 4;
    b += 8;
  }
  if (mr == 4 && nr == 8) {
    float *r0 = c, *r1 = c + ldc, *r2 = c + 2 * ldc, *r3 = c + 3 * ldc;
    if (acc) {
      c00 = wasm_f32x4_add(wasm_v128_load(r0), c00);
      c01 = wasm_f32x4_add(wasm_v128_load(r0 + 4), c01);
      c10 = wasm_f32x4_add(wasm_v128_load(r1), c10);
      c11 = wasm_f32x4_add(wasm_v128_load(r1 + 4), c11);
      c20 = wasm_f32x4_add(wasm_v128_load(r2), c20);
      c21 = wasm_f32x4_add(wasm_v128_load(r2 + 4), c21);
      c30 = wasm_f32x4_add(wasm_v128_load(r3), c30);
      c31 = wasm_f32x4_add(wasm_v128_load(r3 + 4), c31);
    }
    wasm_v128_store(r0, c00);
    wasm_v128_store(r0 + 4, c01);
    wasm_v128_store(r1, c10);
    wasm_v128_store(r1 + 4, c11);
    wasm_v128_store(r2, c20);
    wasm_v128_store(r2 + 4, c21);
    wasm_v128_store(r3, c30);
    wasm_v128_store(r3 + 4, c31);
  } else {
    float tmp[32] __attribute__((aligned(16)));
    wasm_v128_store(tmp, c00);
    wasm_v128_store(tmp + 4, c01);
    wasm_v128_store(tmp + 8, c10);
    wasm_v128_store(tmp + 12, c11);
    wasm_v128_store(tmp + 16, c20);
    wasm_v128_store(tmp + 20, c21);
    wasm_v128_store(tmp + 24, c30);
    wasm_v128_store(tmp + 28, c31);
    for (i32 r = 0; r < mr; r++) {
      float *cr = c + r * ldc;
      for (i32 q = 0; q < nr; q++) cr[q] = acc ? cr[q] + tmp[r * 8 + q] : tmp[r * 8 + q];
    }
  }
}

/*
 * Partial sum number q (of nq) of a 4x8 output tile o (leading dimension ldo): straight into the output
 * (the first one writes, the rest add), or, when t is a superblock tile (nq > RED_SUPER), into t, whose
 * every RED_SUPER-th sum then goes to the output. The order of the additions depends on q and nq only,
 * never on the tiling or the thread, so every output keeps the same bits on any number of threads.
 */
static inline void reduce_partial(i32 kc, const float *restrict a, const float *restrict b, float *o, i32 ldo, float *t, i32 ldt,
                                  i32 q, i32 nq, i32 mr, i32 nr) {
  if (!t) {
    kern4x8(kc, a, b, o, ldo, q > 0, mr, nr);
    return;
  }
  const i32 qs = q % RED_SUPER;
  kern4x8(kc, a, b, t, ldt, qs > 0, mr, nr);
  if (qs == RED_SUPER - 1 || q == nq - 1) {
    const int first = q < RED_SUPER;
    for (i32 r = 0; r < mr; r++) {
      for (i32 c = 0; c < nr; c++) o[r * ldo + c] = first ? t[r * ldt + c] : o[r * ldo + c] + t[r * ldt + c];
    }
  }
}

/* Partial sums per output of a forward reduction: column blocks of kcc channels, cut every RED_ROWS rows. */
static i64 fwd_partials(i32 Cg, i32 K, i32 kcc) {
  const i64 full = Cg / kcc, rest = Cg - full * kcc;
  const i64 perFull = ((i64)kcc * K + RED_ROWS - 1) / RED_ROWS;
  return full * perFull + (rest > 0 ? (rest * K + RED_ROWS - 1) / RED_ROWS : 0);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Weight packing (once per call, by the calling thread).                                               */

/* Forward: per group, panels of 4 output channels x CgK, layout [panel][k][4]; pad rows are 0. */
EXPORT(dcn_pack_weight_fwd) void dcn_pack_weight_fwd(const ConvJob *job) {
  const i32 groups = job->GROUPS, CoutG = job->COUT / groups, CgK = (job->CIN / groups) * job->KH * job->KW;
  const float *w = (const float *)(uintptr_t)job->weight;
  float *dst = (float *)(uintptr_t)job->wpack;
  const i32 panels = (CoutG + 3) / 4;
  for (i32 g = 0; g < groups; g++) {
    for (i32 pi = 0; pi < panels; pi++) {
      for (i32 k = 0; k < CgK; k++) {
        for (i32 r = 0; r < 4; r++) {
          const i32 co = pi * 4 + r;
          *dst++ = co < CoutG ? w[(g * CoutG + co) * CgK + k] : 0.0f;
        }
      }
    }
  }
}

/* Backward: per group, W^T (CgK x CoutG) in panels of 4 rows (ck) x CoutG, layout [panel][co][4]. */
EXPORT(dcn_pack_weight_bwd) void dcn_pack_weight_bwd(const ConvJob *job) {
  const i32 groups = job->GROUPS, CoutG = job->COUT / groups, CgK = (job->CIN / groups) * job->KH * job->KW;
  const float *w = (const float *)(uintptr_t)job->weight;
  float *dst = (float *)(uintptr_t)job->wpack;
  const i32 panels = (CgK + 3) / 4;
  for (i32 g = 0; g < groups; g++) {
    const float *wg = w + g * CoutG * CgK;
    for (i32 pi = 0; pi < panels; pi++) {
      for (i32 co = 0; co < CoutG; co++) {
        for (i32 r = 0; r < 4; r++) {
          const i32 ck = pi * 4 + r;
          *dst++ = ck < CgK ? wg[co * CgK + ck] : 0.0f;
        }
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------------------- */
/* Forward: one chunk = (image n, tile of P output pixels).                                             */

typedef struct {
  Plan pl;
  float *Bp; /* one packed column block: [P/8][kcc*K][8] */
  float *T;  /* superblock tile [CB][P], only for reductions of more than RED_SUPER partial sums */
} FwdWs;

/* Carves (or, from base 0, measures) one thread's forward workspace; returns its bytes. */
static double fwd_carve(FwdWs *w, uintptr_t base, i32 K, i32 P, i32 kcc, i32 CB, i32 Cg) {
  double p = (double)base;
  plan_carve(&w->pl, &p, (double)K * P, 0);
  w->Bp = carve(&p, (double)kcc * K * P * 4);
  w->T = fwd_partials(Cg, K, kcc) > RED_SUPER ? carve(&p, (double)CB * P * 4) : 0;
  return p - (double)base;
}

EXPORT(dcn_forward_chunk) void dcn_forward_chunk(const ConvJob *job, i32 chunk, char *ws) {
  const i32 Cin = job->CIN, Cout = job->COUT, groups = job->GROUPS, OG = job->OG;
  const i32 K = job->KH * job->KW, HW = job->H * job->W, HoWo = job->HO * job->WO, W = job->W;
  const i32 Cg = Cin / groups, CoutG = Cout / groups, CgK = Cg * K, perOg = Cin / OG;
  const i32 P = job->P, kcc = job->kcc, ntiles = job->ntiles, CB = job->cb, ncb = job->ncb;
  const i32 cb = chunk % ncb, rest = chunk / ncb;
  const i32 n = rest / ntiles, p0 = (rest - n * ntiles) * P;
  const i32 pt = imin(P, HoWo - p0), pt8 = (pt + 7) & ~7, npan = pt8 >> 3;
  const i32 rowLo = cb * CB, rowHi = imin(CoutG, rowLo + CB);
  const float *input = (const float *)(uintptr_t)job->input;
  const float *wpack = (const float *)(uintptr_t)job->wpack;
  const float *bias = (const float *)(uintptr_t)job->bias;
  float *out = (float *)(uintptr_t)job->out;
  const i32 apanels = (CoutG + 3) / 4;

  FwdWs w;
  fwd_carve(&w, (uintptr_t)ws, K, P, kcc, CB, Cg);
  Plan pl = w.pl;
  float *Bp = w.Bp, *T = w.T;
  const i32 nq = (i32)fwd_partials(Cg, K, kcc);

  i32 planOg = -1;
  for (i32 grp = 0; grp < groups; grp++) {
    const float *wg = wpack + grp * apanels * CgK * 4;
    float *og_out = out + (n * Cout + grp * CoutG) * HoWo + p0;
    i32 q0 = 0; /* partial sums before this column block */
    for (i32 c0 = 0; c0 < Cg; c0 += kcc) {
      const i32 cc = imin(kcc, Cg - c0), KCr = cc * K;
      /* Deformable im2col straight into packed 8-pixel panels: Bp[panel][row][8], row = cl*K + tap. */
      for (i32 cl = 0; cl < cc; cl++) {
        const i32 c = grp * Cg + c0 + cl;
        const i32 og = c / perOg;
        if (og != planOg) {
          build_plan(job, &pl, n, og, p0, pt, 0);
          planOg = og;
        }
        const float *x = input + (n * Cin + c) * HW;
        for (i32 t = 0; t < K; t++) {
          float *dst = Bp + (cl * K + t) * 8;
          const i32 e0 = t * pt;
          i32 p = 0;
          for (; p + 4 <= pt; p += 4) {
            float *d = dst + (p >> 3) * KCr * 8 + (p & 7);
            if (!sample4(&pl, e0 + p, x, W, d)) {
              for (i32 q = 0; q < 4; q++) d[q] = sample(&pl, e0 + p + q, x, W);
            }
          }
          for (; p < pt; p++) dst[(p >> 3) * KCr * 8 + (p & 7)] = sample(&pl, e0 + p, x, W);
          for (; p < pt8; p++) dst[(p >> 3) * KCr * 8 + (p & 7)] = 0.0f;
        }
      }
      /* out_g[CoutG, pt] (+)= Apack_g[:, c0*K .. c0*K+KCr] x Bp, one partial sum per RED_ROWS rows */
      const i32 nsub = (KCr + RED_ROWS - 1) / RED_ROWS;
      for (i32 ib = rowLo; ib < rowHi; ib += GEMM_ROW_BLOCK) {
        const i32 ie = imin(ib + GEMM_ROW_BLOCK, rowHi);
        for (i32 jp = 0; jp < npan; jp++) {
          const float *b = Bp + jp * KCr * 8;
          const i32 nr = imin(8, pt - jp * 8);
          for (i32 i = ib; i < ie; i += 4) {
            const float *a = wg + ((i >> 2) * CgK + c0 * K) * 4;
            float *o = og_out + i * HoWo + jp * 8;
            float *t = T ? T + (i - rowLo) * P + jp * 8 : 0;
            const i32 mr = imin(4, CoutG - i);
            for (i32 s = 0; s < nsub; s++) {
              const i32 r0 = s * RED_ROWS;
              reduce_partial(imin(RED_ROWS, KCr - r0), a + r0 * 4, b + r0 * 8, o, HoWo, t, P, q0 + s, nq, mr, nr);
            }
          }
        }
      }
      q0 += nsub;
    }
  }
  if (bias) {
    for (i32 grp = 0; grp < groups; grp++) {
      for (i32 r = rowLo; r < rowHi; r++) {
        const i32 co = grp * CoutG + r;
        float *o = out + (n * Cout + co) * HoWo + p0;
        const float bv = bias[co];
        for (i32 p = 0; p < pt; p++) o[p] += bv;
      }
    }
  }
}

/* Bytes of one thread's forward workspace (a double: an absurd job's true size may exceed 2^32). */
EXPORT(dcn_forward_ws_bytes) double dcn_forward_ws_bytes(i32 K, i32 P, i32 kcc, i32 CB, i32 Cg) {
  FwdWs w;
  return fwd_carve(&w, 0, K, P, kcc, CB, Cg);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Backward: one chunk = (image n, tile of P output pixels). grad_input and grad_weight are accumulated  */
/* in place (the host runs these chunks one at a time per output: see the thread model in the README).  */

static void flush_plan(const ConvJob *job, const Plan *pl, i32 n, i32 og, i32 p0, i32 pt) {
  const i32 K = job->KH * job->KW, HoWo = job->HO * job->WO, OG = job->OG;
  float *goff = (float *)(uintptr_t)job->goff;
  float *gmask = (float *)(uintptr_t)job->gmask;
  if (goff) {
    float *base = goff + (n * OG + og) * 2 * K * HoWo + p0;
    for (i32 t = 0; t < K; t++) {
      float *dy = base + 2 * t * HoWo, *dx = dy + HoWo;
      for (i32 p = 0; p < pt; p++) {
        dy[p] = (float)pl->gy[t * pt + p];
        dx[p] = (float)pl->gx[t * pt + p];
      }
    }
  }
  if (gmask) {
    float *base = gmask + (n * OG + og) * K * HoWo + p0;
    for (i32 t = 0; t < K; t++) {
      for (i32 p = 0; p < pt; p++) base[t * HoWo + p] = (float)pl->gm[t * pt + p];
    }
  }
}

typedef struct {
  Plan pl;
  float *gcol; /* [cc*K][pt] */
  float *colp; /* [ck/8][pt][8] */
  float *goB;  /* [pt8/8][CoutG][8] */
  float *goA;  /* [CoutG/4][pt][4] */
} BwdWs;

/* Carves (or, from base 0, measures) one thread's backward workspace; returns its bytes. */
static double bwd_carve(BwdWs *w, uintptr_t base, i32 K, i32 P, i32 kcc, i32 CoutG) {
  double p = (double)base;
  const double P8 = (double)((P + 7) & ~7);
  plan_carve(&w->pl, &p, (double)K * P, 1);
  w->gcol = carve(&p, (double)kcc * K * P * 4);
  w->colp = carve(&p, __builtin_ceil((double)kcc * K / 8.0) * 8.0 * P * 4);
  w->goB = carve(&p, (double)CoutG * P8 * 4);
  w->goA = carve(&p, __builtin_ceil((double)CoutG / 4.0) * 4.0 * P * 4);
  return p - (double)base;
}

EXPORT(dcn_backward_chunk) void dcn_backward_chunk(const ConvJob *job, i32 chunk, char *ws) {
  const i32 Cin = job->CIN, Cout = job->COUT, groups = job->GROUPS, OG = job->OG;
  const i32 K = job->KH * job->KW, HW = job->H * job->W, HoWo = job->HO * job->WO, W = job->W;
  const i32 Cg = Cin / groups, CoutG = Cout / groups, CgK = Cg * K, perOg = Cin / OG;
  const i32 P = job->P, kcc = job->kcc, ntiles = job->ntiles;
  const i32 n = chunk / ntiles, p0 = (chunk - n * ntiles) * P;
  const i32 pt = imin(P, HoWo - p0), pt8 = (pt + 7) & ~7, npan = pt8 >> 3;
  const float *input = (const float *)(uintptr_t)job->input;
  const float *wtpack = (const float *)(uintptr_t)job->wpack;
  const float *gout = (const float *)(uintptr_t)job->gout;
  float *gin = (float *)(uintptr_t)job->gin;
  float *gw = (float *)(uintptr_t)job->gw;
  const i32 want = job->want;
  const int wantOff = (want & CONV_JOB_WANT_OFFSET) != 0 && job->goff != 0;
  const int wantMask = (want & CONV_JOB_WANT_MASK) != 0 && job->gmask != 0;
  const int needCol2im = gin != 0 || wantOff || wantMask;
  const int needIm2col = gw != 0;
  const int wantCoord = wantOff || wantMask;
  const i32 coPan = (CoutG + 3) / 4;
  const i32 ckPan = (CgK + 3) / 4;

  BwdWs w;
  bwd_carve(&w, (uintptr_t)ws, K, P, kcc, CoutG);
  Plan pl = w.pl;
  float *gcol = w.gcol, *colp = w.colp, *goB = w.goB, *goA = w.goA;

  i32 planOg = -1;
  for (i32 grp = 0; grp < groups; grp++) {
    const float *go = gout + (n * Cout + grp * CoutG) * HoWo + p0;
    if (needCol2im) {
      for (i32 jp = 0; jp < npan; jp++) {
        float *d = goB + jp * CoutG * 8;
        for (i32 co = 0; co < CoutG; co++) {
          for (i32 q = 0; q < 8; q++) {
            const i32 p = jp * 8 + q;
            d[co * 8 + q] = p < pt ? go[co * HoWo + p] : 0.0f;
          }
        }
      }
    }
    if (needIm2col) {
      for (i32 pi = 0; pi < coPan; pi++) {
        float *d = goA + pi * pt * 4;
        for (i32 p = 0; p < pt; p++) {
          for (i32 r = 0; r < 4; r++) {
            const i32 co = pi * 4 + r;
            d[p * 4 + r] = co < CoutG ? go[co * HoWo + p] : 0.0f;
          }
        }
      }
    }
    const float *wtg = wtpack + grp * ckPan * CoutG * 4;
    for (i32 c0 = 0; c0 < Cg; c0 += kcc) {
      const i32 cc = imin(kcc, Cg - c0), KCr = cc * K;
      if (needCol2im) {
        /* gcol[KCr, pt] = W_g[:, c0*K ..]^T x gradOut_g[CoutG, pt]; c0*K is a multiple of 4. A sum over
         * the output channels, in chains of at most RED_ROWS (see RED_ROWS). */
        for (i32 i = 0; i < KCr; i += 4) {
          const float *a = wtg + ((c0 * K + i) >> 2) * CoutG * 4;
          const i32 mr = imin(4, KCr - i);
          for (i32 jp = 0; jp < npan; jp++) {
            for (i32 k0 = 0; k0 < CoutG; k0 += RED_ROWS) {
              kern4x8(imin(RED_ROWS, CoutG - k0), a + k0 * 4, goB + (jp * CoutG + k0) * 8, gcol + i * pt + jp * 8, pt, k0 > 0, mr,
                      imin(8, pt - jp * 8));
            }
          }
        }
      }
      for (i32 cl = 0; cl < cc; cl++) {
        const i32 c = grp * Cg + c0 + cl;
        const i32 og = c / perOg;
        if (og != planOg) {
          if (planOg >= 0) flush_plan(job, &pl, n, planOg, p0, pt);
          build_plan(job, &pl, n, og, p0, pt, 1);
          planOg = og;
        }
        const float *x = input + (n * Cin + c) * HW;
        if (needCol2im) {
          float *gi = gin ? gin + (n * Cin + c) * HW : 0;
          const float *gc = gcol + cl * K * pt;
          const i32 count = K * pt;
          for (i32 e = 0; e < count; e++) {
            const float g = gc[e];
            const float m = pl.mk[e];
            const float ly = pl.fy[e], lx = pl.fx[e];
            const float hy = 1.0f - ly, hx = 1.0f - lx;
            const i32 b = pl.base[e];
            if (gi) {
              const i32 s = pl.scat[e];
              if (s) {
                const float mg = m * g;
                if (s & C00) gi[b] += hy * hx * mg;
                if (s & C01) gi[b + 1] += hy * lx * mg;
                if (s & C10) gi[b + W] += ly * hx * mg;
                if (s & C11) gi[b + W + 1] += ly * lx * mg;
              }
            }
            if (wantCoord) {
              const i32 f = pl.flags[e];
              float v00 = 0.0f, v01 = 0.0f, v10 = 0.0f, v11 = 0.0f;
              if ((f & ALL) == ALL) {
                v00 = x[b];
                v01 = x[b + 1];
                v10 = x[b + W];
                v11 = x[b + W + 1];
              } else if (f & ALL) {
                if (f & C00) v00 = x[b];
                if (f & C01) v01 = x[b + 1];
                if (f & C10) v10 = x[b + W];
                if (f & C11) v11 = x[b + W + 1];
              }
              /* Each term in float32, their sum over the offset group's channels in double (a long one
               * when Cin / offsetGroups is large). */
              if (wantMask) {
                const float val = (f & IN_RANGE) ? hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11 : 0.0f;
                pl.gm[e] += (double)(g * val);
              }
              if (wantOff) {
                const float dy = lx * (v11 - v01) + hx * (v10 - v00);
                const float dx = ly * (v11 - v10) + hy * (v01 - v00);
                pl.gy[e] += (double)(m * dy * g);
                pl.gx[e] += (double)(m * dx * g);
              }
            }
          }
        }
        if (needIm2col) {
          /* col packed for the grad_weight GEMM: colp[ck/8][p][8], ck = cl*K + t. */
          for (i32 t = 0; t < K; t++) {
            const i32 ck = cl * K + t;
            float *dst = colp + (ck >> 3) * pt * 8 + (ck & 7);
            const i32 e0 = t * pt;
            for (i32 p = 0; p < pt; p++) dst[p * 8] = sample(&pl, e0 + p, x, W);
          }
        }
      }
      if (needIm2col) {
        /* Pad columns of the last ck panel: never stored, but keep them finite. */
        for (i32 ck = KCr; ck < ((KCr + 7) & ~7); ck++) {
          float *dst = colp + (ck >> 3) * pt * 8 + (ck & 7);
          for (i32 p = 0; p < pt; p++) dst[p * 8] = 0.0f;
        }
        /* grad_W_g[CoutG, c0*K ..] += gradOut_g[CoutG, pt] x col[KCr, pt]^T, in chains of at most
         * RED_ROWS pixels (a tile is at most 128 unless options.tilePixels asks for more). */
        const i32 jpan = (KCr + 7) >> 3;
        for (i32 jp = 0; jp < jpan; jp++) {
          const float *b = colp + jp * pt * 8;
          const i32 nr = imin(8, KCr - jp * 8);
          for (i32 i = 0; i < CoutG; i += 4) {
            float *o = gw + (grp * CoutG + i) * CgK + c0 * K + jp * 8;
            for (i32 k0 = 0; k0 < pt; k0 += RED_ROWS) {
              kern4x8(imin(RED_ROWS, pt - k0), goA + ((i >> 2) * pt + k0) * 4, b + k0 * 8, o, CgK, 1, imin(4, CoutG - i), nr);
            }
          }
        }
      }
    }
  }
  if (planOg >= 0 && wantCoord) flush_plan(job, &pl, n, planOg, p0, pt);
}

/* Bytes of one thread's backward workspace (a double: an absurd job's true size may exceed 2^32). */
EXPORT(dcn_backward_ws_bytes) double dcn_backward_ws_bytes(i32 K, i32 P, i32 kcc, i32 CoutG) {
  BwdWs w;
  return bwd_carve(&w, 0, K, P, kcc, CoutG);
}

/* grad_bias[co] = sum over n, pixels of gradOut (double accumulation). */
EXPORT(dcn_grad_bias) void dcn_grad_bias(const ConvJob *job) {
  const i32 N = job->N, Cout = job->COUT, HoWo = job->HO * job->WO;
  const float *gout = (const float *)(uintptr_t)job->gout;
  float *gb = (float *)(uintptr_t)job->gb;
  for (i32 co = 0; co < Cout; co++) {
    double s = 0.0;
    for (i32 n = 0; n < N; n++) {
      const float *g = gout + (n * Cout + co) * HoWo;
      for (i32 q = 0; q < HoWo; q++) s += g[q];
    }
    gb[co] = (float)s;
  }
}

/* Sums `count` floats of `parts` buffers (stride `stride` floats) into dst: reduction of per-thread partials. */
EXPORT(dcn_reduce) void dcn_reduce(float *dst, const float *parts, i32 nparts, i32 stride, i32 count) {
  for (i32 k = 0; k < nparts; k++) {
    const float *s = parts + k * stride;
    i32 i = 0;
    for (; i + 4 <= count; i += 4) wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(s + i)));
    for (; i < count; i++) dst[i] += s[i];
  }
}
