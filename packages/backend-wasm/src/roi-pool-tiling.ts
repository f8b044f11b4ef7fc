/**
 * How a RoI pooling call is cut into chunks, and how large each thread's plan is.
 *
 * Forward and the backward gather (grad_offset, grad_mask): a chunk is (RoI, block of channels). With many
 * RoIs a block is every channel; with few, the channels are split so that there are about ROI_TARGET_CHUNKS
 * chunks (blocks of at least ROI_MIN_BLOCK channels). The split depends on R and C only, never on the
 * thread count, because the gather sums the blocks' partial results: the same blocks give the same bits
 * on 1 thread or 8.
 *
 * Backward scatter (grad_input): a chunk is a block of channels over every RoI, so no two threads write
 * one channel and no partial copy of grad_input is needed; the blocks do not change any value (each
 * pixel accumulates in RoI, bin, entry order whoever computes it), so they follow the thread count. Every
 * chunk plans every RoI again, so there are only SCATTER_CHUNKS_PER_THREAD chunks per thread: enough for
 * the dynamic schedule to even out unequal cores, few enough that replanning stays small (planning all
 * RoIs of the R1 problem costs about a tenth of its scatter).
 *
 * Plan: one thread plans a range of bins of a RoI at once, at most `cap` entries (one entry = one row x
 * one segment of 4 columns: 69 bytes with the derivative weights). `cap` is at least the largest single
 * bin (measured by the kernels from the RoIs) and, when that is small, enough for ROI_PLAN_ENTRIES.
 */
import { LimitError } from '@dcnv2/core';

export const ROI_TARGET_CHUNKS = 16;
export const ROI_MIN_BLOCK = 16;
export const ROI_PLAN_ENTRIES = 4096;
export const SCATTER_CHUNKS_PER_THREAD = 2;
/** Entries one bin may need at most: beyond it (a feature map of ~2^26 pixels under one bin) LimitError. */
export const ROI_MAX_PLAN_ENTRIES = 1 << 24;

export interface RoiBlocks {
  /** Channels per block. */
  readonly cb: number;
  /** Blocks per RoI. */
  readonly ncb: number;
}

export function chooseRoiBlocks(rois: number, channels: number): RoiBlocks {
  let ncb = 1;
  if (rois > 0 && rois < ROI_TARGET_CHUNKS) {
    ncb = Math.max(1, Math.min(Math.ceil(ROI_TARGET_CHUNKS / rois), Math.floor(channels / ROI_MIN_BLOCK)));
  }
  const cb = Math.max(1, Math.ceil(channels / ncb));
  return { cb, ncb: Math.max(1, Math.ceil(channels / cb)) };
}

export interface ScatterBlocks {
  /** Channels per chunk. */
  readonly scb: number;
  /** Chunks. */
  readonly chunks: number;
}

export function chooseScatterBlocks(channels: number, threads: number): ScatterBlocks {
  const want = threads <= 1 ? 1 : Math.min(channels, SCATTER_CHUNKS_PER_THREAD * threads);
  const scb = Math.max(1, Math.ceil(channels / Math.max(1, want)));
  return { scb, chunks: Math.ceil(channels / scb) };
}

/** Plan capacity for bins of at most `binEntries` entries, `bins` bins per RoI. */
export function planCapacity(binEntries: number, bins: number): number {
  if (!(binEntries <= ROI_MAX_PLAN_ENTRIES)) {
    throw new LimitError({
      argument: 'rois',
      expected: `bins that sample at most ${ROI_MAX_PLAN_ENTRIES} rows x 4-column segments of the feature map`,
      actual: `a bin needing up to ${binEntries}`,
    });
  }
  return Math.max(1, binEntries, Math.min(ROI_PLAN_ENTRIES, bins * binEntries));
}
