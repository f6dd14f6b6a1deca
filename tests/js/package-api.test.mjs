// The eight functions of the built package against the local Clerk server: results, the exact
// requests sent, and Clerk's semantics (replace, deep merge, exact set, removal).
// Run: node --test tests/js/package-api.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  pkg,
  EIGHT,
  withServer,
  withEnvServer,
  clientFor,
  sent,
  assertClientHeaders,
} from "./package-helpers.mjs";

const {
  updateUserPublicMetadata,
  getUserPublicMetadata,
  mergeUserPublicMetadata,
  removeUserPublicMetadataKeys,
  setUserPublicMetadataKey,
  getUserPublicMetadataKey,
  hasUserPublicMetadataKey,
  clearUserPublicMetadata,
} = pkg;

const stored = (server, id = "user_1") => server.getUser(id).public_metadata;

describe("exports", () => {
  test("the eight functions, the factory and the error class", () => {
    for (const { fn } of EIGHT) assert.equal(typeof pkg[fn], "function", fn);
    assert.equal(typeof pkg.createClerkMetadataClient, "function");
    assert.equal(typeof pkg.ClerkMetadataError, "function");
    assert.ok(pkg.ClerkMetadataError.prototype instanceof Error);
  });

  test("every request carries the auth, version, user-agent headers; content-type only with a body", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: { a: 0 } } } }, async (s) => {
      for (const { fn, args, sends } of EIGHT) {
        s.clearRequests();
        await pkg[fn](...args("user_1"));
        assert.deepEqual(
          sent(s),
          sends.map((m) => (m === "GET" ? "GET /v1/users/user_1" : `${m.split(" ")[0]} /v1/users/user_1/metadata`)),
          fn,
        );
        for (const rec of s.requests) {
          assertClientHeaders(rec);
          assert.equal(rec.status, 200, fn);
          assert.equal(rec.headers.accept, "application/json");
        }
      }
    });
  });
});

describe("updateUserPublicMetadata", () => {
  test("one PUT whose body is exactly the new metadata; the old keys are gone; other fields untouched", async () => {
    const seed = { public_metadata: { old: 1, keep: { x: 1 } }, private_metadata: { p: 1 }, unsafe_metadata: { u: 1 } };
    await withEnvServer({ users: { user_1: seed } }, async (s) => {
      const metadata = { role: "admin", nested: { list: [1, "two", { three: 3 }], empty: {} }, flag: false, zero: 0, nil: null };
      assert.equal(await updateUserPublicMetadata("user_1", metadata), undefined);
      assert.deepEqual(sent(s), ["PUT /v1/users/user_1/metadata"]);
      assert.deepEqual(s.requests[0].json, { public_metadata: metadata });
      assert.deepEqual(stored(s), metadata, "replaced exactly, nulls kept (PUT)");
      const u = s.getUser("user_1");
      assert.deepEqual(u.private_metadata, { p: 1 });
      assert.deepEqual(u.unsafe_metadata, { u: 1 });
      // {} empties it.
      await updateUserPublicMetadata("user_1", {});
      assert.equal(s.requests[1].body, '{"public_metadata":{}}');
      assert.deepEqual(stored(s), {});
    });
  });

  test("the caller's object is not modified", async () => {
    await withEnvServer({ users: { user_1: {} } }, async () => {
      const metadata = { a: { b: [1] }, gone: undefined };
      const copy = structuredClone(metadata);
      await updateUserPublicMetadata("user_1", metadata);
      assert.deepEqual(metadata, copy);
      assert.ok(Object.hasOwn(metadata, "gone"));
    });
  });
});

describe("getUserPublicMetadata", () => {
  test("one GET, no body; returns the stored object, {} when empty, a fresh copy each time", async () => {
    const pm = { role: "store_owner", preferences: { notifications: true, theme: "dark" }, updatedAt: 1640995200000, list: [null, 1.5, "x"] };
    await withEnvServer({ users: { user_1: { public_metadata: pm }, user_2: {} } }, async (s) => {
      const got = await getUserPublicMetadata("user_1");
      assert.deepEqual(got, pm);
      assert.deepEqual(sent(s), ["GET /v1/users/user_1"]);
      assert.equal(s.requests[0].body, null);
      got.preferences.theme = "changed";
      assert.deepEqual(await getUserPublicMetadata("user_1"), pm, "no shared cache handed out");
      assert.deepEqual(await getUserPublicMetadata("user_2"), {});
      assert.equal(s.requests.length, 3, "every call reads");
    });
  });
});

describe("mergeUserPublicMetadata", () => {
  test("ONE PATCH with the input as body; Clerk deep-merges, null removes, arrays replace", async () => {
    const seed = { public_metadata: { a: 1, n: { x: 1, y: 2, deep: { k: 1 } }, tags: [1, 2], gone: true }, private_metadata: { p: 1 } };
    await withEnvServer({ users: { user_1: seed } }, async (s) => {
      const patch = { n: { y: null, z: 3, deep: { j: 2 } }, tags: [3], gone: null, b: "new" };
      assert.equal(await mergeUserPublicMetadata("user_1", patch), undefined);
      assert.deepEqual(sent(s), ["PATCH /v1/users/user_1/metadata"], "no read first");
      assert.deepEqual(s.requests[0].json, { public_metadata: patch });
      assert.deepEqual(stored(s), { a: 1, n: { x: 1, z: 3, deep: { k: 1, j: 2 } }, tags: [3], b: "new" });
      assert.deepEqual(s.getUser("user_1").private_metadata, { p: 1 });
    });
  });

  test("concurrent merges of different keys (and nested keys) on one user all land", async () => {
    await withServer({ users: { user_1: { public_metadata: { n: { keep: 1 } } } }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? c.mergeUserPublicMetadata("user_1", { [`k${i}`]: i }) : c.mergeUserPublicMetadata("user_1", { n: { [`k${i}`]: i } }))),
      );
      const expected = { n: { keep: 1 } };
      for (let i = 0; i < 20; i++) {
        if (i % 2) expected[`k${i}`] = i;
        else expected.n[`k${i}`] = i;
      }
      assert.deepEqual(stored(s), expected);
      assert.equal(s.requests.length, 20);
      assert.ok(s.requests.every((r) => r.method === "PATCH"));
    });
  });
});

describe("removeUserPublicMetadataKeys", () => {
  test("one PATCH with a null per key; absent keys are harmless; an empty list sends nothing", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: { a: 1, b: { c: 2 }, keep: true } } } }, async (s) => {
      assert.equal(await removeUserPublicMetadataKeys("user_1", ["a", "b", "missing"]), undefined);
      assert.deepEqual(sent(s), ["PATCH /v1/users/user_1/metadata"]);
      assert.deepEqual(s.requests[0].json, { public_metadata: { a: null, b: null, missing: null } });
      assert.deepEqual(stored(s), { keep: true });
      assert.equal(await removeUserPublicMetadataKeys("user_1", []), undefined);
      assert.equal(s.requests.length, 1, "empty list: no request");
    });
  });
});

describe("setUserPublicMetadataKey", () => {
  test("a scalar or array value: exactly one PATCH, no GET; other keys untouched", async () => {
    const values = [["s", "admin"], ["zero", 0], ["f", false], ["e", ""], ["arr", [1, null, { x: null }]], ["num", 42.5], ["replacesObject", "now a string"]];
    await withEnvServer({ users: { user_1: { public_metadata: { other: { keep: 1 }, replacesObject: { a: 1 } } } } }, async (s) => {
      for (const [key, value] of values) {
        s.clearRequests();
        assert.equal(await setUserPublicMetadataKey("user_1", key, value), undefined);
        assert.deepEqual(sent(s), ["PATCH /v1/users/user_1/metadata"], key);
        assert.deepEqual(s.requests[0].json, { public_metadata: { [key]: value } }, key);
      }
      assert.deepEqual(stored(s), { other: { keep: 1 }, ...Object.fromEntries(values) }, "nulls inside arrays are data");
    });
  });

  test("an object value: one GET + one PATCH, and it REPLACES the stored object (no leftover sub-keys)", async () => {
    const seed = { public_metadata: { prefs: { theme: "dark", n: { a: 1, b: 2 }, list: [1] }, role: "x", scalar: 5 } };
    await withEnvServer({ users: { user_1: seed } }, async (s) => {
      const value = { n: { b: 3 }, lang: "fr" };
      await setUserPublicMetadataKey("user_1", "prefs", value);
      assert.deepEqual(sent(s), ["GET /v1/users/user_1", "PATCH /v1/users/user_1/metadata"]);
      assert.deepEqual(stored(s), { prefs: { n: { b: 3 }, lang: "fr" }, role: "x", scalar: 5 });
      // Every key of the body is under prefs: nothing else is written.
      assert.deepEqual(Object.keys(s.requests[1].json.public_metadata), ["prefs"]);

      await setUserPublicMetadataKey("user_1", "prefs", {});
      assert.deepEqual(stored(s).prefs, {}, "{} empties the stored object");
      await setUserPublicMetadataKey("user_1", "scalar", { now: { an: "object" } });
      await setUserPublicMetadataKey("user_1", "fresh", { deep: { er: [1] } });
      assert.deepEqual(stored(s), { prefs: {}, role: "x", scalar: { now: { an: "object" } }, fresh: { deep: { er: [1] } } });
      assert.equal(s.requests.length, 8, "each object set = GET + PATCH");
    });
  });

  test("20 concurrent setKey of distinct keys on one user never lose each other", async () => {
    await withServer({ users: { user_1: { public_metadata: { base: true } } }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      await Promise.all(Array.from({ length: 20 }, (_, i) => c.setUserPublicMetadataKey("user_1", `key${i}`, i % 3 ? `v${i}` : [i])));
      const expected = { base: true };
      for (let i = 0; i < 20; i++) expected[`key${i}`] = i % 3 ? `v${i}` : [i];
      assert.deepEqual(stored(s), expected);
      assert.equal(s.requests.length, 20, "scalars: one PATCH each");
    });
  });

  test("concurrent object-valued setKey and merges of different keys never lose each other", async () => {
    const seed = { public_metadata: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`obj${i}`, { stale: i, keep: "no" }])) };
    await withServer({ users: { user_1: seed }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => c.setUserPublicMetadataKey("user_1", `obj${i}`, { fresh: i })),
        ...Array.from({ length: 10 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`m${i}`]: { i } })),
      ]);
      const expected = {};
      for (let i = 0; i < 10; i++) {
        expected[`obj${i}`] = { fresh: i };
        expected[`m${i}`] = { i };
      }
      assert.deepEqual(stored(s), expected);
      assert.equal(s.requests.filter((r) => r.method === "GET").length, 10);
      assert.equal(s.requests.filter((r) => r.method === "PATCH").length, 20);
    });
  });
});

describe("getUserPublicMetadataKey / hasUserPublicMetadataKey", () => {
  const pm = { f: false, z: 0, e: "", n: null, s: "str", o: { a: 1 }, arr: [] };

  test("getKey returns false/0/''/null as stored and undefined when absent (one GET each)", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: pm } } }, async (s) => {
      for (const [key, value] of Object.entries(pm)) {
        assert.deepStrictEqual(await getUserPublicMetadataKey("user_1", key), value, key);
      }
      for (const key of ["missing", "toString", "constructor", "hasOwnProperty", "__proto__", "valueOf"]) {
        assert.strictEqual(await getUserPublicMetadataKey("user_1", key), undefined, key);
      }
      assert.equal(s.requests.length, Object.keys(pm).length + 6);
      assert.ok(s.requests.every((r) => r.method === "GET" && r.path === "/v1/users/user_1"));
    });
  });

  test("hasKey is true for present keys whatever their value (null, false, 0, ''), false otherwise", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: pm }, user_2: {} } }, async (s) => {
      for (const key of Object.keys(pm)) assert.strictEqual(await hasUserPublicMetadataKey("user_1", key), true, key);
      for (const key of ["missing", "toString", "constructor", "__proto__", "O"]) {
        assert.strictEqual(await hasUserPublicMetadataKey("user_1", key), false, key);
      }
      assert.strictEqual(await hasUserPublicMetadataKey("user_2", "f"), false);
      assert.ok(s.requests.every((r) => r.method === "GET"));
    });
  });
});

describe("clearUserPublicMetadata", () => {
  test('one PUT {"public_metadata":{}}; the other fields stay', async () => {
    await withEnvServer({ users: { user_1: { public_metadata: { a: 1, b: { c: 1 } }, private_metadata: { p: 1 } } } }, async (s) => {
      assert.equal(await clearUserPublicMetadata("user_1"), undefined);
      assert.deepEqual(sent(s), ["PUT /v1/users/user_1/metadata"]);
      assert.equal(s.requests[0].body, '{"public_metadata":{}}');
      assert.deepEqual(stored(s), {});
      assert.deepEqual(s.getUser("user_1").private_metadata, { p: 1 });
    });
  });
});

describe("__proto__ and constructor are data", () => {
  test("they round-trip as own keys through every operation and nothing is polluted", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      const input = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":1}');
      await updateUserPublicMetadata("user_1", input);
      assert.ok(s.requests[0].body.includes('"__proto__":{"polluted":true}'), s.requests[0].body);
      assert.ok(Object.hasOwn(stored(s), "__proto__"));

      const got = await getUserPublicMetadata("user_1");
      assert.ok(Object.hasOwn(got, "__proto__"), "own data property");
      assert.equal(Object.getPrototypeOf(got), Object.prototype, "its prototype is untouched");
      assert.deepEqual(Object.getOwnPropertyDescriptor(got, "__proto__").value, { polluted: true });
      assert.deepEqual(got.constructor, { prototype: { polluted: true } });

      assert.deepEqual(await getUserPublicMetadataKey("user_1", "__proto__"), { polluted: true });
      assert.equal(await hasUserPublicMetadataKey("user_1", "__proto__"), true);
      assert.equal(await hasUserPublicMetadataKey("user_1", "constructor"), true);

      await setUserPublicMetadataKey("user_1", "__proto__", { polluted: "again", x: 1 });
      await mergeUserPublicMetadata("user_1", JSON.parse('{"constructor":{"prototype":{"more":1}}}'));
      const pm = stored(s);
      assert.deepEqual(Object.getOwnPropertyDescriptor(pm, "__proto__").value, { polluted: "again", x: 1 });
      assert.deepEqual(pm.constructor, { prototype: { polluted: true, more: 1 } });
      await removeUserPublicMetadataKeys("user_1", ["__proto__", "constructor"]);
      assert.deepEqual(Object.keys(stored(s)), ["prototype"]);

      assert.equal({}.polluted, undefined);
      assert.equal(Object.prototype.polluted, undefined);
      assert.equal(Object.prototype.more, undefined);
      assert.equal(Object.prototype.x, undefined);
    });
  });
});

describe("setUserPublicMetadataKeys and the field clients", () => {
  test("setUserPublicMetadataKeys: scalars = one PATCH; an object = GET + PATCH; {} sends nothing", async () => {
    await withServer({ users: { user_1: { public_metadata: { o: { old: 1 }, keep: 1 } } } }, async (s) => {
      const c = clientFor(s);
      await c.setUserPublicMetadataKeys("user_1", { a: 1, b: [2] });
      assert.deepEqual(sent(s), ["PATCH /v1/users/user_1/metadata"]);
      await c.setUserPublicMetadataKeys("user_1", { o: { new: 2 }, c: "x" });
      assert.deepEqual(sent(s).slice(1), ["GET /v1/users/user_1", "PATCH /v1/users/user_1/metadata"]);
      assert.deepEqual(stored(s), { o: { new: 2 }, keep: 1, a: 1, b: [2], c: "x" });
      await c.setUserPublicMetadataKeys("user_1", {});
      assert.equal(s.requests.length, 3);
    });
  });

  test("client.private / client.unsafe write their own field and leave public_metadata alone", async () => {
    const seed = { public_metadata: { pub: 1 }, private_metadata: { secret: { a: 1, b: 2 } }, unsafe_metadata: { u: 1 } };
    await withServer({ users: { user_1: seed } }, async (s) => {
      const c = clientFor(s);
      assert.deepEqual(await c.private.get("user_1"), { secret: { a: 1, b: 2 } });
      assert.deepEqual(await c.public.get("user_1"), { pub: 1 });
      assert.deepEqual(await c.unsafe.getKey("user_1", "u"), 1);
      assert.equal(await c.private.hasKey("user_1", "pub"), false);

      s.clearRequests();
      await c.private.merge("user_1", { secret: { b: null, c: 3 } });
      await c.private.setKey("user_1", "token", "t");
      await c.private.setKey("user_1", "secret", { only: true });
      await c.unsafe.replace("user_1", { fresh: true });
      await c.private.removeKeys("user_1", ["token"]);
      const bodies = s.requests.filter((r) => r.body !== null).map((r) => Object.keys(r.json));
      assert.deepEqual(bodies, [["private_metadata"], ["private_metadata"], ["private_metadata"], ["unsafe_metadata"], ["private_metadata"]]);
      let u = s.getUser("user_1");
      assert.deepEqual(u.private_metadata, { secret: { only: true } });
      assert.deepEqual(u.unsafe_metadata, { fresh: true });
      assert.deepEqual(u.public_metadata, { pub: 1 });

      await c.private.setKeys("user_1", { k: 1 });
      await c.unsafe.clear("user_1");
      u = s.getUser("user_1");
      assert.deepEqual(u.private_metadata, { secret: { only: true }, k: 1 });
      assert.deepEqual(u.unsafe_metadata, {});
      assert.equal(s.requests.at(-1).body, '{"unsafe_metadata":{}}');
      assert.deepEqual(u.public_metadata, { pub: 1 });
    });
  });

  test("the client's public functions are the same operations as the top-level ones", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: { b: 1 } } } } }, async (s) => {
      const c = clientFor(s);
      for (const { fn } of EIGHT) assert.equal(typeof c[fn], "function", fn);
      await c.mergeUserPublicMetadata("user_1", { x: 1 });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { a: { b: 1 }, x: 1 });
      assert.equal(await c.getUserPublicMetadataKey("user_1", "x"), 1);
      assert.equal(await c.hasUserPublicMetadataKey("user_1", "a"), true);
      await c.removeUserPublicMetadataKeys("user_1", ["x"]);
      await c.setUserPublicMetadataKey("user_1", "a", { c: 2 });
      assert.deepEqual(stored(s), { a: { c: 2 } });
      await c.updateUserPublicMetadata("user_1", { z: 1 });
      assert.deepEqual(stored(s), { z: 1 });
      await c.clearUserPublicMetadata("user_1");
      assert.deepEqual(stored(s), {});
    });
  });
});
