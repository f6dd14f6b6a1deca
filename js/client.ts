/**
 * The public API: a drop-in for `convex/utils/clerk.ts` (the eight functions, same names and
 * call shapes), a factory for explicit configuration, and the error class (js/errors.ts).
 *
 * This file only adapts: every check, request and parse happens in the wasm core. What lives here
 * is what only the host knows: where configuration comes from (`process.env` at call time) and
 * how errors become instances of an exported class.
 */
import { newWasmClient } from "./wasm.js";
import { field } from "./fields.js";
import { ClerkMetadataError } from "./errors.js";

export * from "./errors.js";


/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

declare global {
  /**
   * The shape of a user's public metadata, Clerk's own convention (`@clerk/backend` reads and
   * writes against the same interface). Augment it to type your keys; until you do, reads return
   * `{ [key: string]: unknown }` and writes take any plain object:
   *
   * ```ts
   * declare global {
   *   interface UserPublicMetadata { role?: "admin" | "user"; permissions?: string[] }
   * }
   * ```
   */
  // Empty on purpose: an index signature here would make every key valid for every app.
  interface UserPublicMetadata {}
  /** The shape of a user's private metadata; augment it as {@link UserPublicMetadata}. */
  interface UserPrivateMetadata {}
  /** The shape of a user's unsafe metadata; augment it as {@link UserPublicMetadata}. */
  interface UserUnsafeMetadata {}
}

/**
 * A metadata interface as the functions see it: itself once augmented, and an object with any
 * keys while it is still empty (never augmented).
 */
export type MetadataOf<T> = [keyof T] extends [never] ? { [key: string]: unknown } : T;

/**
 * The shape of a user's public metadata: the global `UserPublicMetadata` (see there).
 *
 * @deprecated Augment the global `UserPublicMetadata` (Clerk's convention) instead; this alias
 * follows it, and can no longer be augmented with `declare module "clerk-metadata-wasm"`.
 */
export type PublicMetadata = MetadataOf<UserPublicMetadata>;

/** One member's value in a merge: objects merge (so they are partial too), arrays and the rest replace. */
type MetadataMergeValue<V> = V extends readonly unknown[] | Date
  ? V
  : V extends object
    ? MetadataMerge<V>
    : V;

/**
 * What a merge (`PATCH`, Clerk deep-merges) accepts for metadata of shape `T`: every member
 * optional at every depth, and `null` (which deletes the member) allowed only where the member
 * is optional, so a merge cannot leave a required member missing. Arrays replace whole.
 */
export type MetadataMerge<T> = {
  [K in keyof T]?: MetadataMergeValue<Exclude<T[K], undefined>> | ({} extends Pick<T, K> ? null : never);
};

/**
 * Metadata passed in. Checked at run time: plain objects, arrays, strings, finite numbers,
 * booleans, `null` and `Date`s only; `undefined` members are dropped as `JSON.stringify` does.
 */
export type MetadataInput = Record<string, unknown>;

/** The three metadata fields of a Clerk user. */
export type MetadataKind = "public" | "private" | "unsafe";

/** A rate-limit window: at most `requests` per `windowMs`. */
export interface RateLimitWindow {
  requests: number;
  windowMs: number;
}

/**
 * A rate limiter shared beyond one client (a Convex component, Redis). `acquire` resolves when
 * the request may be sent: it must take a per-user write slot when `write` is true, and an
 * instance slot for every request. `live` says whether the client's key is a production one
 * (`sk_live_`: Clerk's instance limit is 1000 per 10 s, else 100), so the limiter never needs the
 * key. It may resolve with a function, called once when the answer is in (the slot then frees a
 * window later), whose promise, if it returns one, is awaited until the call's deadline.
 * Rejecting fails the call with `network_error`.
 */
export interface ClerkRateLimiter {
  acquire(request: { userId: string; write: boolean; signal?: AbortSignal; live?: boolean }): Promise<void | (() => void | Promise<void>)>;
  /**
   * Optional: holds the user exclusively across an exact set's read and patch (a
   * `setUserPublicMetadataKey` whose value is an object), so that no write from another process
   * lands between them. Resolves with the function that lets go; the hold should also expire on
   * its own (a lease), in case the process dies holding it. Rejecting fails the call with
   * `network_error` before anything is sent.
   */
  lockUser?(request: { userId: string; signal?: AbortSignal }): Promise<void | (() => void | Promise<void>)>;
}

/** What {@link ClerkMetadataClientOptions.onWait} is told. */
export interface ClerkMetadataWait {
  reason: "rate_limit" | "retry";
  /** How long the wait may last, in ms (a rate-limit wait may end early when a slot frees). */
  ms: number;
  /** Requests sent so far for this operation. */
  attempts: number;
  /** For a retry, the HTTP status that caused it, when a response arrived. */
  status?: number;
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
  /**
   * Called before the client waits: for the rate limiter (`reason: "rate_limit"`, once per
   * request) or before a retry (`"retry"`, with the status that caused it). For notices and
   * logs; what it throws is ignored.
   */
  onWait?: ((wait: ClerkMetadataWait) => void) | undefined;
  /** A limiter shared with other processes, used instead of the built-in one (see {@link ClerkRateLimiter}). */
  limiter?: ClerkRateLimiter | undefined;
  /**
   * Called with Clerk's answer (the user object, as `GET /v1/users/{id}` returns it) after each
   * successful write of this client, and awaited before the write's promise resolves: a copy of
   * the user kept elsewhere (a database mirror, a cache) is fresh when the caller goes on. A
   * write that sends nothing (`removeKeys(id, [])`, `setKeys(id, {})`) calls it not at all.
   * If it throws (or its promise rejects), the write's promise rejects with that same value,
   * unchanged: the write itself was applied by Clerk and is not undone or sent again. In the
   * many-user operations that item is reported as an error (code `unknown` unless the value is
   * a `ClerkMetadataError`).
   */
  onUserWritten?: ((user: ClerkUserObject) => void | Promise<void>) | undefined;
}

/**
 * A Clerk user object as the Backend API returns it (the members this package relies on; the
 * rest are there too). `updated_at` (Unix ms) orders the states of one user.
 */
export interface ClerkUserObject {
  object: "user";
  id: string;
  public_metadata: { [key: string]: unknown };
  private_metadata: { [key: string]: unknown };
  unsafe_metadata: { [key: string]: unknown };
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call (and any wait for a retry or the rate limiter); it fails with code `aborted`. */
  signal?: AbortSignal;
}

/** The keys of metadata shape `T` a function can name (its string keys). */
export type MetadataKey<T> = keyof T & string;

/** The eight functions of `convex/utils/clerk.ts`, typed by the global `UserPublicMetadata`. */
export interface PublicMetadataFunctions {
  /** Replaces the user's public metadata with `metadata` (`PUT`). */
  updateUserPublicMetadata(userId: string, metadata: MetadataOf<UserPublicMetadata>, options?: CallOptions): Promise<void>;
  /** The user's public metadata (`{}` when empty). */
  getUserPublicMetadata<T extends object = MetadataOf<UserPublicMetadata>>(userId: string, options?: CallOptions): Promise<T>;
  /** Deep-merges `metadata` into the stored metadata on Clerk's side; a `null` member removes that key. */
  mergeUserPublicMetadata(
    userId: string,
    metadata: MetadataMerge<MetadataOf<UserPublicMetadata>>,
    options?: CallOptions,
  ): Promise<void>;
  /** Removes these keys in one request; an empty list sends nothing. */
  removeUserPublicMetadataKeys(
    userId: string,
    keysToRemove: readonly MetadataKey<MetadataOf<UserPublicMetadata>>[],
    options?: CallOptions,
  ): Promise<void>;
  /** Sets `metadata[key]` to exactly `value` (an object replaces, it is not merged), leaving other keys alone. */
  setUserPublicMetadataKey<K extends MetadataKey<MetadataOf<UserPublicMetadata>>>(
    userId: string,
    key: K,
    value: MetadataOf<UserPublicMetadata>[K],
    options?: CallOptions,
  ): Promise<void>;
  /** The value under `key`, or `undefined` when absent (`false`, `0`, `""`, `null` are returned as stored). */
  getUserPublicMetadataKey<K extends MetadataKey<MetadataOf<UserPublicMetadata>>>(
    userId: string,
    key: K,
    options?: CallOptions,
  ): Promise<MetadataOf<UserPublicMetadata>[K] | undefined>;
  /** Whether `key` is present, whatever its value. */
  hasUserPublicMetadataKey(userId: string, key: string, options?: CallOptions): Promise<boolean>;
  /** Empties the user's public metadata. */
  clearUserPublicMetadata(userId: string, options?: CallOptions): Promise<void>;
}

/** Options of the many-user operations (`mergeMany`, `setKeysMany`, `replaceMany`, `removeKeysMany`). */
export interface BatchOptions {
  /** Users worked on at once (default 8). Every request still goes through the rate limiter. */
  concurrency?: number;
  /** Start no new item after the first failure; the rest are reported `skipped` (default false). */
  stopOnError?: boolean;
  /** Called as each item settles. */
  onProgress?: (progress: { done: number; total: number; failed: number; result: BatchItemResult }) => void;
  /** Aborts the items in flight and skips the rest. */
  signal?: AbortSignal;
}

/** What happened to one item of a many-user operation, in input order. */
export type BatchItemResult =
  | { index: number; userId: string; status: "ok" }
  | { index: number; userId: string; status: "error"; error: ClerkMetadataError }
  | { index: number; userId: string; status: "skipped" };

/**
 * The same operations for any of the three metadata fields, typed by the field's shape `T`
 * (`client.public` by the global `UserPublicMetadata`, and so on).
 */
export interface MetadataFieldClient<T extends object = { [key: string]: unknown }> {
  get<R extends object = T>(userId: string, options?: CallOptions): Promise<R>;
  getKey<K extends MetadataKey<T>>(userId: string, key: K, options?: CallOptions): Promise<T[K] | undefined>;
  hasKey(userId: string, key: string, options?: CallOptions): Promise<boolean>;
  replace(userId: string, metadata: T, options?: CallOptions): Promise<void>;
  merge(userId: string, metadata: MetadataMerge<T>, options?: CallOptions): Promise<void>;
  removeKeys(userId: string, keys: readonly MetadataKey<T>[], options?: CallOptions): Promise<void>;
  setKey<K extends MetadataKey<T>>(userId: string, key: K, value: T[K], options?: CallOptions): Promise<void>;
  /** Sets several keys to exactly these values in one write. */
  setKeys(userId: string, entries: Partial<T>, options?: CallOptions): Promise<void>;
  clear(userId: string, options?: CallOptions): Promise<void>;
  /** Merges into many users; one result per item, a failure never hides the others. */
  mergeMany(items: readonly { userId: string; metadata: MetadataMerge<T> }[], options?: BatchOptions): Promise<BatchItemResult[]>;
  /** Sets keys exactly (as `setKeys`) for many users. */
  setKeysMany(items: readonly { userId: string; entries: Partial<T> }[], options?: BatchOptions): Promise<BatchItemResult[]>;
  /** Replaces the metadata of many users (as `replace`). */
  replaceMany(items: readonly { userId: string; metadata: T }[], options?: BatchOptions): Promise<BatchItemResult[]>;
  /** Removes keys from many users. */
  removeKeysMany(
    items: readonly { userId: string; keys: readonly MetadataKey<T>[] }[],
    options?: BatchOptions,
  ): Promise<BatchItemResult[]>;
}

/** A configured client: the eight functions, plus every field's operations. */
export interface ClerkMetadataClient extends PublicMetadataFunctions {
  /** Sets several public keys to exactly these values in one write. */
  setUserPublicMetadataKeys(userId: string, entries: Partial<MetadataOf<UserPublicMetadata>>, options?: CallOptions): Promise<void>;
  readonly public: MetadataFieldClient<MetadataOf<UserPublicMetadata>>;
  readonly private: MetadataFieldClient<MetadataOf<UserPrivateMetadata>>;
  readonly unsafe: MetadataFieldClient<MetadataOf<UserUnsafeMetadata>>;
  /**
   * One page of Clerk's user list (`GET /v1/users`), oldest first: up to `limit` users (1 to 500,
   * default 100) created after the user `startingAfter`, Clerk's user objects as sent. The page
   * after this one starts after its last user; a page shorter than `limit` is the last.
   */
  listUsers(page?: { limit?: number; startingAfter?: string }, options?: CallOptions): Promise<ClerkUserObject[]>;
}

/** Reads an environment variable where there is a `process.env` (Node, Bun, Deno, Convex). */
function env(name: string): string | undefined {
  const host = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return host.process?.env?.[name];
}

/**
 * A client with explicit configuration. Options it does not set fall back to `CLERK_SECRET_KEY`
 * and `CLERK_API_URL` as they are when the client is created. Throws only for malformed options
 * (a wrong type, a negative timeout); a missing or malformed key is reported by each call.
 */
export function createClerkMetadataClient(options?: ClerkMetadataClientOptions): ClerkMetadataClient {
  const environment = { secretKey: env("CLERK_SECRET_KEY"), apiUrl: env("CLERK_API_URL") };
  const wasm = newWasmClient(options, environment, ClerkMetadataError);
  // Checked to be a function (or absent) by the wasm client; given, writes resolve with the user.
  const onUserWritten = options?.onUserWritten ?? undefined;
  const fields = {
    public: field<MetadataOf<UserPublicMetadata>>(wasm, "public", onUserWritten),
    private: field<MetadataOf<UserPrivateMetadata>>(wasm, "private", onUserWritten),
    unsafe: field<MetadataOf<UserUnsafeMetadata>>(wasm, "unsafe", onUserWritten),
  };
  const pub = fields.public;
  return {
    ...fields,
    updateUserPublicMetadata: (userId, metadata, callOptions) => pub.replace(userId, metadata, callOptions),
    getUserPublicMetadata: <T extends object = MetadataOf<UserPublicMetadata>>(userId: string, callOptions?: CallOptions) =>
      pub.get<T>(userId, callOptions),
    mergeUserPublicMetadata: (userId, metadata, callOptions) => pub.merge(userId, metadata, callOptions),
    removeUserPublicMetadataKeys: (userId, keys, callOptions) => pub.removeKeys(userId, keys, callOptions),
    setUserPublicMetadataKey: (userId, key, value, callOptions) => pub.setKey(userId, key, value, callOptions),
    setUserPublicMetadataKeys: (userId, entries, callOptions) => pub.setKeys(userId, entries, callOptions),
    getUserPublicMetadataKey: (userId, key, callOptions) => pub.getKey(userId, key, callOptions),
    hasUserPublicMetadataKey: (userId, key, callOptions) => pub.hasKey(userId, key, callOptions),
    clearUserPublicMetadata: (userId, callOptions) => pub.clear(userId, callOptions),
    listUsers: (page, callOptions) => wasm.listUsers(page?.limit ?? 100, page?.startingAfter, callOptions),
  };
}

/** Options set by {@link configureDefaults}, shared by the top-level functions. */
let defaults: ClerkMetadataClientOptions = {};
let cached:
  | { secretKey: string | undefined; apiUrl: string | undefined; defaults: ClerkMetadataClientOptions; client: ClerkMetadataClient }
  | undefined;

/** The key and origin the top-level functions use now: the defaults', else the environment's. */
function defaultTarget(options: ClerkMetadataClientOptions): { secretKey: string | undefined; apiUrl: string | undefined } {
  return { secretKey: options.secretKey ?? env("CLERK_SECRET_KEY"), apiUrl: options.apiUrl ?? env("CLERK_API_URL") };
}

/**
 * Sets the options of the eight top-level functions (and `setUserPublicMetadataKeys`), e.g.
 * `configureDefaults({ rateLimit: false, maxRetries: 0, timeoutMs: 500 })` in tests. A
 * `secretKey`/`apiUrl` given here overrides `CLERK_SECRET_KEY`/`CLERK_API_URL`; otherwise those
 * are still read at each call. Each call replaces the previous defaults (it does not merge with
 * them); `configureDefaults()` restores the built-in ones. Malformed options throw a
 * {@link ClerkMetadataError} here, and the previous defaults stay in effect.
 */
export function configureDefaults(options?: ClerkMetadataClientOptions): void {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    // Let the client's own validation word the error.
    createClerkMetadataClient(options);
  }
  const next: ClerkMetadataClientOptions = { ...options };
  const target = defaultTarget(next);
  const client = createClerkMetadataClient({ ...next, ...target });
  defaults = next;
  cached = { ...target, defaults: next, client };
}

/**
 * The client behind the eight top-level functions: configured from {@link configureDefaults}
 * and the environment as it is at each call (so a key set after import is seen), and reused
 * while neither changes (so its rate limiter sees every call).
 */
export function defaultClient(): ClerkMetadataClient {
  const { secretKey, apiUrl } = defaultTarget(defaults);
  if (cached === undefined || cached.defaults !== defaults || cached.secretKey !== secretKey || cached.apiUrl !== apiUrl) {
    cached = { secretKey, apiUrl, defaults, client: createClerkMetadataClient({ ...defaults, secretKey, apiUrl }) };
  }
  return cached.client;
}

/** Replaces the user's public metadata completely (`PUT /v1/users/{id}/metadata`). */
export function updateUserPublicMetadata(
  userId: string,
  metadata: MetadataOf<UserPublicMetadata>,
  options?: CallOptions,
): Promise<void> {
  return defaultClient().updateUserPublicMetadata(userId, metadata, options);
}

/** The user's complete public metadata (`{}` when empty). */
export function getUserPublicMetadata<T extends object = MetadataOf<UserPublicMetadata>>(
  userId: string,
  options?: CallOptions,
): Promise<T> {
  return defaultClient().getUserPublicMetadata<T>(userId, options);
}

/**
 * Merges `metadata` into the stored metadata in one `PATCH`; Clerk deep-merges on its side, so
 * concurrent merges of different keys never lose each other. Nested objects merge too, and a key
 * set to `null` is removed.
 */
export function mergeUserPublicMetadata(
  userId: string,
  metadata: MetadataMerge<MetadataOf<UserPublicMetadata>>,
  options?: CallOptions,
): Promise<void> {
  return defaultClient().mergeUserPublicMetadata(userId, metadata, options);
}

/** Removes these keys in one request (an empty list sends nothing). */
export function removeUserPublicMetadataKeys(
  userId: string,
  keysToRemove: readonly MetadataKey<MetadataOf<UserPublicMetadata>>[],
  options?: CallOptions,
): Promise<void> {
  return defaultClient().removeUserPublicMetadataKeys(userId, keysToRemove, options);
}

/**
 * Sets `metadata[key]` to exactly `value`, leaving every other key untouched, in one write. An
 * object value replaces the stored one (it is not merged into it); that case reads first.
 */
export function setUserPublicMetadataKey<K extends MetadataKey<MetadataOf<UserPublicMetadata>>>(
  userId: string,
  key: K,
  value: MetadataOf<UserPublicMetadata>[K],
  options?: CallOptions,
): Promise<void> {
  return defaultClient().setUserPublicMetadataKey(userId, key, value, options);
}

/** The value under `key`, or `undefined` when the key is absent. */
export function getUserPublicMetadataKey<K extends MetadataKey<MetadataOf<UserPublicMetadata>>>(
  userId: string,
  key: K,
  options?: CallOptions,
): Promise<MetadataOf<UserPublicMetadata>[K] | undefined> {
  return defaultClient().getUserPublicMetadataKey(userId, key, options);
}

/** Whether `key` is present in the user's public metadata, whatever its value. */
export function hasUserPublicMetadataKey(userId: string, key: string, options?: CallOptions): Promise<boolean> {
  return defaultClient().hasUserPublicMetadataKey(userId, key, options);
}

/** Sets several keys to exactly these values in one write, leaving every other key untouched. */
export function setUserPublicMetadataKeys(userId: string, entries: Partial<MetadataOf<UserPublicMetadata>>, options?: CallOptions): Promise<void> {
  return defaultClient().setUserPublicMetadataKeys(userId, entries, options);
}

/** Empties the user's public metadata (`PUT` with `{}`). */
export function clearUserPublicMetadata(userId: string, options?: CallOptions): Promise<void> {
  return defaultClient().clearUserPublicMetadata(userId, options);
}
