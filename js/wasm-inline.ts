/**
 * The wasm bytes inlined as base64, for hosts that may compile wasm from bytes at run time.
 *
 * `__CLERK_METADATA_WASM_BASE64__` is replaced by scripts/build.mjs (esbuild `define`) with the
 * base64 of pkg/clerk_metadata_wasm_bg.wasm. Inlining rather than reading a file beside the
 * bundle is what lets Convex's esbuild bundles, Bun, Deno and workers load the package unchanged.
 */
declare const __CLERK_METADATA_WASM_BASE64__: string;

interface BufferLike {
  from(text: string, encoding: "base64"): Uint8Array;
}
interface Uint8ArrayWithBase64 {
  fromBase64?: (text: string) => Uint8Array;
}

/** Decodes the inlined module with the fastest decoder the host has. */
export function inlineWasmBytes(): Uint8Array {
  const base64 = __CLERK_METADATA_WASM_BASE64__;
  const fromBase64 = (Uint8Array as unknown as Uint8ArrayWithBase64).fromBase64;
  if (typeof fromBase64 === "function") return fromBase64(base64);
  const buffer = (globalThis as { Buffer?: BufferLike }).Buffer;
  if (buffer !== undefined) return buffer.from(base64, "base64");
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
