/**
 * How a call is cut into chunks, and the memory bound that follows.
 *
 * Forward: a chunk is (batch image, tile of P output pixels, block of CB output channels). Its workspace
 * holds the sampling plan of the tile (K*P entries of 25 bytes) and one packed column block of `kcc`
 * input channels (kcc*K*P floats, about 512 rows): dcn_forward_ws_bytes(K, P, kcc, CB, Cg) <=
 * K*P*(25 + 4*kcc) + 128 bytes per thread, plus CB*P floats for reductions longer than 32768 terms (the
 * superblock tile, see RED_SUPER in dcn.c), plus the packed weight (the size of the weight, rows padded
 * to a multiple of 4).
 *
 * Backward: a chunk is (batch image, tile of P pixels). Its workspace holds the backward plan (K*P*58
 * bytes), the grad-column and column blocks of `kcc` channels (2*kcc*K*P floats, bounded by
 * BACKWARD_BLOCK_BYTES), and gradOutput's tile packed twice (2*CoutG*P floats); plus W^T packed (the
 * weight's size). With T > 1 threads, threads 2..T accumulate grad_input and grad_weight into private
 * partial buffers, summed at the end: (T-1) * (|grad_input| + |grad_weight|) floats, capped by
 * PARTIALS_BYTES (fewer threads are used when the cap would be exceeded; 1 thread needs none).
 * Nothing else depends on the image size.
 */
import type { ConvGeometry } from '@dcnv2/core';

export const FORWARD_TILE = 64;
export const BACKWARD_TILE = 128;
/** Rows (channels * taps) of one forward column block: 512 rows x 8 pixels = 16 KiB per panel, L1-resident. */
export const FORWARD_BLOCK_ROWS = 512;
/** Budget of the backward column + grad-column blocks. */
export const BACKWARD_BLOCK_BYTES = 4 * 1024 * 1024;
/** Cap of the backward per-thread partial gradients. */
export const PARTIALS_BYTES = 256 * 1024 * 1024;

export interface ForwardTiling {
  readonly P: number;
  readonly ntiles: number;
  readonly kcc: number;
  readonly cb: number;
  readonly ncb: number;
}

export interface BackwardTiling {
  readonly P: number;
  readonly ntiles: number;
  readonly kcc: number;
}

const ceil8 = (n: number) => Math.ceil(n / 8) * 8;

/** Balanced tiles of at most `pMax` pixels, each a multiple of 8 (the last one may be shorter). */
function tiles(HoWo: number, pMax: number): { P: number; ntiles: number } {
  const cap = Math.max(8, ceil8(pMax));
  let ntiles = Math.ceil(HoWo / cap);
  const P = Math.min(cap, ceil8(Math.ceil(HoWo / ntiles)));
  ntiles = Math.ceil(HoWo / P);
  return { P, ntiles };
}

export function chooseForwardTiling(g: ConvGeometry, threads: number, tilePixels?: number): ForwardTiling {
  const HoWo = g.outHeight * g.outWidth;
  const K = g.kernelH * g.kernelW;
  const Cg = g.inChannels / g.groups;
  const CoutG = g.outChannels / g.groups;
  let { P, ntiles } = tiles(HoWo, tilePixels ?? FORWARD_TILE);
  let ncb = 1;
  const want = 2 * threads;
  if (threads > 1 && g.batch * ntiles < want) {
    // Few pixels: split the output channels too (each block re-samples its tile: keep blocks >= 64 rows).
    ncb = Math.max(1, Math.min(Math.ceil(want / (g.batch * ntiles)), Math.floor(CoutG / 64)));
    if (g.batch * ntiles * ncb < want) ({ P, ntiles } = tiles(HoWo, Math.ceil(HoWo / Math.ceil(want / (g.batch * ncb)))));
  }
  const cb = Math.ceil(Math.ceil(CoutG / ncb) / 4) * 4;
  ncb = Math.ceil(CoutG / cb);
  let kcc = Math.max(1, Math.floor(FORWARD_BLOCK_ROWS / K));
  kcc = Math.ceil(Cg / Math.ceil(Cg / kcc));
  return { P, ntiles, kcc, cb, ncb };
}

export function chooseBackwardTiling(g: ConvGeometry, tilePixels?: number): BackwardTiling {
  const HoWo = g.outHeight * g.outWidth;
  const K = g.kernelH * g.kernelW;
  const Cg = g.inChannels / g.groups;
  const { P, ntiles } = tiles(HoWo, tilePixels ?? BACKWARD_TILE);
  let kcc = Math.floor(BACKWARD_BLOCK_BYTES / (K * P * 8));
  if (kcc >= Cg) kcc = Cg;
  else kcc = Math.max(4, kcc - (kcc % 4)); // chunks start at multiples of 4 rows of W^T panels
  return { P, ntiles, kcc: Math.min(kcc, Cg) === Cg ? Cg : kcc };
}

/** Threads for a backward call whose partial buffers cost `perThreadBytes` each beyond the first. */
export function partialThreads(threads: number, chunks: number, perThreadBytes: number): number {
  let t = Math.max(1, Math.min(threads, chunks));
  if (perThreadBytes > 0) t = Math.min(t, 1 + Math.floor(PARTIALS_BYTES / perThreadBytes));
  return t;
}
