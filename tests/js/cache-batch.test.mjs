// Beyond the seed: private/unsafe metadata, one-write multi-key sets, many-user batches, the
// opt-in read cache and single-flight reads. Request counts come from the server's log.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pkg, withServer, LOCAL_SECRET_KEY } from "./package-helpers.mjs";

const gets = (server) => server.requests.filter((r) => r.method === "GET").length;
const writes = (server) => server.requests.filter((r) => r.method !== "GET").length;
const client = (server, extra = {}) =>
  pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: server.url, rateLimit: false, ...extra });

describe("private and unsafe metadata", () => {
  test("each field has the same operations and leaves the others alone", async () => {
    await withServer({ users: { u: { public_metadata: { role: "admin" } } } }, async (server) => {
      const c = client(server);
      await c.private.merge("u", { stripeId: "cus_1", plan: { tier: "pro" } });
      await c.private.setKey("u", "plan", { tier: "team" });
      await c.unsafe.replace("u", { theme: "dark" });
      assert.deepEqual(await c.private.get("u"), { stripeId: "cus_1", plan: { tier: "team" } });
      assert.equal(await c.private.getKey("u", "stripeId"), "cus_1");
      assert.equal(await c.unsafe.hasKey("u", "theme"), true);
      await c.private.removeKeys("u", ["stripeId"]);
      await c.unsafe.clear("u");
      const stored = server.getUser("u");
      assert.deepEqual(stored.public_metadata, { role: "admin" });
      assert.deepEqual(stored.private_metadata, { plan: { tier: "team" } });
      assert.deepEqual(stored.unsafe_metadata, {});
      const bodies = server.requests.filter((r) => r.body).map((r) => Object.keys(r.json));
      assert.ok(bodies.every((keys) => keys.length === 1 && keys[0] !== "public_metadata"), JSON.stringify(bodies));
    });
  });

  test("setUserPublicMetadataKeys sets several keys exactly in one write", async () => {
    await withServer({ users: { u: { public_metadata: { prefs: { a: 1, b: 2 }, keep: true } } } }, async (server) => {
      const c = client(server);
      await c.setUserPublicMetadataKeys("u", { prefs: { b: 3 }, role: "admin" });
      assert.deepEqual(server.getUser("u").public_metadata, { prefs: { b: 3 }, keep: true, role: "admin" });
      assert.equal(writes(server), 1);
      server.clearRequests();
      await c.setUserPublicMetadataKeys("u", {});
      assert.equal(server.requests.length, 0, "an empty set sends nothing");
    });
  });
});

describe("many users", () => {
  const users = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`user_${i}`, {}]));

  test("a failing user never hides the others; results in input order; progress per item", async () => {
    await withServer({ users }, async (server) => {
      const c = client(server);
      const items = Object.keys(users).map((userId, i) => ({ userId: i === 7 ? "user_missing" : userId, metadata: { n: i } }));
      const progress = [];
      const results = await c.public.mergeMany(items, { concurrency: 4, onProgress: (p) => progress.push(p.done) });
      assert.equal(results.length, 20);
      assert.deepEqual(results.map((r) => r.index), [...Array(20).keys()]);
      assert.equal(results.filter((r) => r.status === "ok").length, 19);
      const failed = results[7];
      assert.equal(failed.status, "error");
      assert.ok(failed.error instanceof pkg.ClerkMetadataError);
      assert.equal(failed.error.code, "resource_not_found");
      assert.deepEqual(progress, [...Array(20).keys()].map((i) => i + 1));
      assert.deepEqual(server.getUser("user_19").public_metadata, { n: 19 });
    });
  });

  test("stopOnError starts nothing after the first failure", async () => {
    await withServer({ users }, async (server) => {
      const c = client(server);
      const items = [{ userId: "user_missing", keys: ["a"] }, ...Object.keys(users).map((userId) => ({ userId, keys: ["a"] }))];
      const results = await c.public.removeKeysMany(items, { concurrency: 1, stopOnError: true });
      assert.equal(results[0].status, "error");
      assert.ok(results.slice(1).every((r) => r.status === "skipped"));
      assert.equal(server.requests.length, 1);
    });
  });

  test("concurrency is bounded", async () => {
    await withServer({ users }, async (server) => {
      let inFlight = 0;
      let peak = 0;
      const c = client(server, {
        fetch: async (url, init) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          try {
            await new Promise((r) => setTimeout(r, 5));
            return await fetch(url, init);
          } finally {
            inFlight--;
          }
        },
      });
      const items = Object.keys(users).map((userId) => ({ userId, entries: { role: "x" } }));
      const results = await c.public.setKeysMany(items, { concurrency: 3 });
      assert.ok(results.every((r) => r.status === "ok"));
      assert.equal(peak, 3);
    });
  });

  test("bad batch arguments are refused", async () => {
    await withServer({ users }, async (server) => {
      const c = client(server);
      await assert.rejects(c.public.mergeMany([], { concurrency: 0 }), (e) => e instanceof pkg.ClerkMetadataError && e.code === "invalid_argument");
      await assert.rejects(c.public.mergeMany("nope"), /items must be an array/);
    });
  });
});

describe("single flight and the read cache", () => {
  test("N concurrent reads of one user send one request, cache or not", async () => {
    await withServer({ users: { u: { public_metadata: { role: "admin" } } } }, async (server) => {
      const c = client(server);
      server.injectFault({ fault: { kind: "delay", ms: 50 }, method: "GET" });
      const reads = await Promise.all([
        ...Array.from({ length: 10 }, () => c.getUserPublicMetadata("u")),
        c.getUserPublicMetadataKey("u", "role"),
        c.hasUserPublicMetadataKey("u", "role"),
      ]);
      assert.equal(gets(server), 1);
      assert.deepEqual(reads[0], { role: "admin" });
      assert.equal(reads[10], "admin");
      assert.equal(reads[11], true);
      // Each caller gets its own object.
      reads[0].role = "mutated";
      assert.equal(reads[1].role, "admin");
      // Without the cache, the next read sends again.
      await c.getUserPublicMetadata("u");
      assert.equal(gets(server), 2);
    });
  });

  test("a read after a write never joins a read that started before the write", async () => {
    await withServer({ users: { u: { public_metadata: { role: "old" } } } }, async (server) => {
      const c = client(server);
      server.injectFault({ fault: { kind: "delay", ms: 100 }, method: "GET" });
      const early = c.getUserPublicMetadataKey("u", "role");
      await new Promise((r) => setTimeout(r, 10));
      await c.setUserPublicMetadataKey("u", "role", "new");
      assert.equal(await c.getUserPublicMetadataKey("u", "role"), "new");
      await early;
      assert.equal(gets(server), 2, "the read after the write sent its own request");
    });
  });

  test("with the cache: reads hit, a write refreshes it, expiry and failures refetch", async () => {
    await withServer({ users: { u: { public_metadata: { role: "admin" } }, v: {} } }, async (server) => {
      const c = client(server, { cache: { ttlMs: 200, maxUsers: 10 }, maxRetries: 0 });
      assert.deepEqual(await c.getUserPublicMetadata("u"), { role: "admin" });
      assert.equal(await c.getUserPublicMetadataKey("u", "role"), "admin");
      assert.equal(await c.private.get("u").then((m) => JSON.stringify(m)), "{}");
      assert.equal(gets(server), 1, "reads within the TTL send nothing, for every field");

      await c.mergeUserPublicMetadata("u", { plan: "pro" });
      assert.deepEqual(await c.getUserPublicMetadata("u"), { role: "admin", plan: "pro" });
      assert.equal(gets(server), 1, "a read after a write is served from the write's answer");

      server.injectFault({ fault: { kind: "status", status: 500 }, method: "PATCH" });
      await assert.rejects(c.mergeUserPublicMetadata("u", { plan: "team" }));
      await c.getUserPublicMetadata("u");
      assert.equal(gets(server), 2, "a failed write forgets the user");

      await new Promise((r) => setTimeout(r, 250));
      await c.getUserPublicMetadata("u");
      assert.equal(gets(server), 3, "an expired entry is fetched again");
    });
  });

  test("the cache is bounded", async () => {
    const users = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`user_${i}`, {}]));
    await withServer({ users }, async (server) => {
      const c = client(server, { cache: { ttlMs: 60_000, maxUsers: 2 } });
      for (const id of Object.keys(users)) await c.getUserPublicMetadata(id);
      await c.getUserPublicMetadata("user_4");
      assert.equal(gets(server), 5, "the newest is still cached");
      await c.getUserPublicMetadata("user_0");
      assert.equal(gets(server), 6, "the oldest was evicted");
    });
  });

  test("bad cache options are refused when the client is made", () => {
    assert.throws(() => pkg.createClerkMetadataClient({ cache: { ttlMs: -1 } }), /options\.cache\.ttlMs/);
    assert.throws(() => pkg.createClerkMetadataClient({ cache: "yes" }), /options\.cache/);
  });
});

describe("one answer, however a read is served", () => {
  // Every read hands the field's raw text, exactly as Clerk sent it, to the host's JSON.parse,
  // whether it was read alone, joined by other callers, or cached. All must agree exactly, on a
  // body crafted byte for byte (numbers JSON cannot round-trip, escapes, a duplicate key).
  const metadata =
    '{"__proto__":{"polluted":true},"constructor":{"prototype":1},"n":[1e400,-0,0.1,12345678901234567890],' +
    '"s":"\\u00e9😀\\u2028\\"","deep":{"a":{"b":{"c":[null,true,false,{}]}}},"toString":"x"}';
  const body =
    '{"id":"u","object":"user","public_metadata":{"stale":true},"private_metadata":{"p":1},' +
    `"unsafe_metadata":{"q":[2]},"public_metadata":${metadata}}`;
  const expected = JSON.parse(metadata);
  const fetches = [];
  const fetch = async (url) => {
    fetches.push(url);
    return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
  };
  const make = (extra = {}) =>
    pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: "http://127.0.0.1:9", rateLimit: false, fetch, ...extra });
  const shape = (value) => [JSON.stringify(value), Object.getOwnPropertyNames(value), Object.getPrototypeOf(value) === Object.prototype];

  test("direct, shared and cached reads give the same values, keys and prototypes", async () => {
    const direct = make();
    const cached = make({ cache: { ttlMs: 60_000 } });
    const alone = await direct.getUserPublicMetadata("u");
    fetches.length = 0;
    const [joined] = await Promise.all([direct.getUserPublicMetadata("u"), direct.getUserPublicMetadata("u")]);
    assert.equal(fetches.length, 1, "the second call joined the first");
    await cached.getUserPublicMetadata("u");
    fetches.length = 0;
    const fromCache = await cached.getUserPublicMetadata("u");
    assert.equal(fetches.length, 0, "served from the cache");
    assert.deepEqual(shape(alone), shape(expected));
    for (const other of [joined, fromCache]) assert.deepEqual(shape(other), shape(alone));
    for (const value of [alone, joined, fromCache]) {
      assert.deepEqual(value, expected);
      assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__").value, { polluted: true });
      assert.equal(value.n[0], Infinity);
      assert.ok(Object.is(value.n[1], -0));
      assert.equal(value.s, "\u00e9\u{1F600}\u2028\"");
    }
    for (const c of [direct, cached]) {
      for (const key of ["__proto__", "toString", "n", "deep", "constructor"]) {
        assert.deepEqual(await c.getUserPublicMetadataKey("u", key), Object.getOwnPropertyDescriptor(expected, key).value, key);
        assert.equal(await c.hasUserPublicMetadataKey("u", key), true, key);
      }
      for (const key of ["valueOf", "hasOwnProperty", "stale", "missing"]) {
        assert.equal(await c.getUserPublicMetadataKey("u", key), undefined, key);
        assert.equal(await c.hasUserPublicMetadataKey("u", key), false, key);
      }
      assert.deepEqual(await c.private.get("u"), { p: 1 });
      assert.deepEqual(await c.unsafe.getKey("u", "q"), [2]);
    }
  });

  test("odd bodies read the same with the cache on or off, as JSON.parse reads them", async () => {
    const meta = '{"a":1}';
    const bodies = {
      "lone surrogate elsewhere": [`{"first_name":"\\ud800","public_metadata":${meta}}`, { a: 1 }],
      "lone surrogate in the metadata": ['{"public_metadata":{"a":"\\udc00x"}}', { a: "\udc00x" }],
      "deep elsewhere": [`{"x":${"[".repeat(200)}${"]".repeat(200)},"public_metadata":${meta}}`, { a: 1 }],
      "valid surrogate pair": ['{"public_metadata":{"s":"\\ud83d\\ude00"}}', { s: "\u{1F600}" }],
    };
    for (const [name, [text, expected]] of Object.entries(bodies)) {
      const fetch = async () => new Response(text, { status: 200, headers: { "content-type": "application/json" } });
      for (const cache of [false, { ttlMs: 60_000 }]) {
        const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: "http://127.0.0.1:9", rateLimit: false, fetch, cache });
        assert.deepEqual(await c.getUserPublicMetadata("u"), expected, `${name}, cache ${Boolean(cache)}`);
        assert.deepEqual(await c.getUserPublicMetadataKey("u", Object.keys(expected)[0]), Object.values(expected)[0], name);
      }
    }
  });

  test("each caller gets its own object: mutating one answer changes no other", async () => {
    const c = make();
    const [a, b] = await Promise.all([c.getUserPublicMetadata("u"), c.getUserPublicMetadata("u")]);
    a.deep.a.b.c.push("mutated");
    assert.equal(b.deep.a.b.c.length, 4);
    const again = await c.getUserPublicMetadata("u");
    assert.equal(again.deep.a.b.c.length, 4);
  });
});
