/**
 * The ops the bench measures. Each op has its own shapes, implementations, inputs, float64 reference and work
 * count; the coordinator, the workers, the timing, the records and the rendering are shared.
 */

export type BenchOp = 'deform_conv2d' | 'deform_roi_pool';

/** In the order their tables appear. */
export const BENCH_OPS: readonly BenchOp[] = ['deform_conv2d', 'deform_roi_pool'];

/** What `pnpm bench` measures without `--op`. */
export const DEFAULT_OP: BenchOp = 'deform_conv2d';

export function isBenchOp(v: unknown): v is BenchOp {
  return typeof v === 'string' && (BENCH_OPS as readonly string[]).includes(v);
}

/**
 * What the dcnv2 rows of the RoI pooling op compute: `modulated` = deformable RoI pooling with offsets and masks
 * (the op itself), `plain` = the same call without offset and mask, which is RoIAlign (aligned=True) and so like
 * for like with the RoIAlign peers (torchvision, ONNX Runtime), which have no offsets or masks.
 */
export type RoiVariant = 'modulated' | 'plain';
export const ROI_VARIANTS: readonly RoiVariant[] = ['modulated', 'plain'];
