/* tslint:disable */
/* eslint-disable */

/** A rate-limit window: at most `requests` per `windowMs`. */
export interface RateLimitWindow {
    requests: number;
    windowMs: number;
}

/**
 * A rate limiter shared beyond one client (a Convex component, Redis). `acquire` resolves when
 * the request may be sent: it must take a per-user write slot when `write` is true, and an
 * instance slot for every request. It may resolve with a function, called once when the answer
 * is in (the slot then frees a window later). Rejecting fails the call with `network_error`.
 */
export interface ClerkRateLimiter {
    acquire(request: { userId: string; write: boolean; signal?: AbortSignal }): Promise<void | (() => void)>;
}

/** Options of {@link createClerkMetadataClient}. All optional; `undefined` means the default. */
export interface ClerkMetadataClientOptions {
    /** Clerk secret key (`sk_test_…` / `sk_live_…`); surrounding whitespace is trimmed. Default: `CLERK_SECRET_KEY`. */
    secretKey?: string | undefined;
    /** Backend API origin (a trailing `/v1` is dropped). Default: `CLERK_API_URL`, else `https://api.clerk.com`. */
    apiUrl?: string | undefined;
    /** The fetch to use. Default: the global `fetch`, looked up at each call. */
    fetch?: ((input: string, init: RequestInit) => Promise<Response>) | undefined;
    /** Per-request timeout in ms (default 10 000). */
    timeoutMs?: number | undefined;
    /** Retries after the first attempt for 429, 5xx, network errors and read timeouts (default 2; 0 disables). */
    maxRetries?: number | undefined;
    /** Upper bound for a whole operation, requests in flight, retries and waits included, in ms (default 60 000). */
    deadlineMs?: number | undefined;
    /** A 429 (or 503) whose `Retry-After` is longer than this is returned at once instead of waited for (default 15 000 ms). */
    maxRetryAfterMs?: number | undefined;
    /** First backoff ceiling in ms, doubled per retry, full jitter (default 200). */
    retryBaseDelayMs?: number | undefined;
    /**
     * Send a write again when its outcome is unknown (it timed out, or its connection dropped after
     * the body was sent). Off by default: the call fails with `outcomeUnknown: true`. When on, the
     * retry waits `writeSettleMs` first, so the first request cannot land after it.
     */
    retryUnknownWrites?: boolean | undefined;
    /**
     * How long after a write of unknown outcome was abandoned (its connection closed) it is
     * assumed unable to land; this client's next write to that user waits until then (default 10 000).
     */
    writeSettleMs?: number | undefined;
    /**
     * Allow a secret key where a `window` or `document` global exists. Off by default: in a page,
     * any script could read the key. Only for server code in such hosts (tests under jsdom, Electron's main process).
     */
    dangerouslyAllowBrowser?: boolean | undefined;
    /**
     * Opt-in read cache: reads within `ttlMs` (default 60 000) send no request; every write
     * refreshes the user from Clerk's answer; a failed write forgets the user. At most `maxUsers`
     * users (default 1000). Off by default. Concurrent reads of one user always share one request.
     */
    cache?: boolean | { ttlMs?: number | undefined; maxUsers?: number | undefined } | undefined;
    /** Refuse metadata whose JSON is larger than this many bytes before sending (default 8192, Clerk's limit). */
    maxMetadataBytes?: number | undefined;
    /**
     * Client-side rate limiting that queues requests to stay within Clerk's limits (default: on,
     * 10 writes / 10 s per user and 100 or 1000 requests / 10 s per instance). `false` turns it off.
     */
    rateLimit?:
    | boolean
    | {
        userWrites?: boolean | RateLimitWindow | undefined;
        instance?: boolean | RateLimitWindow | undefined;
    }
    | undefined;
    /** A limiter shared with other processes, used instead of the built-in one (see {@link ClerkRateLimiter}). */
    limiter?: ClerkRateLimiter | undefined;
}



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
     * Deep-merges `metadata` into the field on Clerk's side (`PATCH`); `null` removes a key.
     */
    merge(kind: string, user_id: any, metadata: any, options: any): Promise<any>;
    /**
     * Builds a client. `environment` holds `CLERK_SECRET_KEY` and `CLERK_API_URL` as the host
     * read them, used where the options say nothing. Throws only for malformed options; a missing
     * or malformed secret key or API URL is reported by each call instead, in its own words.
     */
    constructor(options: ClerkMetadataClientOptions | undefined, environment: { secretKey: string | undefined; apiUrl: string | undefined });
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
    readonly wasmclient_merge: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_new: (a: any, b: any) => [number, number, number];
    readonly wasmclient_removeKeys: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_replace: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasmclient_setKey: (a: number, b: number, c: number, d: any, e: any, f: any, g: any) => any;
    readonly wasmclient_setKeys: (a: number, b: number, c: number, d: any, e: any, f: any) => any;
    readonly wasm_bindgen__convert__closures_____invoke__h60702a48838d1764: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475: (a: number, b: number, c: any, d: any) => void;
    readonly wasm_bindgen__convert__closures_____invoke__hfe13055485a24754: (a: number, b: number) => void;
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
