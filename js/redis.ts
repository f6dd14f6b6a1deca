/**
 * clerk-metadata-wasm/redis: Clerk's rate limits shared by every process that points at one Redis.
 *
 * The built-in limiter counts within one process; a fleet of Node processes sharing one secret
 * key would overrun Clerk's limits together. `createRedisLimiter` gives the client (its `limiter`
 * option) slots counted in Redis by one Lua script, and a per-user lock for exact sets.
 *
 * This file is the entry's whole public surface; the parts live in js/redis/.
 */
import type { ClerkRateLimiter } from "./index.js";
import { connectOwnClient } from "./redis/connect.js";
import { SharedLimiter } from "./redis/limiter.js";
import { RedisStore, redactUrl } from "./redis/store.js";

/** A rate-limit window: at most `requests` per `windowMs`. */
export interface RedisLimitWindow {
  requests: number;
  windowMs: number;
}

/**
 * What the limiter needs of a Redis client: a client from `redis`'s `createClient` (node-redis 5
 * or 6; not a cluster client) has it. `isReady`, when present, is read so that a disconnected
 * client is not handed commands to queue.
 */
export interface RedisCommandClient {
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
  readonly isReady?: boolean;
}

/** Options of {@link createRedisLimiter}. All optional; `undefined` means the default. */
export interface RedisLimiterOptions {
  /** Redis URL (`redis://…`, `rediss://…`). Default: `REDIS_URL`. Ignored when `client` is given. */
  url?: string | undefined;
  /**
   * A connected node-redis client the app already has, used instead of making one from `url`.
   * The limiter never closes it. Give it `disableOfflineQueue: true` if you can; the limiter
   * does not send to it while it is not ready either way.
   */
  client?: RedisCommandClient | undefined;
  /**
   * Start of every key (default `"clerk-metadata"`; keys are `{prefix}:…`, a hash tag, so one
   * script's keys share a cluster slot). Apps sharing one Redis with different Clerk instances
   * must use different prefixes: the count is per prefix.
   */
  prefix?: string | undefined;
  /**
   * Clerk's limits, which the defaults are: 10 writes / 10 s per user; 100 requests / 10 s per
   * instance, or 1000 when the client says its key is a live one (`sk_live_`; the limiter never
   * sees the key).
   */
  limits?: { userWrites?: RedisLimitWindow | undefined; instance?: RedisLimitWindow | undefined } | undefined;
  /**
   * How long a slot or a user lock taken by a process that then died is held (default 75 000 ms).
   * Keep it longer than the client's `deadlineMs` (default 60 000): a call still in flight after
   * its lease is no longer counted.
   */
  leaseMs?: number | undefined;
  /**
   * When Redis cannot be reached (or answers with an error): `"local"` (default) limits this
   * process on its own with the same limits, as the built-in limiter would, and exact sets run
   * without the cross-process lock (the within-process guarantees hold); `"fail"` fails the call
   * with `network_error` "the rate limiter failed: Redis unreachable at …" before sending.
   * Redis is tried again on the next request, and used as soon as it answers.
   */
  onUnavailable?: "local" | "fail" | undefined;
  /** A Redis that has not answered within this many ms counts as unreachable (default 1000). */
  unavailableAfterMs?: number | undefined;
  /**
   * Called once per outage, when `"local"` first falls back (the error says why; it carries no
   * password). Default: one `console.warn`. Pass `() => {}` to silence it.
   */
  onFallback?: ((error: Error) => void) | undefined;
}

/**
 * The limiter: pass it as the client's `limiter` option. When the request's `signal` aborts,
 * `acquire` and `lockUser` resolve with a function that does nothing (no slot, no lock held): the
 * client has failed the call with `aborted` by then.
 */
export interface ClerkRedisLimiter extends ClerkRateLimiter {
  acquire(request: { userId: string; write: boolean; signal?: AbortSignal }): Promise<() => void>;
  lockUser(request: { userId: string; signal?: AbortSignal }): Promise<void | (() => void)>;
  /** Closes the Redis connection the limiter opened from `url` (not a `client` you passed). */
  close(): Promise<void>;
}

/** Clerk's documented limits. */
const USER_WRITES: RedisLimitWindow = { requests: 10, windowMs: 10_000 };
const INSTANCE_TEST: RedisLimitWindow = { requests: 100, windowMs: 10_000 };
const INSTANCE_LIVE: RedisLimitWindow = { requests: 1000, windowMs: 10_000 };

/**
 * A limiter that counts Clerk's limits in Redis, shared by every process using the same Redis and
 * prefix. Throws a TypeError or RangeError on bad options, at once; it never throws later.
 *
 * ```ts
 * import { createClerkMetadataClient } from "clerk-metadata-wasm";
 * import { createRedisLimiter } from "clerk-metadata-wasm/redis";
 *
 * const clerk = createClerkMetadataClient({ limiter: createRedisLimiter({ url: process.env.REDIS_URL }) });
 * ```
 */
export function createRedisLimiter(options: RedisLimiterOptions = {}): ClerkRedisLimiter {
  const unavailableAfterMs = positive(options.unavailableAfterMs ?? 1000, "unavailableAfterMs");
  // Redis takes whole milliseconds (PEXPIRE, SET PX).
  const leaseMs = Math.ceil(positive(options.leaseMs ?? 75_000, "leaseMs"));
  const onUnavailable = options.onUnavailable ?? "local";
  if (onUnavailable !== "local" && onUnavailable !== "fail") {
    throw new TypeError('createRedisLimiter: onUnavailable must be "local" or "fail"');
  }
  const prefix = options.prefix ?? "clerk-metadata";
  if (typeof prefix !== "string" || prefix.length === 0) throw new TypeError("createRedisLimiter: prefix must be a non-empty string");
  const userWrites = window(options.limits?.userWrites ?? USER_WRITES, "limits.userWrites");
  const configured = options.limits?.instance;
  const instance = {
    configured: configured === undefined ? undefined : window(configured, "limits.instance"),
    live: INSTANCE_LIVE,
    test: INSTANCE_TEST,
  };

  let store: RedisStore;
  let close = async (): Promise<void> => {};
  if (options.client !== undefined) {
    if (typeof options.client?.sendCommand !== "function") throw new TypeError("createRedisLimiter: client must be a node-redis client (it has no sendCommand)");
    store = new RedisStore({ client: options.client, label: "the given client", secrets: [], unavailableAfterMs });
  } else {
    const url = options.url ?? process.env.REDIS_URL;
    if (typeof url !== "string" || url.trim() === "") throw new TypeError("createRedisLimiter: pass url or client, or set REDIS_URL");
    const own = connectOwnClient(url.trim(), unavailableAfterMs);
    store = new RedisStore({ client: own.client, ...redactUrl(url.trim()), unavailableAfterMs, firstAttempt: own.firstAttempt, connectError: own.lastError });
    close = () => own.close();
  }
  const onFallback = options.onFallback ?? ((error: Error) => console.warn(`clerk-metadata-wasm/redis: ${error.message}; limiting this process on its own until it answers`));
  const limiter = new SharedLimiter({
    store,
    prefix,
    userWrites,
    instance,
    leaseMs,
    fail: onUnavailable === "fail",
    onFallback,
  });
  return {
    acquire: (request) => limiter.acquire(request),
    lockUser: (request) => limiter.lockUser(request),
    close,
  };
}

function positive(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`createRedisLimiter: ${name} must be a finite number > 0`);
  }
  return value;
}

function window(value: RedisLimitWindow, name: string): RedisLimitWindow {
  if (!Number.isInteger(value?.requests) || value.requests < 1) throw new RangeError(`createRedisLimiter: ${name}.requests must be an integer ≥ 1`);
  return { requests: value.requests, windowMs: Math.ceil(positive(value.windowMs, `${name}.windowMs`)) };
}
