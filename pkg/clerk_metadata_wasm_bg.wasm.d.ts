/* tslint:disable */
/* eslint-disable */
export const memory: WebAssembly.Memory;
export const __wbg_wasmclient_free: (a: number, b: number) => void;
export const wasmclient_clear: (a: number, b: number, c: number, d: any, e: any) => any;
export const wasmclient_get: (a: number, b: number, c: number, d: any, e: any) => any;
export const wasmclient_getKey: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
export const wasmclient_hasKey: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
export const wasmclient_listUsers: (a: number, b: any, c: any, d: any) => any;
export const wasmclient_merge: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
export const wasmclient_new: (a: any, b: any, c: any) => [number, number, number];
export const wasmclient_removeKeys: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
export const wasmclient_replace: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
export const wasmclient_setKey: (a: number, b: number, c: number, d: any, e: any, f: any, g: any) => any;
export const wasmclient_setKeys: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
export const wasm_bindgen__convert__closures_____invoke__h60702a48838d1764: (a: number, b: number, c: any) => [number, number];
export const wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475: (a: number, b: number, c: any, d: any) => void;
export const wasm_bindgen__convert__closures_____invoke__ha541e916e188927e: (a: number, b: number, c: any) => void;
export const __wbindgen_exn_store: (a: number) => void;
export const __externref_table_alloc: () => number;
export const __wbindgen_externrefs: WebAssembly.Table;
export const __wbindgen_malloc: (a: number, b: number) => number;
export const __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
export const __wbindgen_free: (a: number, b: number, c: number) => void;
export const __wbindgen_destroy_closure: (a: number, b: number) => void;
export const __externref_table_dealloc: (a: number) => void;
export const __wbindgen_start: () => void;
