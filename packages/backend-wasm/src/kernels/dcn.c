/*
 * dcnv2 WebAssembly kernels: modulated deformable convolution (torchvision.ops.deform_conv2d), forward
 * and backward, float32, SIMD128 (and relaxed-SIMD FMA when built with -DDCN_RELAXED).
 *
 * Freestanding C (no libc): every buffer comes from the JS host, which owns the memory, allocates the
 * tensors and the per-thread workspaces, and hands a Job (an array of int32 fields, see JOB_* below) to
 * the entry points. A job is cut into chunks (one chunk = one batch image x one tile of output pixels);
 * the host distributes chunk indices to threads dynamically, and each thread passes its own workspace.
 *
 * Semantics mirror packages/backend-cpu (see its src/sampling-plan.ts): float32 coordinates, torchvision's
 * range test for values, none for the coordinate gradient, corners outside the image never read, the
 * mask not folded into the bilinear weights, grad_input scattered with torchvision's |y - yp| < 1 rule.
 */
#include "dcn_simd.h"

/* Job layout: int32 fields (pointers are 32-bit). Keep in sync with src/job.ts. */
enum {
  J_N, J_CIN, J_H, J_W, J_COUT, J_KH, J_KW, J_SH, J_SW, J_PT, J_PL, J_DH, J_DW, J_GROUPS, J_OG, J_HO, J_WO,
  J_P,       /* pixels per tile (multiple of 8) */
  J_KCC,     /* input channels per column block (forward) / chunk (backward; multiple of 4 unless Cg) */
  J_NTILES,  /* tiles per image */
  J_INPUT, J_WEIGHT, J_OFFSET, J_MASK, J_BIAS,
  J_WPACK,   /* forward: weight packed in 4-row panels; backward: W^T packed in 4-row panels */
  J_OUT,     /* forward output */
  J_GOUT, J_GIN, J_GOFF, J_GMASK, J_GW, J_GB,
  J_WANT,    /* backward: bit 0 input, 1 offset, 2 mask, 3 weight, 4 bias */
  J_CB,      /* forward: output channels per block (multiple of 4) */
  J_NCB,     /* forward: blocks of output channels per conv group (chunks = N * ntiles * ncb) */
  J_FIELDS
};

#define C00 1
#define C01 2
#define C10 4
#define C11 8
#define ALL 15
#define IN_RANGE 16

#define MC 64

static inline i32 imin(i32 a, i32 b) { return a < b ? a : b; }

/* ---------------------------------------------------------------------------------------------------- */
/* Sampling plan: per (offset group, tap, pixel) of a tile, entry e = tap*pt + p.                       */

typedef struct {
  i32 *base;
  float *w0, *w1, *w2, *w3, *mk;
  u8 *flags;
  /* backward */
  float *fy, *fx, *gy, *gx, *gm;
  u8 *scat;
} Plan;

/* Bytes per plan entry: forward 4 + 5*4 + 1; backward adds 5*4 + 1. Rounded up per array to 16. */
#define PLAN_FWD_BYTES 25
#define PLAN_BWD_BYTES 46

static char *carve(char **p, i32 bytes) {
  char *r = *p;
  *p += (bytes + 15) & ~15;
  return r;
}

static void plan_carve(Plan *pl, char **ws, i32 cap, int backward) {
  pl->base = (i32 *)carve(ws, cap * 4);
  pl->w0 = (float *)carve(ws, cap * 4);
  pl->w1 = (float *)carve(ws, cap * 4);
  pl->w2 = (float *)carve(ws, cap * 4);
  pl->w3 = (float *)carve(ws, cap * 4);
  pl->mk = (float *)carve(ws, cap * 4);
  pl->flags = (u8 *)carve(ws, cap);
  if (backward) {
    pl->fy = (float *)carve(ws, cap * 4);
    pl->fx = (float *)carve(ws, cap * 4);
    pl->gy = (float *)carve(ws, cap * 4);
    pl->gx = (float *)carve(ws, cap * 4);
    pl->gm = (float *)carve(ws, cap * 4);
    pl->scat = (u8 *)carve(ws, cap);
  }
}

static void build_plan(const i32 *J, Plan *pl, i32 n, i32 og, i32 p0, i32 pt, int backward) {
  const i32 H = J[J_H], W = J[J_W], kh = J[J_KH], kw = J[J_KW], Wo = J[J_WO];
  const i32 K = kh * kw, HoWo = J[J_HO] * Wo, OG = J[J_OG];
  const float *offset = (const float *)(uintptr_t)J[J_OFFSET];
  const float *mask = (const float *)(uintptr_t)J[J_MASK];
  const float *offBase = offset + (n * OG + og) * 2 * K * HoWo;
  const float *maskBase = mask ? mask + (n * OG + og) * K * HoWo : 0;
  const float fH = (float)H, fW = (float)W, fH1 = (float)(H - 1), fW1 = (float)(W - 1);
  for (i32 i = 0; i < kh; i++) {
    for (i32 j = 0; j < kw; j++) {
      const i32 t = i * kw + j;
      const float *dyRow = offBase + 2 * t * HoWo + p0;
      const float *dxRow = dyRow + HoWo;
      const float *mRow = maskBase ? maskBase + t * HoWo + p0 : 0;
      const i32 yTap = i * J[J_DH] - J[J_PT];
      const i32 xTap = j * J[J_DW] - J[J_PL];
      i32 oy = p0 / Wo;
      i32 ox = p0 - oy * Wo;
      for (i32 p = 0; p < pt; p++) {
        const i32 e = t * pt + p;
        const float y = (float)(oy * J[J_SH] + yTap) + dyRow[p];
        const float x = (float)(ox * J[J_SW] + xTap) + dxRow[p];
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
          pl->gy[e] = 0.0f;
          pl->gx[e] = 0.0f;
          pl->gm[e] = 0.0f;
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

/* ---------------------------------------------------------------------------------------------------- */
/* Weight packing (once per call, by the calling thread).                                               */

/* Forward: per group, panels of 4 output channels x CgK, layout [panel][k][4]; pad rows are 0. */
EXPORT(dcn_pack_weight_fwd) void dcn_pack_weight_fwd(const i32 *J) {
  const i32 groups = J[J_GROUPS], CoutG = J[J_COUT] / groups, CgK = (J[J_CIN] / groups) * J[J_KH] * J[J_KW];
  const float *w = (const float *)(uintptr_t)J[J_WEIGHT];
  float *dst = (float *)(uintptr_t)J[J_WPACK];
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
EXPORT(dcn_pack_weight_bwd) void dcn_pack_weight_bwd(const i32 *J) {
  const i32 groups = J[J_GROUPS], CoutG = J[J_COUT] / groups, CgK = (J[J_CIN] / groups) * J[J_KH] * J[J_KW];
  const float *w = (const float *)(uintptr_t)J[J_WEIGHT];
  float *dst = (float *)(uintptr_t)J[J_WPACK];
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

EXPORT(dcn_forward_chunk) void dcn_forward_chunk(const i32 *J, i32 chunk, char *ws) {
  const i32 Cin = J[J_CIN], Cout = J[J_COUT], groups = J[J_GROUPS], OG = J[J_OG];
  const i32 K = J[J_KH] * J[J_KW], HW = J[J_H] * J[J_W], HoWo = J[J_HO] * J[J_WO], W = J[J_W];
  const i32 Cg = Cin / groups, CoutG = Cout / groups, CgK = Cg * K, perOg = Cin / OG;
  const i32 P = J[J_P], kcc = J[J_KCC], ntiles = J[J_NTILES], CB = J[J_CB], ncb = J[J_NCB];
  const i32 cb = chunk % ncb, rest = chunk / ncb;
  const i32 n = rest / ntiles, p0 = (rest - n * ntiles) * P;
  const i32 pt = imin(P, HoWo - p0), pt8 = (pt + 7) & ~7, npan = pt8 >> 3;
  const i32 rowLo = cb * CB, rowHi = imin(CoutG, rowLo + CB);
  const float *input = (const float *)(uintptr_t)J[J_INPUT];
  const float *wpack = (const float *)(uintptr_t)J[J_WPACK];
  const float *bias = (const float *)(uintptr_t)J[J_BIAS];
  float *out = (float *)(uintptr_t)J[J_OUT];
  const i32 apanels = (CoutG + 3) / 4;

  Plan pl;
  char *cur = ws;
  plan_carve(&pl, &cur, K * P, 0);
  float *Bp = (float *)carve(&cur, kcc * K * P * 4);

  i32 planOg = -1;
  for (i32 grp = 0; grp < groups; grp++) {
    const float *wg = wpack + grp * apanels * CgK * 4;
    float *og_out = out + (n * Cout + grp * CoutG) * HoWo + p0;
    for (i32 c0 = 0; c0 < Cg; c0 += kcc) {
      const i32 cc = imin(kcc, Cg - c0), KCr = cc * K;
      /* Deformable im2col straight into packed 8-pixel panels: Bp[panel][row][8], row = cl*K + tap. */
      for (i32 cl = 0; cl < cc; cl++) {
        const i32 c = grp * Cg + c0 + cl;
        const i32 og = c / perOg;
        if (og != planOg) {
          build_plan(J, &pl, n, og, p0, pt, 0);
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
      /* out_g[CoutG, pt] (+)= Apack_g[:, c0*K .. c0*K+KCr] x Bp */
      const int acc = c0 > 0;
      for (i32 ib = rowLo; ib < rowHi; ib += MC) {
        const i32 ie = imin(ib + MC, rowHi);
        for (i32 jp = 0; jp < npan; jp++) {
          const float *b = Bp + jp * KCr * 8;
          const i32 nr = imin(8, pt - jp * 8);
          for (i32 i = ib; i < ie; i += 4) {
            kern4x8(KCr, wg + ((i >> 2) * CgK + c0 * K) * 4, b, og_out + i * HoWo + jp * 8, HoWo, acc, imin(4, CoutG - i), nr);
          }
        }
      }
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

/* Bytes of one thread's forward workspace for tile P and block kcc (mirrors the carving above). */
EXPORT(dcn_forward_ws_bytes) i32 dcn_forward_ws_bytes(i32 K, i32 P, i32 kcc) {
  const i32 cap = K * P;
  return 6 * ((cap * 4 + 15) & ~15) + ((cap + 15) & ~15) + ((kcc * K * P * 4 + 15) & ~15);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Backward: one chunk = (image n, tile of P output pixels). grad_input and grad_weight are accumulated  */
/* in place (the host runs these chunks one at a time per output: see the thread model in the README).  */

static void flush_plan(const i32 *J, const Plan *pl, i32 n, i32 og, i32 p0, i32 pt) {
  const i32 K = J[J_KH] * J[J_KW], HoWo = J[J_HO] * J[J_WO], OG = J[J_OG];
  float *goff = (float *)(uintptr_t)J[J_GOFF];
  float *gmask = (float *)(uintptr_t)J[J_GMASK];
  if (goff) {
    float *base = goff + (n * OG + og) * 2 * K * HoWo + p0;
    for (i32 t = 0; t < K; t++) {
      float *dy = base + 2 * t * HoWo, *dx = dy + HoWo;
      for (i32 p = 0; p < pt; p++) {
        dy[p] = pl->gy[t * pt + p];
        dx[p] = pl->gx[t * pt + p];
      }
    }
  }
  if (gmask) {
    float *base = gmask + (n * OG + og) * K * HoWo + p0;
    for (i32 t = 0; t < K; t++) {
      for (i32 p = 0; p < pt; p++) base[t * HoWo + p] = pl->gm[t * pt + p];
    }
  }
}

EXPORT(dcn_backward_chunk) void dcn_backward_chunk(const i32 *J, i32 chunk, char *ws) {
  const i32 Cin = J[J_CIN], Cout = J[J_COUT], groups = J[J_GROUPS], OG = J[J_OG];
  const i32 K = J[J_KH] * J[J_KW], HW = J[J_H] * J[J_W], HoWo = J[J_HO] * J[J_WO], W = J[J_W];
  const i32 Cg = Cin / groups, CoutG = Cout / groups, CgK = Cg * K, perOg = Cin / OG;
  const i32 P = J[J_P], kcc = J[J_KCC], ntiles = J[J_NTILES];
  const i32 n = chunk / ntiles, p0 = (chunk - n * ntiles) * P;
  const i32 pt = imin(P, HoWo - p0), pt8 = (pt + 7) & ~7, npan = pt8 >> 3;
  const float *input = (const float *)(uintptr_t)J[J_INPUT];
  const float *wtpack = (const float *)(uintptr_t)J[J_WPACK];
  const float *gout = (const float *)(uintptr_t)J[J_GOUT];
  float *gin = (float *)(uintptr_t)J[J_GIN];
  float *gw = (float *)(uintptr_t)J[J_GW];
  const i32 want = J[J_WANT];
  const int wantOff = (want & 2) != 0 && J[J_GOFF] != 0;
  const int wantMask = (want & 4) != 0 && J[J_GMASK] != 0;
  const int needCol2im = gin != 0 || wantOff || wantMask;
  const int needIm2col = gw != 0;
  const int wantCoord = wantOff || wantMask;
  const i32 coPan = (CoutG + 3) / 4;
  const i32 ckPan = (CgK + 3) / 4;

  Plan pl;
  char *cur = ws;
  plan_carve(&pl, &cur, K * P, 1);
  float *gcol = (float *)carve(&cur, kcc * K * P * 4);           /* [cc*K][pt] */
  float *colp = (float *)carve(&cur, (kcc * K + 7) / 8 * 8 * P * 4); /* [ck/8][pt][8] */
  float *goB = (float *)carve(&cur, CoutG * ((P + 7) & ~7) * 4); /* [pt8/8][CoutG][8] */
  float *goA = (float *)carve(&cur, coPan * 4 * P * 4);          /* [CoutG/4][pt][4] */

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
        /* gcol[KCr, pt] = W_g[:, c0*K ..]^T x gradOut_g[CoutG, pt]; c0*K is a multiple of 4. */
        for (i32 i = 0; i < KCr; i += 4) {
          const float *a = wtg + ((c0 * K + i) >> 2) * CoutG * 4;
          const i32 mr = imin(4, KCr - i);
          for (i32 jp = 0; jp < npan; jp++) {
            kern4x8(CoutG, a, goB + jp * CoutG * 8, gcol + i * pt + jp * 8, pt, 0, mr, imin(8, pt - jp * 8));
          }
        }
      }
      for (i32 cl = 0; cl < cc; cl++) {
        const i32 c = grp * Cg + c0 + cl;
        const i32 og = c / perOg;
        if (og != planOg) {
          if (planOg >= 0) flush_plan(J, &pl, n, planOg, p0, pt);
          build_plan(J, &pl, n, og, p0, pt, 1);
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
              if (wantMask) {
                const float val = (f & IN_RANGE) ? hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11 : 0.0f;
                pl.gm[e] += g * val;
              }
              if (wantOff) {
                const float dy = lx * (v11 - v01) + hx * (v10 - v00);
                const float dx = ly * (v11 - v10) + hy * (v01 - v00);
                pl.gy[e] += m * dy * g;
                pl.gx[e] += m * dx * g;
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
        /* grad_W_g[CoutG, c0*K ..] += gradOut_g[CoutG, pt] x col[KCr, pt]^T */
        const i32 jpan = (KCr + 7) >> 3;
        for (i32 jp = 0; jp < jpan; jp++) {
          const float *b = colp + jp * pt * 8;
          const i32 nr = imin(8, KCr - jp * 8);
          for (i32 i = 0; i < CoutG; i += 4) {
            kern4x8(pt, goA + (i >> 2) * pt * 4, b, gw + (grp * CoutG + i) * CgK + c0 * K + jp * 8, CgK, 1, imin(4, CoutG - i), nr);
          }
        }
      }
    }
  }
  if (planOg >= 0 && wantCoord) flush_plan(J, &pl, n, planOg, p0, pt);
}

EXPORT(dcn_backward_ws_bytes) i32 dcn_backward_ws_bytes(i32 K, i32 P, i32 kcc, i32 CoutG) {
  const i32 cap = K * P;
  const i32 P8 = (P + 7) & ~7;
  return 11 * ((cap * 4 + 15) & ~15) + 2 * ((cap + 15) & ~15) + ((kcc * K * P * 4 + 15) & ~15) +
         (((kcc * K + 7) / 8 * 8 * P * 4 + 15) & ~15) + ((CoutG * P8 * 4 + 15) & ~15) + ((((CoutG + 3) / 4) * 4 * P * 4 + 15) & ~15);
}

/* grad_bias[co] = sum over n, pixels of gradOut (double accumulation). */
EXPORT(dcn_grad_bias) void dcn_grad_bias(const i32 *J) {
  const i32 N = J[J_N], Cout = J[J_COUT], HoWo = J[J_HO] * J[J_WO];
  const float *gout = (const float *)(uintptr_t)J[J_GOUT];
  float *gb = (float *)(uintptr_t)J[J_GB];
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
