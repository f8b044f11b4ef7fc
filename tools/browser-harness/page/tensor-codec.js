// In-page half of the golden payload (the Node half is src/golden-in-page.ts): float32 tensors travel
// between the test and the page as base64 strings. serveStatic serves this directory under /harness/.

/** base64 -> Float32Array */
export function decode(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/** Float32Array -> base64 (in chunks: String.fromCharCode takes a bounded argument list). */
export function encode(f32) {
  const bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A host tensor `{ shape, data }` from a shape and base64 data, or null for an absent tensor. */
export function tensor(shape, b64) {
  return b64 === null ? null : { shape, data: decode(b64) };
}
