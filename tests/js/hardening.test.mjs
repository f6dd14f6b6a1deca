// Regression tests for behaviour the core rewrite implements (Retry-After, deadlines, shared
// signals, huge inputs, hostile options, cross-realm objects, API URL and secret key handling).
// Each runs against the built package (dist/) and a real local server, or asserts nothing was sent.
// Run: node --test tests/js/hardening.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import v8 from "node:v8";
import vm from "node:vm";
import { inspect } from "node:util";

// The wasm instance's memory is not counted in process.memoryUsage().arrayBuffers (Node 20:
// before 0.2 MB, after 0.1 MB while the instance had grown to 400 MB), so item 4 also reads the
// instance's own memory. The package instantiates lazily; the hook is installed before it is
// imported (the helpers are imported dynamically below), so it sees the instance either way.
const wasmInstances = [];
const RealInstance = WebAssembly.Instance;
WebAssembly.Instance = new Proxy(RealInstance, {
  construct(target, args, newTarget) {
    const instance = Reflect.construct(target, args, newTarget);
    wasmInstances.push({ instance, imports: args[1] });
    return instance;
  },
});
const realInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const result = await realInstantiate.apply(this, args);
  wasmInstances.push({ instance: result instanceof RealInstance ? result : result.instance, imports: args[1] });
  return result;
};
/** Bytes of every WebAssembly.Memory of the instances created so far (exported or imported). */
function wasmMemoryBytes() {
  const memories = new Set();
  for (const { instance, imports } of wasmInstances) {
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.add(value);
    for (const ns of Object.values(imports ?? {})) {
      for (const value of Object.values(ns ?? {})) if (value instanceof WebAssembly.Memory) memories.add(value);
    }
  }
  return { count: memories.size, bytes: [...memories].reduce((sum, m) => sum + m.buffer.byteLength, 0) };
}

const { pkg, LOCAL_SECRET_KEY, withServer, setEnv, clientFor, rejection, assertClerkError, sent } = await import("./package-helpers.mjs");

// The package was imported (by the helpers) before any of these variables is set.
setEnv({ CLERK_SECRET_KEY: undefined, CLERK_API_URL: undefined });

const GET = "GET /v1/users/user_1";
const seed = { users: { user_1: { public_metadata: { plan: "pro" } } }, userWriteLimit: false };

/** Asserts `fn()` throws synchronously, and returns what it threw. */
function thrownBy(fn, what) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail(`no synchronous throw for ${what}`);
}

/** Settles `promise` within `ms`, or fails the test (the call is then aborted by the caller). */
async function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("1. Retry-After parsed fully", () => {
  for (const [label, header, want] of [
    ["100000 seconds", "100000", 100000],
    ["a 12-digit number of seconds", "99999999999", 99999999999],
  ]) {
    test(`429 with Retry-After of ${label}: rejected at once with retryAfter ${want}, one request`, async () => {
      await withServer(seed, async (s) => {
        s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": header } }, times: 5 });
        const started = Date.now();
        const err = await rejection(clientFor(s, { rateLimit: false }).getUserPublicMetadata("user_1"));
        assertClerkError(err, { code: "too_many_requests", status: 429, retryAfter: want, attempts: 1 });
        assert.deepEqual(sent(s), [GET], "not retried");
        assert.ok(Date.now() - started < 1000, "rejected at once");
      });
    });
  }

  test("429 with Retry-After as an HTTP-date one hour ahead: rejected at once, retryAfter ≈ 3600", async () => {
    await withServer(seed, async (s) => {
      const date = new Date(Date.now() + 3600e3).toUTCString();
      s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": date } }, times: 5 });
      const err = await rejection(clientFor(s, { rateLimit: false }).getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "too_many_requests", status: 429, attempts: 1 });
      assert.equal(typeof err.retryAfter, "number", `retryAfter from ${date}`);
      assert.ok(err.retryAfter >= 3590 && err.retryAfter <= 3601, `retryAfter ${err.retryAfter} for ${date}`);
      assert.deepEqual(sent(s), [GET]);
    });
  });

  test("429 with Retry-After as an HTTP-date about 1 s ahead: waited for, then retried", async () => {
    await withServer(seed, async (s) => {
      // HTTP-dates have whole seconds: start early in a second so the date is ≥ 600 ms ahead.
      while (Date.now() % 1000 >= 400) await new Promise((r) => setTimeout(r, 5));
      const date = new Date(Date.now() + 1000).toUTCString();
      s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": date } } });
      assert.deepEqual(await clientFor(s, { rateLimit: false }).getUserPublicMetadata("user_1"), { plan: "pro" });
      assert.deepEqual(sent(s), [GET, GET]);
      assert.deepEqual(s.requests.map((r) => r.status), [429, 200]);
      const gap = s.requests[1].at - s.requests[0].at;
      assert.ok(gap >= 400, `the retry waited for the date (${date}), not the 1 ms backoff: ${gap} ms`);
    });
  });
});

describe("2. deadlineMs bounds the whole operation, the request in flight included", () => {
  test("{deadlineMs: 700, timeoutMs: 5000} against a server that never answers: timeout in < 1.5 s", async () => {
    const hung = new Set();
    const server = createServer((req, res) => {
      hung.add(res); // never answered
      req.resume();
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const controller = new AbortController(); // only to end the call if the test fails
    try {
      const c = pkg.createClerkMetadataClient({
        secretKey: LOCAL_SECRET_KEY,
        apiUrl: `http://127.0.0.1:${server.address().port}`,
        deadlineMs: 700,
        timeoutMs: 5000,
        rateLimit: false,
      });
      const started = Date.now();
      const err = await within(rejection(c.getUserPublicMetadata("user_1", { signal: controller.signal })), 2500, "the call");
      const elapsed = Date.now() - started;
      assertClerkError(err, { code: "timeout" });
      assert.ok(elapsed < 1500, `rejected after ${elapsed} ms`);
      assert.ok(hung.size >= 1, "the request reached the server");
    } finally {
      controller.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("3. a shared signal triggers no warning", () => {
  /** Runs fn, returns the MaxListenersExceededWarnings emitted meanwhile (and a tick after). */
  async function maxListenerWarnings(fn) {
    const warnings = [];
    const onWarning = (w) => {
      if (w.name === "MaxListenersExceededWarning") warnings.push(String(w));
    };
    process.on("warning", onWarning);
    try {
      await fn();
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off("warning", onWarning);
    }
    return warnings;
  }

  const users = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`user_${i}`, { public_metadata: { i } }]));

  test("one signal passed to 20 concurrent getUserPublicMetadata calls", async () => {
    await withServer({ users, userWriteLimit: false }, async (s) => {
      const c = clientFor(s);
      const { signal } = new AbortController();
      const warnings = await maxListenerWarnings(async () => {
        const got = await Promise.all(Object.keys(users).map((id) => c.getUserPublicMetadata(id, { signal })));
        assert.deepEqual(got, Object.values(users).map((u) => u.public_metadata));
      });
      assert.deepEqual(warnings, []);
      assert.equal(s.requests.length, 20);
    });
  });

  test("one signal passed to public.mergeMany of 20 users with concurrency 20", async () => {
    await withServer({ users, userWriteLimit: false }, async (s) => {
      const c = clientFor(s);
      const { signal } = new AbortController();
      const warnings = await maxListenerWarnings(async () => {
        const items = Object.keys(users).map((userId) => ({ userId, metadata: { merged: true } }));
        const results = await c.public.mergeMany(items, { signal, concurrency: 20 });
        assert.deepEqual(results.map((r) => r.status), Array(20).fill("ok"));
      });
      assert.deepEqual(warnings, []);
      assert.equal(s.getUser("user_19").public_metadata.merged, true);
    });
  });
});

describe("4. a refused huge string does not keep its memory", () => {
  test("100 MB as a metadata value, userId and key: invalid_argument, nothing sent, memory grows < 64 MB", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    const MB = 1024 * 1024;
    await withServer(seed, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      const three = (str) => [
        c.mergeUserPublicMetadata("user_1", { big: str }),
        c.getUserPublicMetadata(str),
        c.setUserPublicMetadataKey("user_1", str, 1),
      ];
      // Warm-up on a small string: the baseline includes the instance and its usual memory.
      await Promise.allSettled(three("x".repeat(64 * 1024)));
      s.clearRequests();
      gc();
      assert.ok(wasmMemoryBytes().count >= 1, "the package's wasm instance was seen");
      const before = { arrayBuffers: process.memoryUsage().arrayBuffers, wasm: wasmMemoryBytes().bytes };

      const huge = "x".repeat(100 * MB);
      const [merge, get, setKey] = three(huge);
      for (const [what, promise] of [["metadata value", merge], ["userId", get], ["key", setKey]]) {
        assertClerkError(await rejection(promise), { code: "invalid_argument", attempts: 0 });
        assert.equal(s.requests.length, 0, `nothing sent for a huge ${what}`);
      }
      gc();
      const after = { arrayBuffers: process.memoryUsage().arrayBuffers, wasm: wasmMemoryBytes().bytes };
      const show = (o) => `arrayBuffers ${(o.arrayBuffers / MB).toFixed(1)} MB, wasm memory ${(o.wasm / MB).toFixed(1)} MB`;
      console.log(`# before: ${show(before)}; after: ${show(after)}`);
      assert.ok(after.arrayBuffers - before.arrayBuffers < 64 * MB, `arrayBuffers grew: ${show(before)} -> ${show(after)}`);
      assert.ok(after.wasm - before.wasm < 64 * MB, `the wasm memory grew: ${show(before)} -> ${show(after)}`);
    });
  });
});

describe("5. malformed signals and options are invalid_argument", () => {
  test("a signal that is not an AbortSignal: the call rejects, nothing sent", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      for (const signal of [{ aborted: false }, "x"]) {
        const err = await rejection(c.getUserPublicMetadata("user_1", { signal }));
        assertClerkError(err, { code: "invalid_argument", attempts: 0 });
      }
      assert.equal(s.requests.length, 0);
    });
  });

  test("client options with a throwing getter: a ClerkMetadataError thrown synchronously at creation", () => {
    const err = thrownBy(
      () =>
        pkg.createClerkMetadataClient({
          secretKey: LOCAL_SECRET_KEY,
          get timeoutMs() {
            throw new Error("boom");
          },
        }),
      "a throwing timeoutMs getter",
    );
    assertClerkError(err, { code: "invalid_argument" });
  });

  test("per-call options with a throwing signal getter: the call rejects (never throws), nothing sent", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      const options = {
        get signal() {
          throw new Error("boom");
        },
      };
      let promise;
      assert.doesNotThrow(() => {
        promise = c.getUserPublicMetadata("user_1", options);
      }, "no synchronous throw");
      assertClerkError(await rejection(promise), { code: "invalid_argument", attempts: 0 });
      assert.equal(s.requests.length, 0);
    });
  });

  test("a null item of mergeMany is an invalid_argument error for that item; the other item succeeds", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      const results = await c.public.mergeMany([null, { userId: "user_1", metadata: { added: 1 } }]);
      assert.equal(results.length, 2);
      assert.equal(results[0].status, "error", inspect(results[0]));
      assertClerkError(results[0].error, { code: "invalid_argument" });
      assert.equal(results[1].status, "ok", inspect(results[1]));
      assert.deepEqual(s.getUser("user_1").public_metadata, { plan: "pro", added: 1 });
      assert.deepEqual(sent(s), ["PATCH /v1/users/user_1/metadata"]);
    });
  });

  test("createClerkMetadataClient(null) throws an invalid_argument ClerkMetadataError", () => {
    const err = thrownBy(() => pkg.createClerkMetadataClient(null), "null options");
    assertClerkError(err, { code: "invalid_argument" });
  });
});

describe("6. objects from another realm are accepted", () => {
  test("merge of a cross-realm object with a nested array and a Date", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      await clientFor(s).mergeUserPublicMetadata("user_1", vm.runInNewContext("({ a: { b: [1, 2] }, d: new Date(0) })"));
      assert.deepEqual(s.getUser("user_1").public_metadata, { a: { b: [1, 2] }, d: "1970-01-01T00:00:00.000Z" });
    });
  });

  test("setUserPublicMetadataKey with a cross-realm array", async () => {
    await withServer({ users: { user_1: { public_metadata: { keep: 1 } } } }, async (s) => {
      await clientFor(s).setUserPublicMetadataKey("user_1", "list", vm.runInNewContext('[1, { x: "y" }, [true]]'));
      assert.deepEqual(s.getUser("user_1").public_metadata, { keep: 1, list: [1, { x: "y" }, [true]] });
    });
  });

  test("updateUserPublicMetadata with a cross-realm object", async () => {
    await withServer({ users: { user_1: { public_metadata: { old: 1 } } } }, async (s) => {
      await clientFor(s).updateUserPublicMetadata("user_1", vm.runInNewContext('({ replaced: { deep: ["z"] } })'));
      assert.deepEqual(s.getUser("user_1").public_metadata, { replaced: { deep: ["z"] } });
    });
  });
});

describe("7. the API URL is checked fully before sending", () => {
  test("a port out of range is invalid_api_url, attempts 0, at once", async () => {
    let fetchCalls = 0;
    const c = pkg.createClerkMetadataClient({
      secretKey: LOCAL_SECRET_KEY,
      apiUrl: "http://127.0.0.1:99999",
      maxRetries: 2,
      retryBaseDelayMs: 200,
      fetch: (url, init) => {
        fetchCalls += 1;
        return globalThis.fetch(url, init);
      },
    });
    const started = Date.now();
    const err = await rejection(c.getUserPublicMetadata("user_1"));
    assertClerkError(err, { code: "invalid_api_url", attempts: 0 });
    assert.equal(fetchCalls, 0, "fetch never called");
    assert.ok(Date.now() - started < 500, "at once");
  });

  test("the server's URL plus /v1 or /v1/ works exactly like the URL itself", async () => {
    await withServer(seed, async (s) => {
      for (const suffix of ["/v1", "/v1/"]) {
        s.clearRequests();
        const c = clientFor(s, { apiUrl: s.url + suffix });
        assert.deepEqual(await c.getUserPublicMetadata("user_1"), s.getUser("user_1").public_metadata, suffix);
        await c.mergeUserPublicMetadata("user_1", { via: suffix });
        assert.deepEqual(sent(s), [GET, "PATCH /v1/users/user_1/metadata"], suffix);
      }
    });
  });

  test("a secret key pasted as the API URL is invalid_api_url and is not echoed (client and environment)", async () => {
    const pasted = "sk_test_" + "a".repeat(40);
    await withServer(seed, async (s) => {
      const errors = [];
      const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: pasted });
      errors.push(await rejection(c.getUserPublicMetadata("user_1")));
      const restore = setEnv({ CLERK_SECRET_KEY: LOCAL_SECRET_KEY, CLERK_API_URL: pasted });
      try {
        errors.push(await rejection(pkg.getUserPublicMetadata("user_1")));
        errors.push(await rejection(pkg.mergeUserPublicMetadata("user_1", { a: 1 })));
      } finally {
        restore();
      }
      for (const err of errors) {
        assertClerkError(err, { code: "invalid_api_url", attempts: 0 });
        for (const [what, text] of [["message", err.message], ["String", String(err)], ["JSON", JSON.stringify(err)]]) {
          assert.ok(!text.includes(pasted) && !text.includes(pasted.slice(8)), `${what} echoes the pasted key: ${text}`);
        }
      }
      assert.equal(s.requests.length, 0);
    });
  });
});

describe("8. the secret key is trimmed", () => {
  const padded = [LOCAL_SECRET_KEY + "\n", "  " + LOCAL_SECRET_KEY + " \r\n"];

  test("a client's secretKey with surrounding whitespace works", async () => {
    await withServer(seed, async (s) => {
      for (const secretKey of padded) {
        s.clearRequests();
        const c = clientFor(s, { secretKey });
        assert.deepEqual(await c.getUserPublicMetadata("user_1"), { plan: "pro" }, JSON.stringify(secretKey));
        assert.deepEqual(s.requests.map((r) => r.authorization), ["valid"]);
      }
    });
  });

  test("CLERK_SECRET_KEY with surrounding whitespace works for the top-level functions", async () => {
    await withServer(seed, async (s) => {
      for (const key of padded) {
        s.clearRequests();
        const restore = setEnv({ CLERK_SECRET_KEY: key, CLERK_API_URL: s.url });
        try {
          assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), s.getUser("user_1").public_metadata, JSON.stringify(key));
          await pkg.setUserPublicMetadataKey("user_1", "k", "v");
        } finally {
          restore();
        }
        assert.deepEqual(s.requests.map((r) => r.authorization), ["valid", "valid"]);
      }
      assert.equal(process.env.CLERK_SECRET_KEY, undefined, "environment restored");
    });
  });
});
