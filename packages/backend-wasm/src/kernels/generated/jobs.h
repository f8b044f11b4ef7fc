/* Generated from src/job-layout.ts by scripts/build-wasm.mjs (scripts/job-header.ts): do not edit. */
/* The job blocks the host writes (src/job-layout.ts: writeJob) and the kernels read. Pointers are 32-bit. */
#ifndef DCN_JOBS_H
#define DCN_JOBS_H

#include <stdint.h>

/* ConvJob: deformable convolution (kernels/dcn.c): one call, forward or backward; a job per thread in backward. */
typedef struct {
  int32_t N;      /* batch */
  int32_t CIN;    /* input channels */
  int32_t H;      /* input height */
  int32_t W;      /* input width */
  int32_t COUT;   /* output channels */
  int32_t KH;     /* kernel height */
  int32_t KW;     /* kernel width */
  int32_t SH;     /* stride, vertical */
  int32_t SW;     /* stride, horizontal */
  int32_t PT;     /* padding, top */
  int32_t PL;     /* padding, left */
  int32_t DH;     /* dilation, vertical */
  int32_t DW;     /* dilation, horizontal */
  int32_t GROUPS; /* convolution groups */
  int32_t OG;     /* offset groups */
  int32_t HO;     /* output height */
  int32_t WO;     /* output width */
  int32_t P;      /* pixels per tile (multiple of 8) */
  int32_t kcc;    /* input channels per column block (forward) / chunk (backward; multiple of 4 unless Cg) */
  int32_t ntiles; /* tiles per image */
  int32_t input;  /* pointer: input */
  int32_t weight; /* pointer: weight */
  int32_t offset; /* pointer: offset */
  int32_t mask;   /* pointer: mask (0: none, DCNv1) */
  int32_t bias;   /* pointer: bias (0: none) */
  int32_t wpack;  /* pointer: forward, weight packed in 4-row panels; backward, W^T packed in 4-row panels */
  int32_t out;    /* pointer: forward output */
  int32_t gout;   /* pointer: grad_output */
  int32_t gin;    /* pointer: grad_input (this thread's copy) */
  int32_t goff;   /* pointer: grad_offset */
  int32_t gmask;  /* pointer: grad_mask */
  int32_t gw;     /* pointer: grad_weight (this thread's copy) */
  int32_t gb;     /* pointer: grad_bias */
  int32_t want;   /* backward: bit 0 input, 1 offset, 2 mask, 3 weight, 4 bias (CONV_WANT) */
  int32_t cb;     /* forward: output channels per block (multiple of 4) */
  int32_t ncb;    /* forward: blocks of output channels per conv group (chunks = N * ntiles * ncb) */
} ConvJob;

#define CONV_JOB_BYTES 144
_Static_assert(sizeof(ConvJob) == CONV_JOB_BYTES, "ConvJob: size");
_Static_assert(__builtin_offsetof(ConvJob, N) == 0, "ConvJob.N: offset");
_Static_assert(__builtin_offsetof(ConvJob, CIN) == 4, "ConvJob.CIN: offset");
_Static_assert(__builtin_offsetof(ConvJob, H) == 8, "ConvJob.H: offset");
_Static_assert(__builtin_offsetof(ConvJob, W) == 12, "ConvJob.W: offset");
_Static_assert(__builtin_offsetof(ConvJob, COUT) == 16, "ConvJob.COUT: offset");
_Static_assert(__builtin_offsetof(ConvJob, KH) == 20, "ConvJob.KH: offset");
_Static_assert(__builtin_offsetof(ConvJob, KW) == 24, "ConvJob.KW: offset");
_Static_assert(__builtin_offsetof(ConvJob, SH) == 28, "ConvJob.SH: offset");
_Static_assert(__builtin_offsetof(ConvJob, SW) == 32, "ConvJob.SW: offset");
_Static_assert(__builtin_offsetof(ConvJob, PT) == 36, "ConvJob.PT: offset");
_Static_assert(__builtin_offsetof(ConvJob, PL) == 40, "ConvJob.PL: offset");
_Static_assert(__builtin_offsetof(ConvJob, DH) == 44, "ConvJob.DH: offset");
_Static_assert(__builtin_offsetof(ConvJob, DW) == 48, "ConvJob.DW: offset");
_Static_assert(__builtin_offsetof(ConvJob, GROUPS) == 52, "ConvJob.GROUPS: offset");
_Static_assert(__builtin_offsetof(ConvJob, OG) == 56, "ConvJob.OG: offset");
_Static_assert(__builtin_offsetof(ConvJob, HO) == 60, "ConvJob.HO: offset");
_Static_assert(__builtin_offsetof(ConvJob, WO) == 64, "ConvJob.WO: offset");
_Static_assert(__builtin_offsetof(ConvJob, P) == 68, "ConvJob.P: offset");
_Static_assert(__builtin_offsetof(ConvJob, kcc) == 72, "ConvJob.kcc: offset");
_Static_assert(__builtin_offsetof(ConvJob, ntiles) == 76, "ConvJob.ntiles: offset");
_Static_assert(__builtin_offsetof(ConvJob, input) == 80, "ConvJob.input: offset");
_Static_assert(__builtin_offsetof(ConvJob, weight) == 84, "ConvJob.weight: offset");
_Static_assert(__builtin_offsetof(ConvJob, offset) == 88, "ConvJob.offset: offset");
_Static_assert(__builtin_offsetof(ConvJob, mask) == 92, "ConvJob.mask: offset");
_Static_assert(__builtin_offsetof(ConvJob, bias) == 96, "ConvJob.bias: offset");
_Static_assert(__builtin_offsetof(ConvJob, wpack) == 100, "ConvJob.wpack: offset");
_Static_assert(__builtin_offsetof(ConvJob, out) == 104, "ConvJob.out: offset");
_Static_assert(__builtin_offsetof(ConvJob, gout) == 108, "ConvJob.gout: offset");
_Static_assert(__builtin_offsetof(ConvJob, gin) == 112, "ConvJob.gin: offset");
_Static_assert(__builtin_offsetof(ConvJob, goff) == 116, "ConvJob.goff: offset");
_Static_assert(__builtin_offsetof(ConvJob, gmask) == 120, "ConvJob.gmask: offset");
_Static_assert(__builtin_offsetof(ConvJob, gw) == 124, "ConvJob.gw: offset");
_Static_assert(__builtin_offsetof(ConvJob, gb) == 128, "ConvJob.gb: offset");
_Static_assert(__builtin_offsetof(ConvJob, want) == 132, "ConvJob.want: offset");
_Static_assert(__builtin_offsetof(ConvJob, cb) == 136, "ConvJob.cb: offset");
_Static_assert(__builtin_offsetof(ConvJob, ncb) == 140, "ConvJob.ncb: offset");
#define CONV_JOB_WANT_INPUT 1
#define CONV_JOB_WANT_OFFSET 2
#define CONV_JOB_WANT_MASK 4
#define CONV_JOB_WANT_WEIGHT 8
#define CONV_JOB_WANT_BIAS 16

/* RoiJob: deformable RoI pooling (kernels/roi_pool.c): sizes, pointers, chunking, then the geometry in double. */
typedef struct {
  int32_t N;      /* batch */
  int32_t C;      /* channels */
  int32_t H;      /* input height */
  int32_t W;      /* input width */
  int32_t R;      /* RoIs */
  int32_t PH;     /* pooled height (bins per column) */
  int32_t PW;     /* pooled width (bins per row) */
  int32_t SR;     /* sampling ratio (<= 0: adaptive) */
  int32_t input;  /* pointer: input */
  int32_t rois;   /* pointer: RoIs, 5 floats each (batch index, x1, y1, x2, y2) */
  int32_t offset; /* pointer: offset (0: none) */
  int32_t mask;   /* pointer: mask (0: none) */
  int32_t out;    /* pointer: forward output */
  int32_t gout;   /* pointer: grad_output */
  int32_t gin;    /* pointer: grad_input */
  int32_t goff;   /* pointer: grad_offset */
  int32_t gmask;  /* pointer: grad_mask */
  int32_t part;   /* pointer: gather partial sums per block of channels */
  int32_t cb;     /* forward / gather: channels per block */
  int32_t ncb;    /* forward / gather: blocks per RoI (chunks = R * ncb) */
  int32_t scb;    /* scatter: channels per chunk */
  int32_t cap;    /* plan entries per workspace (>= the largest bin's entries) */
  int32_t want;   /* backward: bit 0 input, 1 offset, 2 mask (ROI_WANT) */
  double scale;   /* spatial scale */
  double gamma;   /* offset scale (gamma) */
} RoiJob;

#define ROI_JOB_BYTES 112
_Static_assert(sizeof(RoiJob) == ROI_JOB_BYTES, "RoiJob: size");
_Static_assert(__builtin_offsetof(RoiJob, N) == 0, "RoiJob.N: offset");
_Static_assert(__builtin_offsetof(RoiJob, C) == 4, "RoiJob.C: offset");
_Static_assert(__builtin_offsetof(RoiJob, H) == 8, "RoiJob.H: offset");
_Static_assert(__builtin_offsetof(RoiJob, W) == 12, "RoiJob.W: offset");
_Static_assert(__builtin_offsetof(RoiJob, R) == 16, "RoiJob.R: offset");
_Static_assert(__builtin_offsetof(RoiJob, PH) == 20, "RoiJob.PH: offset");
_Static_assert(__builtin_offsetof(RoiJob, PW) == 24, "RoiJob.PW: offset");
_Static_assert(__builtin_offsetof(RoiJob, SR) == 28, "RoiJob.SR: offset");
_Static_assert(__builtin_offsetof(RoiJob, input) == 32, "RoiJob.input: offset");
_Static_assert(__builtin_offsetof(RoiJob, rois) == 36, "RoiJob.rois: offset");
_Static_assert(__builtin_offsetof(RoiJob, offset) == 40, "RoiJob.offset: offset");
_Static_assert(__builtin_offsetof(RoiJob, mask) == 44, "RoiJob.mask: offset");
_Static_assert(__builtin_offsetof(RoiJob, out) == 48, "RoiJob.out: offset");
_Static_assert(__builtin_offsetof(RoiJob, gout) == 52, "RoiJob.gout: offset");
_Static_assert(__builtin_offsetof(RoiJob, gin) == 56, "RoiJob.gin: offset");
_Static_assert(__builtin_offsetof(RoiJob, goff) == 60, "RoiJob.goff: offset");
_Static_assert(__builtin_offsetof(RoiJob, gmask) == 64, "RoiJob.gmask: offset");
_Static_assert(__builtin_offsetof(RoiJob, part) == 68, "RoiJob.part: offset");
_Static_assert(__builtin_offsetof(RoiJob, cb) == 72, "RoiJob.cb: offset");
_Static_assert(__builtin_offsetof(RoiJob, ncb) == 76, "RoiJob.ncb: offset");
_Static_assert(__builtin_offsetof(RoiJob, scb) == 80, "RoiJob.scb: offset");
_Static_assert(__builtin_offsetof(RoiJob, cap) == 84, "RoiJob.cap: offset");
_Static_assert(__builtin_offsetof(RoiJob, want) == 88, "RoiJob.want: offset");
_Static_assert(__builtin_offsetof(RoiJob, scale) == 96, "RoiJob.scale: offset");
_Static_assert(__builtin_offsetof(RoiJob, gamma) == 104, "RoiJob.gamma: offset");
#define ROI_JOB_WANT_INPUT 1
#define ROI_JOB_WANT_OFFSET 2
#define ROI_JOB_WANT_MASK 4

#endif
