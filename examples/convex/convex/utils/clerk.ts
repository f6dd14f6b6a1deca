export * from "clerk-metadata-wasm";
