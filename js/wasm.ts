/**
 * Loads the wasm core once, on first use rather than at import, so importing the package costs
 * nothing until a function is called.
 *
 * Where the module's bytes come from depends on the host, so each entry point registers a source:
 * the default entry inlines the bytes as base64 (works in Node, Convex's bundles, Bun, Deno,
 * workerd and edge runtimes); an entry for hosts that forbid compiling wasm from bytes at run
 * time can hand over a precompiled `WebAssembly.Module` instead.
 */
import { initSync, WasmClient } from "../pkg/clerk_metadata_wasm.js";
import type { ClerkMetadataClientOptions, ClerkMetadataError } from "./client.js";

export type WasmSource = () => BufferSource | WebAssembly.Module;

let source: WasmSource | undefined;
let loaded = false;

/** Called once by the entry point. */
export function setWasmSource(next: WasmSource): void {
  source = next;
}

/** What the environment says, read by the caller at the time it matters (see js/client.ts). */
export interface Environment {
  secretKey: string | undefined;
  apiUrl: string | undefined;
}

/** A new wasm client; instantiates the module the first time. */
export function newWasmClient(
  options: ClerkMetadataClientOptions | undefined,
  environment: Environment,
  errorClass: typeof ClerkMetadataError,
): WasmClient {
  if (!loaded) {
    if (source === undefined) {
      throw new Error("clerk-metadata-wasm: no wasm source registered (import the package entry, not an internal file)");
    }
    initSync({ module: source() });
    loaded = true;
  }
  return new WasmClient(options, environment, errorClass);
}

export type { WasmClient };
