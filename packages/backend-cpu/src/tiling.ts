/**
 * How a call is cut into tiles, and the memory bound that follows. Scratch beyond inputs and outputs:
 *
 *   per call:  K*P*planBytes + chunk*K*P*colBytes <= max(workspaceBytes, K*(planBytes + colBytes))
 *   retained:  GEMM_SCRATCH_BYTES (fixed, 655,616 bytes of packing buffers, reused by every call)
 *
 * K = kh*kw; planBytes = 48 (forward) or 96 (backward) per sampling-plan entry; colBytes = 4 (forward:
 * the column tile) or 8 (backward: column tile + grad-column tile) per element. A tile covers P output
 * pixels of one batch image and `chunk` input channels of one conv group. The right-hand term of the max
 * is one pixel of one channel, the smallest tile there is, used only when even that exceeds the budget.
 * Nothing depends on the image size, the batch or Cout; the weight is read in place (the GEMM packs
 * MC x KC panels of it into its fixed scratch).
 */
import type { ConvGeometry } from '@dcnv2/core';
import { PLAN_BYTES_BACKWARD, PLAN_BYTES_FORWARD } from './sampling-plan.js';

/** Default budget for sampling plan + column tiles: 4 MiB. */
export const DEFAULT_WORKSPACE_BYTES = 4 * 1024 * 1024;
/**
 * Below this many pixels a tile is too thin to amortise packing the weight panel in every GEMM, so the
 * reduction (input channels) is split into chunks rather than shrinking the tile further.
 */
export const MIN_GOOD_TILE = 64;

export interface Tiling {
  /** Output pixels per tile (the GEMM's N). */
  readonly P: number;
  /** Input channels per column tile (the forward GEMM's reduction is chunk*K). */
  readonly chunk: number;
}

export interface TilingLimits {
  readonly workspaceBytes: number;
  /** Upper bound on P, if set (tests use it to force many tiles). */
  readonly tilePixels?: number;
}

/** Scratch bytes a tiling uses (the left-hand side of the bound above). */
export function tilingBytes(g: ConvGeometry, t: Tiling, backward: boolean): number {
  const K = g.kernelH * g.kernelW;
  return K * t.P * ((backward ? PLAN_BYTES_BACKWARD : PLAN_BYTES_FORWARD) + t.chunk * (backward ? 8 : 4));
}

/** Chooses the tile width and the channel chunk of a call. */
export function chooseTiling(g: ConvGeometry, limits: TilingLimits, backward: boolean): Tiling {
  const K = g.kernelH * g.kernelW;
  const Cg = g.inChannels / g.groups;
  const HoWo = g.outHeight * g.outWidth;
  const planB = backward ? PLAN_BYTES_BACKWARD : PLAN_BYTES_FORWARD;
  const colB = backward ? 8 : 4;
  const ws = limits.workspaceBytes;
  const pMax = Math.max(1, Math.min(HoWo, limits.tilePixels ?? HoWo));
  /** Most channels that fit beside a plan of p pixels (may be < 1). */
  const chunkFor = (p: number) => Math.min(Cg, Math.floor((ws / (K * p) - planB) / colB));

  // 1. The conv group's whole reduction in one GEMM, with as wide a tile as the budget allows.
  const pFull = Math.min(pMax, Math.floor(ws / (K * (planB + Cg * colB))));
  if (pFull >= 1 && pFull >= Math.min(pMax, MIN_GOOD_TILE)) return { P: pFull, chunk: Cg };
  // 2. A reasonably wide tile with the reduction split into channel chunks.
  const p2 = Math.min(pMax, MIN_GOOD_TILE);
  if (chunkFor(p2) >= 1) return { P: p2, chunk: chunkFor(p2) };
  // 3. Narrower tiles, one channel at a time; never below one pixel.
  const p3 = Math.max(1, Math.min(pMax, Math.floor(ws / (K * (planB + colB)))));
  return { P: p3, chunk: Math.max(1, chunkFor(p3)) };
}
