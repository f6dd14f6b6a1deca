// Regression tests for defects a code review found (each would have failed before its fix).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pkg, withServer, LOCAL_SECRET_KEY } from "./package-helpers.mjs";

const KEY = "sk_test_abcdefghijklmnopqrstuvwxyz";
const okFetch = async () =>
  new Response(JSON.stringify({ public_metadata: {}, private_metadata: {}, unsafe_metadata: {} }), {
    status: 200,
    headers: { "content-type": "application/json" },
  });

describe("hostile input never corrupts the wasm instance", () => {
  test("a Proxy whose traps throw is refused, asynchronously, and the module keeps working", async () => {
    const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: okFetch, rateLimit: false });
    const trap = () => {
      throw new Error("trap");
    };
    const hostile = [
      { a: { b: new Proxy({}, { getPrototypeOf: trap }) } },
      { a: new Proxy({}, { ownKeys: trap }) },
      { a: new Proxy([], { get: trap }) },
      (() => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return { a: proxy };
      })(),
    ];
    for (let i = 0; i < 2000; i++) {
      const metadata = hostile[i % hostile.length];
      let promise;
      assert.doesNotThrow(() => {
        promise = c.public.merge("user_1", metadata);
      }, "never a synchronous throw");
      await assert.rejects(promise, (e) => e instanceof pkg.ClerkMetadataError && e.code === "invalid_argument");
    }
    const fresh = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: okFetch });
    assert.deepEqual(await fresh.public.get("user_9"), {});
  });

  test("a huge sparse array is refused before any allocation", async () => {
    const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: okFetch });
    for (const tags of [new Array(2 ** 32 - 1), new Array(5e7)]) {
      await assert.rejects(c.public.merge("user_1", { tags }), (e) => e.code === "invalid_argument" && /size limit/.test(e.message));
    }
    assert.deepEqual(await c.public.get("user_1"), {});
  });

  test("strings with lone surrogates are refused, never silently changed", async () => {
    const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: okFetch });
    await assert.rejects(c.public.merge("user_1", { ["a\uD800"]: 1 }), /not valid Unicode/);
    await assert.rejects(c.public.merge("user_1", { a: "x\uDC00" }), /not valid Unicode/);
    await assert.rejects(c.public.getKey("user_1", "k\uD800"), /not valid Unicode/);
  });
});

describe("reads after writes", () => {
  for (const cache of [false, { ttlMs: 60_000 }]) {
    test(`a read answered before a write but delivered after it never stands in for the new state (cache ${cache ? "on" : "off"})`, async () => {
      await withServer({ users: { u: { public_metadata: { plan: "free" } } } }, async (server) => {
        // Holds the answer of one GET for 300 ms after the server produced it.
        let slowNext = false;
        const fetchWithSlowDelivery = async (url, init) => {
          const slow = slowNext && init.method === "GET";
          if (slow) slowNext = false;
          const response = await fetch(url, init);
          if (!slow) return response;
          const body = await response.text();
          await new Promise((r) => setTimeout(r, 300));
          return new Response(body, { status: response.status, headers: response.headers });
        };
        const c = pkg.createClerkMetadataClient({
          secretKey: LOCAL_SECRET_KEY,
          apiUrl: server.url,
          rateLimit: false,
          cache,
          fetch: fetchWithSlowDelivery,
        });
        server.injectFault({ fault: { kind: "delay", ms: 100 }, method: "PATCH" });
        const write = c.mergeUserPublicMetadata("u", { plan: "pro" });
        await new Promise((r) => setTimeout(r, 20));
        slowNext = true;
        const during = c.getUserPublicMetadata("u"); // answered {plan:"free"}, delivered at ~320 ms
        await write;
        assert.deepEqual(await c.getUserPublicMetadata("u"), { plan: "pro" }, "a read issued after the write resolved");
        assert.deepEqual(await during, { plan: "free" });
        assert.deepEqual(await c.getUserPublicMetadata("u"), { plan: "pro" }, "and after the slow read was delivered");
      });
    });
  }
});

describe("signals and timeouts hold whatever fetch does", () => {
  test("a read joining another caller's request still honours its own signal", async () => {
    await withServer({ users: { u: { public_metadata: { a: 1 } } } }, async (server) => {
      const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: server.url, rateLimit: false });
      server.injectFault({ fault: { kind: "delay", ms: 500 }, method: "GET" });
      const leader = c.getUserPublicMetadata("u");
      const controller = new AbortController();
      const joiner = c.getUserPublicMetadata("u", { signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      const started = Date.now();
      await assert.rejects(joiner, { code: "aborted" });
      assert.ok(Date.now() - started < 400, "the joiner did not wait for the leader");
      await assert.rejects(c.getUserPublicMetadata("u", { signal: AbortSignal.abort() }), { code: "aborted" });
      assert.deepEqual(await leader, { a: 1 });
    });
  });

  test("a fetch that never settles still times out, and frees the user for later reads", async () => {
    let calls = 0;
    const hanging = () => {
      calls++;
      return calls === 1 ? new Promise(() => {}) : okFetch();
    };
    const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: hanging, timeoutMs: 50, maxRetries: 0 });
    await assert.rejects(c.public.get("user_1"), { code: "timeout" });
    assert.deepEqual(await c.public.get("user_1"), {});
    assert.equal(calls, 2);
  });
});

describe("configuration", () => {
  test("a timeout too long for setTimeout is refused", () => {
    assert.throws(() => pkg.createClerkMetadataClient({ timeoutMs: 3e9 }), /options\.timeoutMs must be at most/);
  });

  test("only real loopback addresses may use http:, and credentials are never echoed", async () => {
    for (const apiUrl of ["http://127.0.attacker.example", "http://127.0.0.999"]) {
      const c = pkg.createClerkMetadataClient({ secretKey: KEY, apiUrl, fetch: okFetch });
      await assert.rejects(c.public.get("user_1"), { code: "invalid_api_url" });
    }
    const c = pkg.createClerkMetadataClient({ secretKey: KEY, apiUrl: "https://user:hunter2@api.clerk.com", fetch: okFetch });
    await assert.rejects(c.public.get("user_1"), (e) => e.code === "invalid_api_url" && !e.message.includes("hunter2"));
  });
});

describe("second review: what an injected fetch or a hostile server can send", () => {
  test("headers that are not strings (a test double's Map) neither crash the instance nor leak through", async () => {
    const weird = async () => ({
      status: 429,
      headers: new Map([["retry-after", 1], ["content-type", ["application/json"]], ["cf-ray", { toString: () => "ray-x" }]]),
      text: async () => JSON.stringify({ errors: [{ code: "too_many_requests", message: "slow down" }] }),
    });
    const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: weird, rateLimit: false, maxRetries: 0 });
    const error = await c.getUserPublicMetadata("user_1").catch((e) => e);
    assert.equal(error.code, "too_many_requests");
    assert.equal(error.retryAfter, 1);
    assert.equal(error.clerkTraceId, "ray-x");
    // Headers whose get() throws read as absent; the instance still works afterwards.
    const throwing = async () => ({ status: 200, headers: { get() { throw new Error("boom"); } }, text: async () => "{}" });
    const c2 = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: throwing, rateLimit: false, maxRetries: 0 });
    await assert.rejects(c2.getUserPublicMetadata("user_1"), { code: "invalid_response" });
    const ok = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: okFetch, rateLimit: false });
    assert.deepEqual(await ok.getUserPublicMetadata("user_1"), {});
  });

  test("an error body of many mid-sized objects is refused quickly, not parsed quadratically", async () => {
    const object = `{${Array.from({ length: 1000 }, (_, i) => `"k${i}":0`).join(",")}}`;
    const body = `{"errors":[${Array(100).fill(object).join(",")}]}`; // ~0.9 MB (under the 1 MiB limit), 100,000 members
    const hostile = async () => new Response(body, { status: 400, headers: { "content-type": "application/json" } });
    const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: hostile, rateLimit: false, maxRetries: 0 });
    const started = performance.now();
    const error = await c.getUserPublicMetadata("user_1").catch((e) => e);
    assert.equal(error.code, "http_400");
    assert.ok(performance.now() - started < 1500, `took ${Math.round(performance.now() - started)} ms`);
  });
});

describe("review of the executor, shared deadlines and the direct read path", () => {
  const json = (body, status = 200, headers = {}) =>
    new Response(body, { status, headers: { "content-type": "application/json", ...headers } });
  const settleWithin = (promise, ms) =>
    Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref())]);

  test("a retry at once whose fetch throws synchronously still settles the call", async () => {
    // The answer's callback polls the call, which retries at once (Retry-After: 0) and calls
    // fetch, which throws: that failure reports through the same callback, inside itself.
    for (const first of ["429", "reset"]) {
      let calls = 0;
      const fetch = () => {
        calls += 1;
        if (calls === 1) return first === "429" ? Promise.resolve(json('{"errors":[]}', 429, { "retry-after": "0" })) : Promise.reject(new TypeError("reset"));
        if (calls === 2) throw new TypeError("offline (thrown synchronously)");
        return Promise.resolve(json('{"public_metadata":{"a":1}}'));
      };
      const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch, rateLimit: false, retryBaseDelayMs: 0 });
      assert.deepEqual(await settleWithin(c.getUserPublicMetadata("user_1"), 3000), { a: 1 }, first);
      assert.equal(calls, 3, first);
    }
  });

  test("a success body over the byte limit reports how many requests were sent", async () => {
    const body = `{"x":"${"é".repeat(600_000)}","public_metadata":{"a":1}}`; // 1.2 MB in UTF-8, 0.6 M characters
    for (const cache of [false, { ttlMs: 1000 }]) {
      const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch: async () => json(body), rateLimit: false, cache });
      const error = await c.getUserPublicMetadata("user_1").catch((e) => e);
      assert.equal(error.code, "invalid_response", String(cache));
      assert.equal(error.attempts, 1, String(cache));
      assert.match(error.message, /over the 1048576-byte limit/);
    }
  });

  test("the maximum timeout arms no timer past what the host can hold", async () => {
    const warnings = [];
    const onWarning = (warning) => warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const fetch = () => new Promise((resolve) => setTimeout(() => resolve(json('{"public_metadata":{"a":1}}')), 30));
      const c = pkg.createClerkMetadataClient({ secretKey: KEY, fetch, rateLimit: false, timeoutMs: 2 ** 31 - 1 });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { a: 1 });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, []);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
