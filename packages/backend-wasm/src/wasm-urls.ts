/**
 * The shipped kernel builds. Written as `new URL('literal', import.meta.url)` so that bundlers (Vite,
 * webpack 5, Parcel, esbuild with a file loader) recognise and copy the .wasm assets.
 */
export type KernelVariant = 'simd' | 'relaxed';

export function kernelUrl(variant: KernelVariant, threaded: boolean): URL {
  if (variant === 'relaxed') {
    return threaded ? new URL('./wasm/dcn-relaxed-mt.wasm', import.meta.url) : new URL('./wasm/dcn-relaxed.wasm', import.meta.url);
  }
  return threaded ? new URL('./wasm/dcn-simd-mt.wasm', import.meta.url) : new URL('./wasm/dcn-simd.wasm', import.meta.url);
}

export function workerUrl(): URL {
  return new URL('./worker.js', import.meta.url);
}
