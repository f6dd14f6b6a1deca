/**
 * clerk-metadata-wasm for hosts that forbid compiling WebAssembly from bytes at run time
 * (Cloudflare Workers in production): the same public API as the default entry, but the wasm
 * core arrives as a precompiled `WebAssembly.Module` through a `.wasm` module import.
 *
 * Built to dist/workerd.mjs with the import kept as `./clerk_metadata_wasm_bg.wasm` and that file
 * copied beside it; the package's `workerd` and `worker` export conditions select it. wrangler (and
 * esbuild with a `.wasm` loader of `copy`/`file`, or workerd's own `wasm` modules) uploads the file
 * as a wasm module, whose default export is the compiled `WebAssembly.Module`.
 */
import { setWasmSource } from "./wasm.js";
// @ts-ignore -- TypeScript has no type for a `.wasm` module import (TS2307); in a Workers bundle its
// default export is the compiled `WebAssembly.Module`.
import wasmModule from "../pkg/clerk_metadata_wasm_bg.wasm";

setWasmSource(() => wasmModule as unknown as WebAssembly.Module);

export * from "./client.js";
