/**
 * The rows of `@dcnv2/tfjs` (dcnv2's ops as tfjs kernels) and the direct dcnv2 row each is measured against:
 * `tfjs-dcnv2-<backend>` calls `deformConv2d` of @dcnv2/tfjs with NCHW tensors (the case's own layout) on
 * tfjs `<backend>`, whose kernels run on the dcnv2 backend of the same name; `tfjs-nhwc-<backend>` is the same
 * call in tfjs's default layout (NHWC input, HWIO weight), the layout change happening inside the kernels.
 * The NHWC ids deliberately do not contain `tfjs-dcnv2`, so `--impl tfjs-dcnv2` runs only the NCHW rows
 * (`--impl tfjs-nhwc` or `--impl tfjs` adds them); and `--impl dcnv2-cpu` names the direct row alone, not the
 * `tfjs-dcnv2-cpu` that contains it (impls.ts's matchesFilter).
 */

/** The tfjs backends @dcnv2/tfjs runs on in Node, each served by the dcnv2 backend of the same name. */
export const TFJS_DCNV2_BACKENDS = ['cpu', 'wasm'] as const;
export type TfjsDcnv2Backend = (typeof TFJS_DCNV2_BACKENDS)[number];

/** Layout of the tensors a row hands to @dcnv2/tfjs. */
export type TfjsDcnv2Layout = 'NCHW' | 'NHWC';

export function tfjsDcnv2Id(backend: TfjsDcnv2Backend, layout: TfjsDcnv2Layout): string {
  return layout === 'NCHW' ? `tfjs-dcnv2-${backend}` : `tfjs-nhwc-${backend}`;
}

/** The id of the direct dcnv2 implementation (`dcnv2-cpu`) that a @dcnv2/tfjs row wraps; null for every other row. */
export function directImplOf(impl: string): string | null {
  const m = /^tfjs-(?:dcnv2|nhwc)-([a-z0-9]+)$/.exec(impl);
  return m === null ? null : `dcnv2-${m[1]}`;
}

/**
 * The direct dcnv2 row (`dcnv2-cpu@1t`, as records.ts's peerKey) that a @dcnv2/tfjs row is divided by: the
 * same backend at the tfjs rows' one thread. Null for every other row.
 */
export function directRowOf(impl: string): string | null {
  const d = directImplOf(impl);
  return d === null ? null : `${d}@1t`;
}
