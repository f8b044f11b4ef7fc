/*
 * dcnv2 WebAssembly kernels: modulated deformable RoI pooling (DCNv2 section 2.2, mmcv's deformable RoI
 * pooling times a per-bin mask), forward and backward, float32 data, float64 geometry.
 *
 * Semantics (see shared/reference/gen_deform_roi_pool.py): a RoI (b, x1, y1, x2, y2) starts at
 * (x1, y1) * scale - 0.5 and ends at (x2, y2) * scale - 0.5; bin (i, j) of a ph x pw grid, moved by
 * gamma * roi size * offset (x first), averages grid_h x grid_w RoIAlign bilinear samples (0 outside
 * [-1, H] x [-1, W], coordinates <= 0 clamped to 0, a low corner >= H-1 clamped to H-1), and the mask
 * multiplies the average.
 *
 * The plan. A bin's sample positions form a product set {y_iy} x {x_ix}, and both the range test and the
 * bilinear weights factor into a y part and an x part. So the sum of a bin's samples is
 *   S = sum over rows and columns of WY[row] * WX[col] * I[row, col]
 * where WY[row] sums the y weights (hy at y_low, ly at y_high) of every valid y sample, and likewise WX;
 * the derivatives of S along the bin's y (x) shift are the same sum with WY (WX) replaced by DY (DX), the
 * sum of (+1 at y_high, -1 at y_low) over the valid samples whose coordinate was not clamped. The weights
 * are accumulated in double over the samples of each axis (cost grid_h + grid_w, not grid_h * grid_w), and
 * the touched columns are packed into segments of 4 consecutive columns, so one plan entry is (row,
 * segment): an offset into the image plane, 4 float32 weights per derivative kind, and a lane mask for
 * columns the segment does not own. A channel's value of the bin is then a few unaligned v128 loads and
 * multiply-adds, whatever the sampling grid, and the plan (built once per RoI and bin range) is shared by
 * every channel. The lane mask zeroes what untouched columns hold before the multiply, so a NaN or Inf
 * in a pixel that the bin never samples cannot leak in (a touched pixel with a zero weight does give
 * 0 * Inf = NaN, exactly like the reference). Images narrower than 4 columns use a scalar path that
 * reads only owned lanes.
 *
 * A NaN offset (or gamma * roi size * offset = 0 * Inf) makes a bin's sample coordinates NaN: such a bin
 * has no pixel to read, so it is planned with no entries and flagged; the kernels then write NaN for its
 * output (every channel), grad_offset and grad_mask, and grad_input gets nothing from it (samples that
 * cannot be placed touch no pixel), exactly as the cpu backend does.
 *
 * Work split (the host hands chunk indices to threads):
 *   forward: chunk = (RoI, block of channels); every output has one owner.
 *   gather (grad_offset, grad_mask): chunk = (RoI, block of channels) writing per-block partial sums,
 *     reduced in block order by roi_pool_finish_grads; the blocks depend on R and C only, so the result
 *     is the same for any thread count.
 *   scatter (grad_input): chunk = block of channels over every RoI in order: no two threads write the
 *     same channel, and each pixel accumulates in a fixed order (deterministic, no partial copies).
 */
#include "dcn_simd.h"

/* The job block (RoiJob, pointers are 32-bit): generated from src/job-layout.ts, like the host's offsets. */
#include "generated/jobs.h"

static inline i32 imin(i32 a, i32 b) { return a < b ? a : b; }
static inline i32 imax(i32 a, i32 b) { return a > b ? a : b; }
static inline double dmin(double a, double b) { return a < b ? a : b; }
static inline double dmax(double a, double b) { return a > b ? a : b; }

#define PTR(T, v) ((T *)(uintptr_t)(v))

/* The float32 quiet NaN that JS produces for NaN (0x7fc00000). */
#define NAN_F32 __builtin_nanf("")

/* NaN test on the bit pattern (exponent all ones, mantissa non-zero): unlike x != x or isnan, a build
 * with -ffast-math / -ffinite-math-only cannot fold it to false. */
static inline int is_nan_f64(double v) {
  union {
    double d;
    uint64_t u;
  } b = {v};
  return (b.u & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Per-RoI geometry, in double.                                                                        */

typedef struct {
  i32 batch;
  double sx, sy, rw, rh, bw, bh, gh, gw, invCount;
  int gridded; /* both grid sizes >= 1: the bins take samples (a NaN coordinate then poisons its bin) */
  int empty;   /* no bin has a sample: a grid size <= 0 or an empty image */
} RoiGeom;

static void roi_geom(const RoiJob *job, i32 r, RoiGeom *g) {
  const float *roi = PTR(const float, job->rois) + 5 * r;
  /* Core guarantees an integer batch index in [0, N) and finite coordinates. */
  g->batch = (i32)roi[0];
  const double s = job->scale;
  g->sx = (double)roi[1] * s - 0.5;
  g->sy = (double)roi[2] * s - 0.5;
  const double ex = (double)roi[3] * s - 0.5;
  const double ey = (double)roi[4] * s - 0.5;
  g->rw = ex - g->sx;
  g->rh = ey - g->sy;
  g->bw = g->rw / job->PW;
  g->bh = g->rh / job->PH;
  g->gh = job->SR > 0 ? (double)job->SR : __builtin_ceil(g->rh / job->PH);
  g->gw = job->SR > 0 ? (double)job->SR : __builtin_ceil(g->rw / job->PW);
  const double count = g->gh * g->gw;
  g->invCount = 1.0 / (count >= 1.0 ? count : 1.0);
  g->gridded = g->gh >= 1.0 && g->gw >= 1.0;
  g->empty = !g->gridded || job->H <= 0 || job->W <= 0;
}

/* Upper bound of a bin's plan entries for grid (gh, gw): distinct rows (at most 2 per valid sample, at
 * most H) times column segments (at most 2 columns per valid sample, segments start >= 4 apart). */
static double bin_entries_bound(const RoiJob *job, double gh, double gw) {
  if (!(gh >= 1.0 && gw >= 1.0) || job->H <= 0 || job->W <= 0) return 0.0;
  return dmin((double)job->H, 2.0 * gh) * dmin((double)((job->W + 3) / 4), 2.0 * gw);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Workspace: the plan of a range of bins, dense axis accumulators, segments, backward accumulators.     */

typedef struct {
  i32 cap;
  i32 *off;          /* [cap] row * W + first column of the segment */
  v128_t *wa;        /* [cap] weights of the sample sum, / count */
  v128_t *wb;        /* [cap] weights of its derivative along y (derivs only) */
  v128_t *wc;        /* [cap] weights of its derivative along x (derivs only) */
  v128_t *lm;        /* [cap] lane masks: all ones where the segment owns a touched column */
  u8 *bits;          /* [cap] the same lane mask as 4 bits (narrow images) */
  i32 *start;        /* [bins + 1] first entry of each planned bin, relative to the range */
  u8 *nanBin;        /* [bins] 1 where the planned bin (relative to the range) has NaN sample coordinates */
  double *wy, *dy;   /* [H] per-row weight and derivative of the bin being planned */
  double *wx, *dx;   /* [W] per-column */
  u8 *ty, *tx;       /* [H], [W] touched rows / columns */
  i32 *segCol;       /* [nseg] first column of each segment's 4 lanes */
  double *segW, *segD; /* [nseg * 4] lane weights WX, DX */
  u8 *segBits;       /* [nseg] owned lanes */
  v128_t *accF;      /* [3 * bins] gather: float32 lanes of the current chain of A, B, X (backward) */
  double *accD;      /* [3 * bins] gather: their totals, in double */
  i32 *accN;         /* [bins] gather: terms in the current chain */
} RoiPlan;

/* Carves the workspace from byte address `base` (0 for a dry run that only measures). Offsets are summed
 * in double so that measuring an absurd job returns its true size (which the host then refuses) instead of
 * a size wrapped around 2^32. */
static void *carve(double *p, double bytes) {
  const double r = *p;
  *p += __builtin_ceil(bytes / 16.0) * 16.0;
  /* Only a measuring run gets past 2^32; its pointers are never used (and the conversion stays defined). */
  return (void *)(uintptr_t)(r < 4294967296.0 ? r : 0.0);
}

static double plan_carve(RoiPlan *pl, uintptr_t base, const RoiJob *job, int derivs, int accs) {
  double p = (double)base;
  const double cap = job->cap, H = job->H, W = job->W, bins = (double)job->PH * job->PW, nseg = (job->W + 3) / 4;
  pl->cap = job->cap;
  pl->off = carve(&p, cap * 4);
  pl->wa = carve(&p, cap * 16);
  pl->wb = derivs ? carve(&p, cap * 16) : 0;
  pl->wc = derivs ? carve(&p, cap * 16) : 0;
  pl->lm = carve(&p, cap * 16);
  pl->bits = carve(&p, cap);
  pl->start = carve(&p, (bins + 1) * 4);
  pl->nanBin = carve(&p, bins);
  pl->wy = carve(&p, H * 8);
  pl->dy = carve(&p, H * 8);
  pl->wx = carve(&p, W * 8);
  pl->dx = carve(&p, W * 8);
  pl->ty = carve(&p, H);
  pl->tx = carve(&p, W);
  pl->segCol = carve(&p, nseg * 4);
  pl->segW = carve(&p, nseg * 32);
  pl->segD = carve(&p, nseg * 32);
  pl->segBits = carve(&p, nseg);
  pl->accF = accs ? carve(&p, 3 * bins * 16) : 0;
  pl->accD = accs ? carve(&p, 3 * bins * 8) : 0;
  pl->accN = accs ? carve(&p, bins * 4) : 0;
  return p - (double)base;
}

/* The dense axis arrays start zeroed and are cleared after each bin (only the touched range). */
static void plan_clear_axes(const RoiJob *job, RoiPlan *pl) {
  for (i32 i = 0; i < job->H; i++) pl->wy[i] = pl->dy[i] = 0.0, pl->ty[i] = 0;
  for (i32 i = 0; i < job->W; i++) pl->wx[i] = pl->dx[i] = 0.0, pl->tx[i] = 0;
}

typedef struct {
  i32 lo, hi; /* touched range (hi < lo: none) */
} Span;

#define SMALL_GRID 8.0

/*
 * One axis of one bin: the samples base + ((k + 0.5) * bin) / grid, k in [0, grid), in the reference's
 * order of operations. Only the indices whose sample can fall in [-1, size] are visited (closed-form
 * range, widened by 2 against rounding, then the exact test), so a huge grid costs what it samples.
 */
static Span axis_samples(double base, double bin, double grid, i32 size, double *w, double *d, u8 *t, int derivs) {
  Span sp = {size, -1};
  /* An infinite base (offset): no sample is inside. A NaN base never gets here (plan_bins flags it). */
  if (!(base - base == 0.0) || !(grid >= 1.0)) return sp;
  double k0 = 0.0, k1 = grid - 1.0;
  const double step = bin / grid;
  /* Small grids (every fixed sampling ratio in practice) are cheaper to test sample by sample. */
  if (grid > SMALL_GRID && step != 0.0) {
    const double a = (-1.0 - base) / step - 0.5, b = ((double)size - base) / step - 0.5;
    k0 = dmax(k0, __builtin_floor(dmin(a, b)) - 2.0);
    k1 = dmin(k1, __builtin_ceil(dmax(a, b)) + 2.0);
  }
  if (!(k0 <= k1)) return sp;
  /* Counted from k0 rather than by an int64 index: grids beyond 2^53 (absurd RoIs) still terminate. */
  const i64 span = (i64)(k1 - k0);
  const double fsize = (double)size;
  for (i64 n = 0; n <= span; n++) {
    double y = base + (((k0 + (double)n) + 0.5) * bin) / grid;
    if (!(y >= -1.0 && y <= fsize)) continue;
    int live = 1; /* the derivative along this axis flows (the coordinate was not clamped) */
    if (y <= 0.0) {
      y = 0.0;
      live = 0;
    }
    i32 lo = (i32)y, hi;
    if (lo >= size - 1) {
      lo = hi = size - 1;
      y = (double)lo;
      live = 0;
    } else {
      hi = lo + 1;
    }
    const double l = y - (double)lo;
    w[lo] += 1.0 - l;
    w[hi] += l;
    if (derivs && live) {
      d[lo] -= 1.0;
      d[hi] += 1.0;
    }
    t[lo] = 1;
    t[hi] = 1;
    sp.lo = imin(sp.lo, lo);
    sp.hi = imax(sp.hi, hi);
  }
  return sp;
}

/* Packs the touched columns of [sp.lo, sp.hi] into segments of 4 lanes; returns how many. */
static i32 pack_segments(const RoiJob *job, RoiPlan *pl, Span sp) {
  const i32 W = job->W;
  i32 n = 0;
  for (i32 c = sp.lo; c <= sp.hi;) {
    if (!pl->tx[c]) {
      c++;
      continue;
    }
    /* The segment owns columns [c, c + 4); its 4 lanes are moved left to stay inside the row. */
    const i32 col = (W >= 4 && c + 4 > W) ? W - 4 : c;
    u8 bits = 0;
    for (i32 l = 0; l < 4; l++) {
      const i32 x = col + l;
      const int owned = x >= c && x < c + 4 && x <= sp.hi && pl->tx[x];
      pl->segW[n * 4 + l] = owned ? pl->wx[x] : 0.0;
      pl->segD[n * 4 + l] = owned ? pl->dx[x] : 0.0;
      if (owned) bits |= (u8)(1 << l);
    }
    pl->segCol[n] = col;
    pl->segBits[n] = bits;
    n++;
    c += 4;
  }
  return n;
}

static inline v128_t lane_mask(u8 bits) {
  return wasm_i32x4_make(bits & 1 ? -1 : 0, bits & 2 ? -1 : 0, bits & 4 ? -1 : 0, bits & 8 ? -1 : 0);
}

/*
 * Plans bins [bin0, ...) of RoI r until the next bin would overflow the plan; returns the end of the range
 * (always > bin0: the host sizes `cap` for the largest bin). pl->start[q] indexes bin bin0 + q.
 */
static i32 plan_bins(const RoiJob *job, RoiPlan *pl, const RoiGeom *g, i32 r, i32 bin0, int derivs) {
  const i32 PW = job->PW, bins = job->PH * PW, W = job->W;
  const float *offset = PTR(const float, job->offset);
  i32 used = 0, bin = bin0;
  pl->start[0] = 0;
  for (; bin < bins; bin++) {
    const i32 i = bin / PW, j = bin - i * PW;
    double y0 = g->sy, x0 = g->sx;
    if (offset) {
      x0 = x0 + job->gamma * g->rw * (double)offset[(r * 2 + 0) * bins + bin];
      y0 = y0 + job->gamma * g->rh * (double)offset[(r * 2 + 1) * bins + bin];
    }
    const double by = y0 + i * g->bh, bx = x0 + j * g->bw;
    /* Decided here, explicitly: a NaN coordinate must neither be sampled nor read as "no sample" (0). */
    const int nanBin = g->gridded && (is_nan_f64(by) || is_nan_f64(bx));
    i32 nrows = 0, nseg = 0;
    Span sy = {0, -1}, sx = {0, -1};
    if (!g->empty && !nanBin) {
      sy = axis_samples(by, g->bh, g->gh, job->H, pl->wy, pl->dy, pl->ty, derivs);
      if (sy.hi >= sy.lo) sx = axis_samples(bx, g->bw, g->gw, W, pl->wx, pl->dx, pl->tx, derivs);
      if (sx.hi >= sx.lo) {
        for (i32 y = sy.lo; y <= sy.hi; y++) nrows += pl->ty[y];
        nseg = pack_segments(job, pl, sx);
      }
    }
    const i32 n = nrows * nseg;
    /* The host sizes cap >= roi_pool_bin_entries: a bin that cannot fit alone is a host bug, not bad input. */
    if (n > pl->cap) __builtin_trap();
    if (used + n > pl->cap) {
      /* Does not fit after the bins already planned: clear and leave it to the next range. */
      for (i32 y = sy.lo; y <= sy.hi; y++) pl->wy[y] = pl->dy[y] = 0.0, pl->ty[y] = 0;
      for (i32 x = sx.lo; x <= sx.hi; x++) pl->wx[x] = pl->dx[x] = 0.0, pl->tx[x] = 0;
      break;
    }
    if (n > 0) {
      const double inv = g->invCount;
      for (i32 y = sy.lo; y <= sy.hi; y++) {
        if (!pl->ty[y]) continue;
        const double wy = pl->wy[y] * inv, dy = pl->dy[y] * inv;
        for (i32 s = 0; s < nseg; s++) {
          const double *sw = pl->segW + s * 4, *sd = pl->segD + s * 4;
          const i32 e = used++;
          pl->off[e] = y * W + pl->segCol[s];
          pl->wa[e] = wasm_f32x4_make((float)(wy * sw[0]), (float)(wy * sw[1]), (float)(wy * sw[2]), (float)(wy * sw[3]));
          if (derivs) {
            pl->wb[e] = wasm_f32x4_make((float)(dy * sw[0]), (float)(dy * sw[1]), (float)(dy * sw[2]), (float)(dy * sw[3]));
            pl->wc[e] = wasm_f32x4_make((float)(wy * sd[0]), (float)(wy * sd[1]), (float)(wy * sd[2]), (float)(wy * sd[3]));
          }
          pl->lm[e] = lane_mask(pl->segBits[s]);
          pl->bits[e] = pl->segBits[s];
        }
      }
    }
    for (i32 y = sy.lo; y <= sy.hi; y++) pl->wy[y] = pl->dy[y] = 0.0, pl->ty[y] = 0;
    for (i32 x = sx.lo; x <= sx.hi; x++) pl->wx[x] = pl->dx[x] = 0.0, pl->tx[x] = 0;
    pl->nanBin[bin - bin0] = (u8)nanBin;
    pl->start[bin - bin0 + 1] = used;
  }
  return bin;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Per-bin sums of one channel plane.                                                                  */

/* sum over the entries [e0, e1) of weights * plane, as 4 partial lanes. */
static inline v128_t dot_entries(const RoiPlan *pl, const v128_t *w, i32 e0, i32 e1, const float *x) {
  v128_t acc = wasm_f32x4_splat(0.0f);
  for (i32 e = e0; e < e1; e++) {
    const v128_t v = wasm_v128_and(wasm_v128_load(x + pl->off[e]), pl->lm[e]);
    acc = MADD(v, w[e], acc);
  }
  return acc;
}

/* The same for images narrower than 4 columns: only owned lanes are read. */
static v128_t dot_entries_narrow(const RoiPlan *pl, const v128_t *w, i32 e0, i32 e1, const float *x) {
  float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (i32 e = e0; e < e1; e++) {
    const float *wl = (const float *)(w + e);
    const float *xe = x + pl->off[e];
    const u8 bits = pl->bits[e];
    for (i32 l = 0; l < 4; l++) {
      if (bits & (1 << l)) s[l] += wl[l] * xe[l];
    }
  }
  return wasm_v128_load(s);
}

/*
 * Long bins. An adaptive grid can put up to 2^20 samples, hence hundreds of thousands of plan entries,
 * under one bin; summed in one float32 chain per lane, each entry (a weight carrying 1/count times a pixel)
 * is a few ulps of the running sum, and the mean came out 0.12% low on a constant image. So a bin of more
 * than LONG_BIN entries is summed in blocks of LONG_BIN: each block as usual (4 float32 lanes), the blocks'
 * lane sums added in double and rounded once. Every normal bin (a few rows x segments) is one block and
 * keeps the plain float32 path and its bits.
 */
#define LONG_BIN 256

static inline i32 bin_entries(const RoiPlan *pl, i32 q) {
  return pl->start[q + 1] - pl->start[q];
}

/* (l0 + l2) + (l1 + l3) in double: the lane order of hsum4, without its float32 roundings. */
static inline double hsum_f64(v128_t a) {
  const v128_t lo = wasm_f64x2_promote_low_f32x4(a);
  const v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 2, 3));
  const v128_t s = wasm_f64x2_add(lo, hi);
  return wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
}

/* The sum of a long bin of one plane, blocked (see LONG_BIN). */
static float long_bin_sum(const RoiPlan *pl, const v128_t *w, i32 q, const float *x, int narrow) {
  const i32 end = pl->start[q + 1];
  double s = 0.0;
  for (i32 e0 = pl->start[q]; e0 < end; e0 += LONG_BIN) {
    const i32 e1 = imin(e0 + LONG_BIN, end);
    s += hsum_f64(narrow ? dot_entries_narrow(pl, w, e0, e1, x) : dot_entries(pl, w, e0, e1, x));
  }
  return (float)s;
}

/* The 4 lanes of a bin's plain sum; zero for a long bin (long_bin_lanes sums it). */
static inline v128_t bin_dot(const RoiPlan *pl, const v128_t *w, i32 q, const float *x, int narrow) {
  if (bin_entries(pl, q) > LONG_BIN) return wasm_f32x4_splat(0.0f);
  return narrow ? dot_entries_narrow(pl, w, pl->start[q], pl->start[q + 1], x) : dot_entries(pl, w, pl->start[q], pl->start[q + 1], x);
}

/* Lanes k < nb of s (bins q .. q + nb - 1 of the range, one plane) replaced by the blocked sum where the bin is long. */
static inline v128_t long_bin_lanes(const RoiPlan *pl, const v128_t *w, i32 q, i32 nb, const float *x, int narrow, v128_t s) {
  int any = 0;
  for (i32 k = 0; k < nb; k++) any |= bin_entries(pl, q + k) > LONG_BIN;
  if (!any) return s;
  float t[4];
  wasm_v128_store(t, s);
  for (i32 k = 0; k < nb; k++) {
    if (bin_entries(pl, q + k) > LONG_BIN) t[k] = long_bin_sum(pl, w, q + k, x, narrow);
  }
  return wasm_v128_load(t);
}

/* Lane sums of 4 vectors: [sum a, sum b, sum c, sum d], each as (l0 + l2) + (l1 + l3). */
static inline v128_t hsum4(v128_t a, v128_t b, v128_t c, v128_t d) {
  const v128_t ab = wasm_f32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
  const v128_t cd = wasm_f32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

/* ---------------------------------------------------------------------------------------------------- */
/* Forward: chunk = (RoI, block of channels).                                                           */
/* Channels go 4 at a time: each entry's offset, weights and lane mask are loaded once for 4 planes, and */
/* the 4 lane sums of a bin reduce together. Lane by lane the arithmetic is the same as one channel at a */
/* time (the path of the remaining channels and of narrow images), so every output has the same bits     */
/* whichever path computed it.                                                                          */

/* Lanes k < nb of s (bins q .. q + nb - 1 of the range) set to NaN where that bin is flagged. */
static inline v128_t poison_bin_lanes(const RoiPlan *pl, i32 q, i32 nb, v128_t s) {
  u8 bits = 0;
  for (i32 k = 0; k < nb; k++) bits |= (u8)(pl->nanBin[q + k] << k);
  return bits ? wasm_v128_bitselect(wasm_f32x4_splat(NAN_F32), s, lane_mask(bits)) : s;
}

static inline void store_bin_quad(float *o, i32 bins, v128_t s) {
  o[0] = wasm_f32x4_extract_lane(s, 0);
  o[bins] = wasm_f32x4_extract_lane(s, 1);
  o[2 * bins] = wasm_f32x4_extract_lane(s, 2);
  o[3 * bins] = wasm_f32x4_extract_lane(s, 3);
}

EXPORT(roi_pool_forward_chunk) void roi_pool_forward_chunk(const RoiJob *job, i32 chunk, char *ws) {
  const i32 C = job->C, bins = job->PH * job->PW, HW = job->H * job->W;
  const i32 r = chunk / job->ncb, c0 = (chunk - r * job->ncb) * job->cb, c1 = imin(C, c0 + job->cb);
  RoiGeom g;
  roi_geom(job, r, &g);
  float *out = PTR(float, job->out) + (i64)r * C * bins;
  const float *mask = job->mask ? PTR(const float, job->mask) + r * bins : 0;
  const float *plane0 = PTR(const float, job->input) + (i64)g.batch * C * HW;
  const int narrow = job->W < 4;
  RoiPlan pl;
  plan_carve(&pl, (uintptr_t)ws, job, 0, 0);
  plan_clear_axes(job, &pl);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (i32 bin0 = 0; bin0 < bins;) {
    const i32 bin1 = plan_bins(job, &pl, &g, r, bin0, 0);
    i32 c = c0;
    if (!narrow) {
      for (; c + 4 <= c1; c += 4) {
        const float *x0 = plane0 + (i64)c * HW, *x1 = x0 + HW, *x2 = x1 + HW, *x3 = x2 + HW;
        for (i32 bin = bin0; bin < bin1; bin++) {
          const i32 q = bin - bin0;
          v128_t s;
          if (bin_entries(&pl, q) > LONG_BIN) {
            /* The same blocked sum as the one-channel path below gives (the same bits). */
            s = wasm_f32x4_make(long_bin_sum(&pl, pl.wa, q, x0, 0), long_bin_sum(&pl, pl.wa, q, x1, 0),
                                long_bin_sum(&pl, pl.wa, q, x2, 0), long_bin_sum(&pl, pl.wa, q, x3, 0));
          } else {
            v128_t a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            for (i32 e = pl.start[q]; e < pl.start[q + 1]; e++) {
              const i32 o = pl.off[e];
              const v128_t m = pl.lm[e], w = pl.wa[e];
              a0 = MADD(wasm_v128_and(wasm_v128_load(x0 + o), m), w, a0);
              a1 = MADD(wasm_v128_and(wasm_v128_load(x1 + o), m), w, a1);
              a2 = MADD(wasm_v128_and(wasm_v128_load(x2 + o), m), w, a2);
              a3 = MADD(wasm_v128_and(wasm_v128_load(x3 + o), m), w, a3);
            }
            s = hsum4(a0, a1, a2, a3);
          }
          /* 4 channels of one bin: a NaN bin is NaN in all of them. */
          if (pl.nanBin[q]) s = wasm_f32x4_splat(NAN_F32);
          /* mask * (sum / count): the weights carry 1 / count, the mask multiplies last as in the reference. */
          if (mask) s = wasm_f32x4_mul(wasm_f32x4_splat(mask[bin]), s);
          store_bin_quad(out + (i64)c * bins + bin, bins, s);
        }
      }
    }
    for (; c < c1; c++) {
      const float *x = plane0 + (i64)c * HW;
      float *o = out + (i64)c * bins;
      for (i32 b = bin0; b < bin1; b += 4) {
        const i32 nb = imin(4, bin1 - b), q = b - bin0;
        const v128_t a0 = bin_dot(&pl, pl.wa, q, x, narrow);
        const v128_t a1 = nb > 1 ? bin_dot(&pl, pl.wa, q + 1, x, narrow) : zero;
        const v128_t a2 = nb > 2 ? bin_dot(&pl, pl.wa, q + 2, x, narrow) : zero;
        const v128_t a3 = nb > 3 ? bin_dot(&pl, pl.wa, q + 3, x, narrow) : zero;
        v128_t s = poison_bin_lanes(&pl, q, nb, long_bin_lanes(&pl, pl.wa, q, nb, x, narrow, hsum4(a0, a1, a2, a3)));
        if (nb == 4) {
          if (mask) s = wasm_f32x4_mul(wasm_v128_load(mask + b), s);
          wasm_v128_store(o + b, s);
        } else {
          float t[4];
          wasm_v128_store(t, s);
          for (i32 k = 0; k < nb; k++) o[b + k] = mask ? mask[b + k] * t[k] : t[k];
        }
      }
    }
    bin0 = bin1;
  }
}

/* ---------------------------------------------------------------------------------------------------- */
/* Backward, gather: per (RoI, block of channels), per bin:                                             */
/*   A = sum_c gout_c * S_c, B = sum_c gout_c * dS_c/dy, X = sum_c gout_c * dS_c/dx   (S carries 1/count) */
/* into part[((block * R + r) * 3 + {0: A, 1: B, 2: X}) * bins + bin].                                  */
/* Per plan entry the channels are first folded into T = sum_c gout_c * plane_c[entry], so the three     */
/* weight vectors multiply T once per entry, not once per channel: A += wa * T, B += wb * T, X += wc * T. */
/* Channels go GATHER_BLOCK at a time so that the planes' rows under one RoI stay in L1 across bins.     */

#define GATHER_BLOCK 16

/* T of entry e over channels [0, n) of the block: planes x, x + HW, ...; g the block's gradients. */
static inline v128_t fold_channels(const RoiPlan *pl, i32 e, const float *x, i32 HW, const float *g, i32 n, int narrow) {
  const i32 o = pl->off[e];
  if (narrow) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const u8 bits = pl->bits[e];
    for (i32 k = 0; k < n; k++) {
      const float *xe = x + (i64)k * HW + o;
      for (i32 l = 0; l < 4; l++) {
        if (bits & (1 << l)) t[l] += g[k] * xe[l];
      }
    }
    return wasm_v128_load(t);
  }
  const v128_t m = pl->lm[e];
  v128_t t0 = wasm_f32x4_splat(0.0f), t1 = t0;
  const float *p = x + o;
  i32 k = 0;
  for (; k + 2 <= n; k += 2) {
    t0 = MADD(wasm_v128_and(wasm_v128_load(p), m), wasm_f32x4_splat(g[k]), t0);
    t1 = MADD(wasm_v128_and(wasm_v128_load(p + HW), m), wasm_f32x4_splat(g[k + 1]), t1);
    p += 2 * HW;
  }
  if (k < n) t0 = MADD(wasm_v128_and(wasm_v128_load(p), m), wasm_f32x4_splat(g[k]), t0);
  return wasm_f32x4_add(t0, t1);
}

EXPORT(roi_pool_gather_chunk) void roi_pool_gather_chunk(const RoiJob *job, i32 chunk, char *ws) {
  const i32 C = job->C, R = job->R, bins = job->PH * job->PW, HW = job->H * job->W;
  const i32 r = chunk / job->ncb, blk = chunk - r * job->ncb, c0 = blk * job->cb, c1 = imin(C, c0 + job->cb);
  const int derivs = (job->want & ROI_JOB_WANT_OFFSET) != 0 && job->goff != 0;
  RoiGeom g;
  roi_geom(job, r, &g);
  float *part = PTR(float, job->part) + (i64)(blk * R + r) * 3 * bins;
  const float *gout = PTR(const float, job->gout) + (i64)r * C * bins;
  const float *plane0 = PTR(const float, job->input) + (i64)g.batch * C * HW;
  const int narrow = job->W < 4;
  RoiPlan pl;
  plan_carve(&pl, (uintptr_t)ws, job, derivs, 1);
  plan_clear_axes(job, &pl);
  float gq[GATHER_BLOCK];
  for (i32 bin0 = 0; bin0 < bins;) {
    const i32 bin1 = plan_bins(job, &pl, &g, r, bin0, derivs);
    const i32 nb = bin1 - bin0;
    /* A bin sums entries x channel blocks terms (long for a big bin or many channels): float32 chains
     * of at most LONG_BIN multiply-adds per lane, whose lane sums are added in double. A normal bin
     * (entries x C/16 <= LONG_BIN) is one chain, summed in double once at the end. */
    v128_t *accA = pl.accF, *accB = pl.accF + nb, *accX = pl.accF + 2 * nb;
    double *totA = pl.accD, *totB = pl.accD + nb, *totX = pl.accD + 2 * nb;
    const v128_t zero = wasm_f32x4_splat(0.0f);
    for (i32 q = 0; q < 3 * nb; q++) pl.accF[q] = zero, pl.accD[q] = 0.0;
    for (i32 q = 0; q < nb; q++) pl.accN[q] = 0;
    for (i32 cb = c0; cb < c1; cb += GATHER_BLOCK) {
      const i32 n = imin(GATHER_BLOCK, c1 - cb);
      const float *x = plane0 + (i64)cb * HW;
      for (i32 q = 0; q < nb; q++) {
        for (i32 k = 0; k < n; k++) gq[k] = gout[(i64)(cb + k) * bins + bin0 + q];
        v128_t a = accA[q], b = accB[q], xx = accX[q];
        i32 terms = pl.accN[q];
        for (i32 e0 = pl.start[q], end = pl.start[q + 1]; e0 < end;) {
          if (terms == LONG_BIN) {
            totA[q] += hsum_f64(a);
            totB[q] += hsum_f64(b);
            totX[q] += hsum_f64(xx);
            a = b = xx = zero;
            terms = 0;
          }
          const i32 e1 = imin(end, e0 + (LONG_BIN - terms));
          for (i32 e = e0; e < e1; e++) {
            const v128_t t = fold_channels(&pl, e, x, HW, gq, n, narrow);
            a = MADD(t, pl.wa[e], a);
            if (derivs) {
              b = MADD(t, pl.wb[e], b);
              xx = MADD(t, pl.wc[e], xx);
            }
          }
          terms += e1 - e0;
          e0 = e1;
        }
        accA[q] = a;
        accB[q] = b;
        accX[q] = xx;
        pl.accN[q] = terms;
      }
    }
    for (i32 q = 0; q < nb; q++) {
      totA[q] += hsum_f64(accA[q]);
      totB[q] += hsum_f64(accB[q]);
      totX[q] += hsum_f64(accX[q]);
    }
    /* A NaN bin's value is NaN in every channel, so are its sums over a non-empty block (C = 0 has no
     * channel to carry it: its gradients stay 0, as the sum over no channels is). */
    const int poison = c1 > c0;
    for (i32 q = 0; q < nb; q++) {
      const int nan = poison && pl.nanBin[q];
      part[bin0 + q] = nan ? NAN_F32 : (float)totA[q];
      part[bins + bin0 + q] = nan ? NAN_F32 : (float)totB[q];
      part[2 * bins + bin0 + q] = nan ? NAN_F32 : (float)totX[q];
    }
    bin0 = bin1;
  }
}

/* grad_mask = A; grad_offset = gamma * roi size * mask * (X, B), the block partials summed in block order (in double). */
EXPORT(roi_pool_finish_grads) void roi_pool_finish_grads(const RoiJob *job) {
  const i32 R = job->R, bins = job->PH * job->PW, ncb = job->ncb;
  const float *part = PTR(const float, job->part);
  const float *mask = PTR(const float, job->mask);
  float *goff = (job->want & ROI_JOB_WANT_OFFSET) ? PTR(float, job->goff) : 0;
  float *gmask = (job->want & ROI_JOB_WANT_MASK) ? PTR(float, job->gmask) : 0;
  for (i32 r = 0; r < R; r++) {
    RoiGeom g;
    roi_geom(job, r, &g);
    for (i32 bin = 0; bin < bins; bin++) {
      double a = 0.0, b = 0.0, x = 0.0;
      for (i32 blk = 0; blk < ncb; blk++) {
        const float *p = part + (i64)(blk * R + r) * 3 * bins + bin;
        a += p[0];
        b += p[bins];
        x += p[2 * bins];
      }
      const double m = mask ? (double)mask[r * bins + bin] : 1.0;
      if (gmask) gmask[r * bins + bin] = (float)a;
      if (goff) {
        goff[(r * 2 + 0) * bins + bin] = (float)(job->gamma * g.rw * m * x);
        goff[(r * 2 + 1) * bins + bin] = (float)(job->gamma * g.rh * m * b);
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------------------- */
/* Backward, scatter: chunk = block of channels; grad_input += gout * mask * A over every RoI, in order.  */
/* Channels go 4 at a time (entry offset and weights loaded once); each pixel still accumulates in RoI,  */
/* bin, entry order, so the result does not depend on the blocking.                                    */

/* Adds g * weights of entries [e0, e1) to plane x: finite g adds exactly 0 on lanes a segment does not
 * own (weight 0); an Inf or NaN g must not reach them (0 * Inf), so that case masks the product. */
static inline void scatter_bin(const RoiPlan *pl, i32 e0, i32 e1, float *x, float gm) {
  const v128_t gv = wasm_f32x4_splat(gm);
  if (gm - gm == 0.0f) {
    for (i32 e = e0; e < e1; e++) {
      float *xe = x + pl->off[e];
      wasm_v128_store(xe, MADD(pl->wa[e], gv, wasm_v128_load(xe)));
    }
  } else {
    for (i32 e = e0; e < e1; e++) {
      float *xe = x + pl->off[e];
      const v128_t add = wasm_v128_and(wasm_f32x4_mul(pl->wa[e], gv), pl->lm[e]);
      wasm_v128_store(xe, wasm_f32x4_add(wasm_v128_load(xe), add));
    }
  }
}

static void scatter_bin_narrow(const RoiPlan *pl, i32 e0, i32 e1, float *x, float gm) {
  for (i32 e = e0; e < e1; e++) {
    const float *wl = (const float *)(pl->wa + e);
    float *xe = x + pl->off[e];
    for (i32 l = 0; l < 4; l++) {
      if (pl->bits[e] & (1 << l)) xe[l] += wl[l] * gm;
    }
  }
}

EXPORT(roi_pool_scatter_chunk) void roi_pool_scatter_chunk(const RoiJob *job, i32 chunk, char *ws) {
  const i32 C = job->C, R = job->R, bins = job->PH * job->PW, HW = job->H * job->W;
  const i32 c0 = chunk * job->scb, c1 = imin(C, c0 + job->scb);
  const float *mask = PTR(const float, job->mask);
  const int narrow = job->W < 4;
  RoiPlan pl;
  plan_carve(&pl, (uintptr_t)ws, job, 0, 0);
  plan_clear_axes(job, &pl);
  for (i32 r = 0; r < R; r++) {
    RoiGeom g;
    roi_geom(job, r, &g);
    if (g.empty) continue;
    const float *gout = PTR(const float, job->gout) + (i64)r * C * bins;
    float *gin0 = PTR(float, job->gin) + (i64)g.batch * C * HW;
    for (i32 bin0 = 0; bin0 < bins;) {
      const i32 bin1 = plan_bins(job, &pl, &g, r, bin0, 0);
      i32 c = c0;
      if (!narrow) {
        for (; c + 4 <= c1; c += 4) {
          float *x0 = gin0 + (i64)c * HW, *x1 = x0 + HW, *x2 = x1 + HW, *x3 = x2 + HW;
          const float *go = gout + (i64)c * bins;
          for (i32 bin = bin0; bin < bin1; bin++) {
            const i32 q = bin - bin0, e0 = pl.start[q], e1 = pl.start[q + 1];
            const float mk = mask ? mask[r * bins + bin] : 1.0f;
            const float g0 = go[bin] * mk, g1 = go[bins + bin] * mk, g2 = go[2 * bins + bin] * mk, g3 = go[3 * bins + bin] * mk;
            if ((g0 - g0) + (g1 - g1) + (g2 - g2) + (g3 - g3) == 0.0f) {
              const v128_t v0 = wasm_f32x4_splat(g0), v1 = wasm_f32x4_splat(g1), v2 = wasm_f32x4_splat(g2), v3 = wasm_f32x4_splat(g3);
              for (i32 e = e0; e < e1; e++) {
                const i32 o = pl.off[e];
                const v128_t w = pl.wa[e];
                wasm_v128_store(x0 + o, MADD(w, v0, wasm_v128_load(x0 + o)));
                wasm_v128_store(x1 + o, MADD(w, v1, wasm_v128_load(x1 + o)));
                wasm_v128_store(x2 + o, MADD(w, v2, wasm_v128_load(x2 + o)));
                wasm_v128_store(x3 + o, MADD(w, v3, wasm_v128_load(x3 + o)));
              }
            } else {
              scatter_bin(&pl, e0, e1, x0, g0);
              scatter_bin(&pl, e0, e1, x1, g1);
              scatter_bin(&pl, e0, e1, x2, g2);
              scatter_bin(&pl, e0, e1, x3, g3);
            }
          }
        }
      }
      for (; c < c1; c++) {
        float *x = gin0 + (i64)c * HW;
        const float *go = gout + (i64)c * bins;
        for (i32 bin = bin0; bin < bin1; bin++) {
          const i32 q = bin - bin0;
          const float gm = mask ? go[bin] * mask[r * bins + bin] : go[bin];
          if (narrow) scatter_bin_narrow(&pl, pl.start[q], pl.start[q + 1], x, gm);
          else scatter_bin(&pl, pl.start[q], pl.start[q + 1], x, gm);
        }
      }
      bin0 = bin1;
    }
  }
}

/* ---------------------------------------------------------------------------------------------------- */
/* Sizing, for the host.                                                                                */

/* The largest plan any single bin of the job can need (entries), as a double (it may exceed int32). */
EXPORT(roi_pool_bin_entries) double roi_pool_bin_entries(const RoiJob *job) {
  double m = 0.0;
  for (i32 r = 0; r < job->R; r++) {
    RoiGeom g;
    roi_geom(job, r, &g);
    m = dmax(m, bin_entries_bound(job, g.gh, g.gw));
  }
  return m;
}

/* Bytes of one thread's workspace for the job's cap (derivs: grad_offset weights; accs: gather sums). */
EXPORT(roi_pool_ws_bytes) double roi_pool_ws_bytes(const RoiJob *job, i32 derivs, i32 accs) {
  RoiPlan pl;
  return plan_carve(&pl, 0, job, derivs, accs);
}
