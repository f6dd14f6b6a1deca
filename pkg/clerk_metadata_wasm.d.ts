/* tslint:disable */
/* eslint-disable */
import type { ClerkMetadataClientOptions, ClerkMetadataError } from "../js/client.js";


/**
 * A configured client. Cheap to call concurrently: each call clones an `Rc`.
 */
export class WasmClient {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Empties the field (`PUT {}`).
     */
    clear(kind: string, user_id: any, options: any): Promise<any>;
    /**
     * One key's value, or `undefined` when the key is absent.
     */
    getKey(kind: string, user_id: any, key: any, options: any): Promise<any>;
    /**
     * The metadata object of `kind` ("public", "private" or "unsafe"); `{}` when empty.
     */
    get(kind: string, user_id: any, options: any): Promise<any>;
    /**
     * Whether `key` is a member of the metadata, whatever its value.
     */
    hasKey(kind: string, user_id: any, key: any, options: any): Promise<any>;
    /**
     * One page of Clerk's user list, oldest first, after the user `startingAfter` (when given):
     * Clerk's user objects as sent.
     */
    listUsers(limit: any, starting_after: any, options: any): Promise<any>;
    /**
     * Deep-merges `metadata` into the field on Clerk's side (`PATCH`); `null` removes a key.
     */
    merge(kind: string, user_id: any, metadata: any, options: any): Promise<any>;
    /**
     * Builds a client. `environment` holds `CLERK_SECRET_KEY` and `CLERK_API_URL` as the host
     * read them, used where the options say nothing. Throws only for malformed options; a missing
     * or malformed secret key or API URL is reported by each call instead, in its own words.
     */
    constructor(options: ClerkMetadataClientOptions | undefined, environment: { secretKey: string | undefined; apiUrl: string | undefined }, error_class: typeof ClerkMetadataError);
    /**
     * Removes these keys in one `PATCH` (`{key: null, …}`); an empty list sends nothing.
     */
    removeKeys(kind: string, user_id: any, keys: any, options: any): Promise<any>;
    /**
     * Replaces the whole field with `metadata` (`PUT`).
     */
    replace(kind: string, user_id: any, metadata: any, options: any): Promise<any>;
    /**
     * Sets one key to exactly `value`, leaving every other key alone.
     */
    setKey(kind: string, user_id: any, key: any, value: any, options: any): Promise<any>;
    /**
     * Sets several keys to exactly these values in one write; `{}` sends nothing.
     */
    setKeys(kind: string, user_id: any, entries: any, options: any): Promise<any>;
}

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_wasmclient_free: (a: number, b: number) => void;
    readonly wasmclient_clear: (a: number, b: number, c: number, d: any, e: any) => any;
    readonly wasmclient_get: (a: number, b: number, c: number, d: any, e: any) => any;
    readonly wasmclient_getKey: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_hasKey: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_listUsers: (a: number, b: any, c: any, d: any) => any;
    readonly wasmclient_merge: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_new: (a: any, b: any, c: any) => [number, number, number];
    readonly wasmclient_removeKeys: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_replace: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_setKey: (a: number, b: number, c: number, d: any, e: any, f: any, g: any) => any;
    readonly wasmclient_setKeys: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasm_bindgen__convert__closures_____invoke__h60702a48838d1764: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475: (a: number, b: number, c: any, d: any) => void;
    readonly wasm_bindgen__convert__closures_____invoke__ha541e916e188927e: (a: number, b: number, c: any) => void;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __externref_table_alloc: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_destroy_closure: (a: number, b: number) => void;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
