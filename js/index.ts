/**
 * clerk-metadata-wasm: Clerk user metadata from server-side JavaScript, over the host's `fetch`.
 *
 * The default entry: the wasm core is inlined, so it loads in Node (ESM and CJS), Convex's
 * `"use node"` and default runtimes, Bun, Deno and edge runtimes without reading a file.
 */
import { setWasmSource } from "./wasm.js";
import { inlineWasmBytes } from "./wasm-inline.js";

setWasmSource(inlineWasmBytes);

export * from "./client.js";
