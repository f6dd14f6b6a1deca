// Shared helpers for the tests of the BUILT package (dist/). Not a test file itself.
// Run the suite: node --test tests/js/   (build first: node scripts/build.mjs --skip-wasm)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

/** The package as users import it (ESM entry). */
export const pkg = await import(new URL("../../dist/index.mjs", import.meta.url).href);
/** The local Clerk-compatible server shipped as `clerk-metadata-wasm/testing`. */
export const testing = await import(new URL("../../dist/testing.mjs", import.meta.url).href);
export const { startLocalClerkServer, LOCAL_SECRET_KEY } = testing;

export const PACKAGE_VERSION = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
export const API_VERSION = "2026-05-12";
export const USER_AGENT = `clerk-metadata-wasm/${PACKAGE_VERSION}`;

/**
 * The eight functions of convex/utils/clerk.ts: name, operation (err.operation), the words of
 * the message ("Failed to <verb> user metadata: …"), harmless arguments, and the requests a
 * successful call sends (for a user with no metadata).
 */
export const EIGHT = [
  { fn: "updateUserPublicMetadata", op: "update", verb: "update", args: (id) => [id, { a: 1 }], sends: ["PUT /metadata"] },
  { fn: "getUserPublicMetadata", op: "get", verb: "get", args: (id) => [id], sends: ["GET"] },
  { fn: "mergeUserPublicMetadata", op: "merge", verb: "merge", args: (id) => [id, { a: 1 }], sends: ["PATCH /metadata"] },
  { fn: "removeUserPublicMetadataKeys", op: "removeKeys", verb: "remove keys from", args: (id) => [id, ["a"]], sends: ["PATCH /metadata"] },
  { fn: "setUserPublicMetadataKey", op: "setKey", verb: "set key in", args: (id) => [id, "a", 1], sends: ["PATCH /metadata"] },
  { fn: "getUserPublicMetadataKey", op: "getKey", verb: "get key from", args: (id) => [id, "a"], sends: ["GET"] },
  { fn: "hasUserPublicMetadataKey", op: "hasKey", verb: "check key in", args: (id) => [id, "a"], sends: ["GET"] },
  { fn: "clearUserPublicMetadata", op: "clear", verb: "clear", args: (id) => [id], sends: ["PUT /metadata"] },
];

/** Start a server, run fn, always close it (a failing test never leaks a listener). */
export async function withServer(options, fn) {
  const server = await startLocalClerkServer(options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** Set (or, with undefined, delete) environment variables; returns a function restoring them. */
export function setEnv(vars) {
  const saved = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** A server with CLERK_SECRET_KEY / CLERK_API_URL pointing at it for the duration of fn. */
export async function withEnvServer(options, fn) {
  return withServer(options, async (server) => {
    const restore = setEnv({ CLERK_SECRET_KEY: server.secretKey, CLERK_API_URL: server.url });
    try {
      return await fn(server);
    } finally {
      restore();
    }
  });
}

/** An explicit client for `server`; fast retries unless overridden. */
export function clientFor(server, options = {}, api = pkg) {
  return api.createClerkMetadataClient({ secretKey: server.secretKey, apiUrl: server.url, retryBaseDelayMs: 1, ...options });
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejection(promise) {
  assert.ok(promise instanceof Promise, "the call returned a Promise (it must never throw synchronously)");
  let value;
  try {
    value = await promise;
  } catch (error) {
    return error;
  }
  assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
}

/**
 * Asserts err is a ClerkMetadataError with these fields. `message` may be a string (exact) or a
 * RegExp; every other field is compared with deepStrictEqual.
 */
export function assertClerkError(err, expected, ErrorClass = pkg.ClerkMetadataError) {
  assert.ok(err instanceof ErrorClass, `not a ClerkMetadataError: ${err?.stack ?? String(err)}`);
  assert.ok(err instanceof Error, "instanceof Error");
  assert.equal(err.name, "ClerkMetadataError");
  assert.equal(typeof err.message, "string");
  assert.ok(Array.isArray(err.errors), "errors is an array");
  assert.equal(typeof err.attempts, "number");
  for (const [key, want] of Object.entries(expected)) {
    if (want instanceof RegExp) assert.match(String(err[key]), want, `err.${key}`);
    else assert.deepStrictEqual(err[key], want, `err.${key} (message: ${err.message})`);
  }
  return err;
}

/** "METHOD /path" of every recorded request. */
export function sent(server) {
  return server.requests.map((r) => `${r.method} ${r.path}`);
}

/** The headers every request of the client must carry. */
export function assertClientHeaders(rec) {
  const hasBody = rec.body !== null;
  assert.equal(rec.authorization, "valid", `${rec.method} ${rec.path}: authorization`);
  assert.equal(rec.headers.authorization, "Bearer sk_test_…", "recorded in redacted form");
  assert.equal(rec.headers["clerk-api-version"], API_VERSION);
  assert.equal(rec.headers["user-agent"], USER_AGENT);
  assert.equal(rec.headers["content-type"], hasBody ? "application/json" : undefined, `${rec.method}: content-type only with a body`);
  assert.equal(rec.query, "", "no query string");
}

/** Seeded metadata around the size limit: {blob:"xxx…"} whose JSON is exactly `bytes` bytes. */
export function blobOfBytes(bytes) {
  return { blob: "x".repeat(bytes - '{"blob":""}'.length) };
}

/**
 * Spies on the timers the package itself starts (retry backoff, Retry-After waits, rate-limiter
 * waits): its wasm glue calls the global setTimeout at call time, so the delays it asks for can be
 * read without measuring the wall clock. Timers of Node internals (undici) and the per-request
 * deadline timers (`requestTimeouts`/`requestTimeout` in src/transport.js; resources.test.mjs checks
 * they keep nothing alive) are passed through.
 */
export function spyPackageTimers() {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const timers = [];
  globalThis.setTimeout = function (callback, ms, ...rest) {
    // Each request's own timeout timer calls its AbortController's abort, bound to it (named
    // "bound abort"); the package's waits (backoff, Retry-After, the rate limiter) are promise
    // resolvers. Only waits are spied.
    if (!/\/dist\/index\.(mjs|cjs)/.test(new Error().stack ?? "") || /^bound /.test(callback?.name ?? "")) {
      return realSet.call(this, callback, ms, ...rest);
    }
    const t = { ms, fired: false, cleared: false, handle: undefined };
    t.handle = realSet.call(this, (...a) => {
      t.fired = true;
      return callback(...a);
    }, ms, ...rest);
    timers.push(t);
    return t.handle;
  };
  globalThis.clearTimeout = function (handle) {
    for (const t of timers) if (t.handle === handle) t.cleared = true;
    return realClear.call(this, handle);
  };
  return {
    timers,
    /** Delays (ms) the package asked for, in order. */
    delays: () => timers.map((t) => t.ms),
    /** Timers neither fired nor cleared: would keep the process alive. */
    pending: () => timers.filter((t) => !t.fired && !t.cleared),
    restore() {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
}

/** Resolves once `predicate()` holds (polls every 2 ms; fails after 5 s). */
export async function until(predicate, what = "condition") {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
