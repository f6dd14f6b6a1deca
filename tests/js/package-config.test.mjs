// Configuration of the built package: environment read at call time, injected and replaced
// fetch, missing/malformed keys and URLs, and the secret key never leaking.
// Run: node --test tests/js/package-config.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  pkg,
  EIGHT,
  LOCAL_SECRET_KEY,
  withServer,
  withEnvServer,
  setEnv,
  clientFor,
  rejection,
  assertClerkError,
  sent,
} from "./package-helpers.mjs";

// The package was imported (by the helpers) before any of these variables is set.
setEnv({ CLERK_SECRET_KEY: undefined, CLERK_API_URL: undefined });

describe("environment, read at call time", () => {
  test("CLERK_SECRET_KEY / CLERK_API_URL set after import are used, and changes are seen by the next call", async () => {
    await withServer({ users: { user_1: { public_metadata: { from: "A" } } } }, async (a) => {
      await withServer({ users: { user_1: { public_metadata: { from: "B" } } } }, async (b) => {
        const restore = setEnv({ CLERK_SECRET_KEY: LOCAL_SECRET_KEY, CLERK_API_URL: a.url });
        try {
          assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { from: "A" });
          process.env.CLERK_API_URL = b.url;
          assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { from: "B" });
          await pkg.mergeUserPublicMetadata("user_1", { b: 1 });
          assert.equal(a.requests.length, 1);
          assert.deepEqual(sent(b), ["GET /v1/users/user_1", "PATCH /v1/users/user_1/metadata"]);
          // A different key is used at once (the server rejects it).
          process.env.CLERK_SECRET_KEY = "sk_test_another_key_that_the_server_does_not_know";
          const err = await rejection(pkg.getUserPublicMetadata("user_1"));
          assertClerkError(err, { status: 401, code: "clerk_key_invalid" });
          assert.equal(b.requests.at(-1).authorization, "wrong-key");
          // Back to the good key.
          process.env.CLERK_SECRET_KEY = LOCAL_SECRET_KEY;
          assert.equal(await pkg.hasUserPublicMetadataKey("user_1", "b"), true);
        } finally {
          restore();
        }
      });
    });
  });

  test("a client from createClerkMetadataClient() falls back to the environment as it was when created", async () => {
    await withServer({ users: { user_1: { public_metadata: { from: "A" } } } }, async (a) => {
      const restore = setEnv({ CLERK_SECRET_KEY: LOCAL_SECRET_KEY, CLERK_API_URL: a.url });
      try {
        const c = pkg.createClerkMetadataClient();
        process.env.CLERK_API_URL = "http://127.0.0.1:9";
        process.env.CLERK_SECRET_KEY = "sk_test_changed_later_0000000000";
        assert.deepEqual(await c.getUserPublicMetadata("user_1"), { from: "A" });
        assert.equal(a.requests[0].authorization, "valid");
      } finally {
        restore();
      }
    });
  });
});

describe("fetch", () => {
  test("an injected fetch is the one used (the global fetch is never called)", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: 1 } } } }, async (s) => {
      const realFetch = globalThis.fetch;
      const calls = [];
      const injected = (url, init) => {
        calls.push({ url, init });
        return realFetch(url, init);
      };
      let globalCalls = 0;
      globalThis.fetch = (...args) => {
        globalCalls += 1;
        return realFetch(...args);
      };
      try {
        const c = pkg.createClerkMetadataClient({ secretKey: s.secretKey, apiUrl: s.url, fetch: injected });
        assert.deepEqual(await c.getUserPublicMetadata("user_1"), { a: 1 });
        await c.mergeUserPublicMetadata("user_1", { b: 2 });
        await c.setUserPublicMetadataKey("user_1", "o", { x: 1 });
        assert.equal(calls.length, 4);
        assert.equal(calls.length, s.requests.length);
        const [get, patch] = calls;
        assert.equal(get.url, `${s.url}/v1/users/user_1`);
        assert.equal(get.init.method, "GET");
        assert.equal(get.init.body, undefined);
        assert.equal(patch.url, `${s.url}/v1/users/user_1/metadata`);
        assert.equal(patch.init.method, "PATCH");
        assert.equal(patch.init.body, '{"public_metadata":{"b":2}}');
        assert.ok(patch.init.signal instanceof AbortSignal, "a signal bounds each request");
        assert.equal(calls.length, s.requests.length);
        assert.equal(globalCalls, 0);
        assert.equal(new Headers(patch.init.headers).get("authorization"), `Bearer ${s.secretKey}`);
      } finally {
        globalThis.fetch = realFetch;
      }
    });
  });

  test("an injected fetch needs no server; the default API URL is https://api.clerk.com", async () => {
    const restore = setEnv({ CLERK_API_URL: undefined });
    try {
      const urls = [];
      const c = pkg.createClerkMetadataClient({
        secretKey: LOCAL_SECRET_KEY,
        fetch: async (url) => {
          urls.push(url);
          return new Response(JSON.stringify({ object: "user", id: "user_1", public_metadata: { fake: true }, private_metadata: {}, unsafe_metadata: {} }), {
            status: 200,
            headers: { "content-type": "application/json" },
          });
        },
      });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { fake: true });
      assert.deepEqual(urls, ["https://api.clerk.com/v1/users/user_1"]);
    } finally {
      restore();
    }
  });

  test("replacing globalThis.fetch after import is honoured by the top-level functions", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      const realFetch = globalThis.fetch;
      const seen = [];
      globalThis.fetch = (url, init) => {
        seen.push(`${init.method} ${url}`);
        return realFetch(url, init);
      };
      try {
        await pkg.setUserPublicMetadataKey("user_1", "k", "v");
        assert.equal(await pkg.getUserPublicMetadataKey("user_1", "k"), "v");
      } finally {
        globalThis.fetch = realFetch;
      }
      assert.deepEqual(seen, [`PATCH ${s.url}/v1/users/user_1/metadata`, `GET ${s.url}/v1/users/user_1`]);
      await pkg.getUserPublicMetadata("user_1");
      assert.equal(seen.length, 2, "the restored fetch is used again");
      assert.equal(s.requests.length, 3);
    });
  });
});

describe("missing or malformed configuration: refused before sending", () => {
  test("missing CLERK_SECRET_KEY: every function rejects with the seed message, code missing_secret_key, attempts 0", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      for (const key of [undefined, "", "   "]) {
        const restore = setEnv({ CLERK_SECRET_KEY: key, CLERK_API_URL: s.url });
        try {
          for (const { fn, op, verb, args } of EIGHT) {
            const err = await rejection(pkg[fn](...args("user_1")));
            assertClerkError(err, {
              message: `Failed to ${verb} user metadata: Missing CLERK_SECRET_KEY`,
              code: "missing_secret_key",
              operation: op,
              attempts: 0,
              status: undefined,
              retryAfter: undefined,
              errors: [],
            });
          }
        } finally {
          restore();
        }
      }
      const err = await rejection(pkg.createClerkMetadataClient({ apiUrl: s.url, secretKey: "" }).updateUserPublicMetadata("user_1", { a: 1 }));
      assert.equal(err.message, "Failed to update user metadata: Missing CLERK_SECRET_KEY");
      assert.equal(s.requests.length, 0, "no request was sent");
    });
  });

  test("a malformed key is invalid_secret_key and is not echoed", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      for (const key of ["pk_test_x", "sk_test_", "sk_prod_abcdefgh", "sk_test_has space", "Bearer sk_test_abc", "sk_test_tab\tinside"]) {
        const c = pkg.createClerkMetadataClient({ secretKey: key, apiUrl: s.url });
        const err = await rejection(c.getUserPublicMetadata("user_1"));
        assertClerkError(err, { code: "invalid_secret_key", attempts: 0, operation: "get", message: /^Failed to get user metadata: Invalid CLERK_SECRET_KEY/ });
        if (key.length > 8) assert.ok(!err.message.includes(key), key);
      }
      const restore = setEnv({ CLERK_SECRET_KEY: "pk_test_x", CLERK_API_URL: s.url });
      try {
        assertClerkError(await rejection(pkg.mergeUserPublicMetadata("user_1", { a: 1 })), { code: "invalid_secret_key", operation: "merge" });
      } finally {
        restore();
      }
      assert.equal(s.requests.length, 0);
    });
  });

  test("a non-https, non-loopback or malformed API URL is invalid_api_url; nothing is sent", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      let fetchCalls = 0;
      const fetch = () => {
        fetchCalls += 1;
        return Promise.reject(new Error("must not be called"));
      };
      for (const apiUrl of ["http://example.com", "http://api.clerk.com", "ftp://api.clerk.com", "api.clerk.com", "https://user:pass@api.clerk.com", "https://api.clerk.com?x=1", "http://127.0.0.1.evil.com"]) {
        const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl, fetch });
        const err = await rejection(c.setUserPublicMetadataKey("user_1", "a", 1));
        assertClerkError(err, { code: "invalid_api_url", attempts: 0, operation: "setKey", message: /^Failed to set key in user metadata: Invalid CLERK_API_URL/ });
      }
      const restore = setEnv({ CLERK_SECRET_KEY: LOCAL_SECRET_KEY, CLERK_API_URL: "http://example.com" });
      try {
        assertClerkError(await rejection(pkg.getUserPublicMetadata("user_1")), { code: "invalid_api_url", attempts: 0 });
      } finally {
        restore();
      }
      assert.equal(fetchCalls, 0);
      assert.equal(s.requests.length, 0);
    });
  });

  test("a trailing slash and an upper-case scheme are normalised", async () => {
    await withServer({ users: { user_1: { public_metadata: { ok: 1 } } } }, async (s) => {
      const c = pkg.createClerkMetadataClient({ secretKey: s.secretKey, apiUrl: `${s.url.replace("http", "HTTP")}/` });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { ok: 1 });
      assert.deepEqual(sent(s), ["GET /v1/users/user_1"]);
    });
  });

  test("malformed client options throw a ClerkMetadataError synchronously at creation", () => {
    for (const options of [
      { timeoutMs: -1 },
      { timeoutMs: 0 },
      { deadlineMs: Number.NaN },
      { retryBaseDelayMs: -5 },
      { maxRetryAfterMs: -1 },
      { maxMetadataBytes: 0 },
      { fetch: "not a function" },
      { rateLimit: { userWrites: { requests: 0, windowMs: 100 } } },
      { rateLimit: { instance: { requests: 1, windowMs: 0 } } },
      { timeoutMs: "10" },
    ]) {
      let thrown;
      try {
        pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, ...options });
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown, `no throw for ${inspect(options)}`);
      assertClerkError(thrown, { code: "invalid_argument", message: /^Invalid client options: / });
    }
  });
});

describe("the secret key never leaks", () => {
  test("not in err.message, String(err), JSON.stringify(err), err.stack, inspect(err) nor the recorded requests", async () => {
    const SECRET = "sk_test_TopSecretValue_9f8e7d6c5b4a39281706";
    const OTHER = "sk_live_AnotherSecretValue_0011223344556677";
    await withServer({ secretKey: SECRET, users: { user_1: { public_metadata: { big: "x".repeat(8000) } } }, userWriteLimit: false }, async (s) => {
      const good = clientFor(s, { maxRetries: 0, rateLimit: false });
      const impatient = clientFor(s, { maxRetries: 0, timeoutMs: 150, rateLimit: false });
      const wrong = pkg.createClerkMetadataClient({ secretKey: OTHER, apiUrl: s.url, maxRetries: 0 });
      const closedPort = pkg.createClerkMetadataClient({ secretKey: SECRET, apiUrl: "http://127.0.0.1:9", maxRetries: 0 });
      const badUrl = pkg.createClerkMetadataClient({ secretKey: SECRET, apiUrl: "http://example.com" });
      const errors = [];
      errors.push(await rejection(good.getUserPublicMetadata("user_missing"))); // 404
      errors.push(await rejection(wrong.getUserPublicMetadata("user_1"))); // 401
      errors.push(await rejection(good.mergeUserPublicMetadata("user_1", { more: "y".repeat(500) }))); // 422 size
      s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "120" } } });
      errors.push(await rejection(good.getUserPublicMetadata("user_1"))); // 429
      s.injectFault({ fault: { kind: "truncated-json" } });
      errors.push(await rejection(good.getUserPublicMetadata("user_1"))); // invalid_response
      s.injectFault({ fault: { kind: "delay", ms: 1000 } });
      errors.push(await rejection(impatient.getUserPublicMetadata("user_1"))); // timeout
      errors.push(await rejection(good.getUserPublicMetadata("user_1", { signal: AbortSignal.abort() }))); // aborted
      errors.push(await rejection(closedPort.getUserPublicMetadata("user_1"))); // network
      errors.push(await rejection(badUrl.getUserPublicMetadata("user_1"))); // invalid_api_url
      errors.push(await rejection(good.getUserPublicMetadata("a/b"))); // invalid_argument
      assert.deepEqual(
        errors.map((e) => e.code),
        ["resource_not_found", "clerk_key_invalid", "form_param_exceeds_allowed_size", "too_many_requests", "invalid_response", "timeout", "aborted", "network_error", "invalid_api_url", "invalid_argument"],
      );
      for (const err of errors) {
        for (const [what, text] of [
          ["message", err.message],
          ["String", String(err)],
          ["JSON", JSON.stringify(err)],
          ["stack", err.stack],
          ["inspect", inspect(err, { depth: null, showHidden: true })],
        ]) {
          for (const secret of [SECRET, OTHER, SECRET.slice(8), OTHER.slice(8)]) {
            assert.ok(!text.includes(secret), `${err.code}: ${what} contains the key`);
          }
        }
        // JSON.stringify gives every documented field.
        const json = JSON.parse(JSON.stringify(err));
        assert.equal(json.name, "ClerkMetadataError");
        assert.equal(json.message, err.message);
        assert.equal(json.code, err.code);
        assert.equal(json.attempts, err.attempts);
      }
      const dump = JSON.stringify(s.requests);
      assert.ok(!dump.includes(SECRET.slice(8)) && !dump.includes(OTHER.slice(8)));
      assert.ok(!inspect(good, { depth: 5 }).includes(SECRET.slice(8)), "nor inspecting the client");
    });
  });
});
