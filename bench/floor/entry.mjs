// The floor's bundle entry (bundled by build.mjs into out/floor.mjs): like the package's
// js/wasm.ts + js/wasm-inline.ts, the wasm is inlined as base64 and instantiated with initSync
// on the first client created, not at import.
import { FloorClient, initSync } from "./out/clerk_metadata_floor.js";

let loaded = false;

function inlineWasmBytes() {
  const base64 = __FLOOR_WASM_BASE64__;
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(base64);
  if (globalThis.Buffer !== undefined) return globalThis.Buffer.from(base64, "base64");
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** `createFloorClient({ secretKey, apiUrl, timeoutMs? })` → `{ get(userId), merge(userId, metadata) }`. */
export function createFloorClient(options) {
  if (!loaded) {
    initSync({ module: inlineWasmBytes() });
    loaded = true;
  }
  return new FloorClient(options);
}
