// Bad input to the built package: refused with invalid_argument, attempts 0, and NOTHING sent
// (each test asserts server.requests.length === 0). Also what valid-but-odd input becomes on the wire.
// Run: node --test tests/js/package-input.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { pkg, EIGHT, withEnvServer, withServer, clientFor, rejection, assertClerkError, blobOfBytes, sent } from "./package-helpers.mjs";

/** Calls `call` (which must reject with invalid_argument before sending) and returns the error. */
async function refused(call, { op, message }) {
  const err = await rejection(call());
  assertClerkError(err, { code: "invalid_argument", attempts: 0, status: undefined, errors: [], ...(op ? { operation: op } : {}) });
  if (message !== undefined) {
    if (message instanceof RegExp) assert.match(err.message, message);
    else assert.equal(err.message, message);
  }
  return err;
}

function nested(levels) {
  let o = { leaf: 1 };
  for (let i = 1; i < levels; i++) o = { n: o };
  return o;
}

describe("userId", () => {
  const BAD_IDS = [
    ["", /userId must be a non-empty string$/],
    [42, /userId must be a string, got a number$/],
    [null, /userId must be a string, got null$/],
    [undefined, /userId must be a string, got undefined$/],
    [{ toString: () => "user_1" }, /userId must be a string, got an object$/],
    ["a/b", /userId "a\/b" contains (["'])\/\1/],
    ["../x", /userId "\.\.\/x" contains (["'])\.\1/],
    ["..", /contains (["'])\.\1/],
    ["u?x", /contains (["'])\?\1/],
    ["u#x", /contains (["'])#\1/],
    ["u%2F", /contains (["'])%\1/],
    [" ", /contains the character U\+0020/],
    ["user 1", /contains the character U\+0020/],
    [" user_1", /U\+0020/],
    ["user_1\n", /contains the character U\+000A/],
    ["\tuser", /U\+0009/],
    ["user\u0000", /U\+0000/],
    ["user\u202e1", /U\+202E|(["'])\u202e\1/],
    ["usér", /contains (["'])é\1/],
    ["u".repeat(200), /userId is 200 characters long; the limit is 128$/],
  ];

  test("every function refuses a bad id before sending (even removeKeys with [])", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      for (const { fn, op, verb, args } of EIGHT) {
        for (const [id, why] of BAD_IDS) {
          const err = await refused(() => pkg[fn](...args(id)), { op });
          assert.ok(err.message.startsWith(`Failed to ${verb} user metadata: userId`), `${fn}(${JSON.stringify(id)}): ${err.message}`);
          assert.match(err.message, why, `${fn}(${JSON.stringify(id)})`);
          assert.ok(!/[\n\r\t\u0000]/.test(err.message), "control characters are named, not printed");
        }
      }
      for (const [id] of BAD_IDS) await refused(() => pkg.removeUserPublicMetadataKeys(id, []), { op: "removeKeys" });
      assert.equal(s.requests.length, 0);
    });
  });

  test("the rules are an allow-list: letters, digits, '_' and '-' up to 128 characters pass", async () => {
    const ids = ["user_2xhFjEI5X2qWRvtV13BzSj8H6Dk", "user_123", "a-b_C", "u".repeat(128)];
    await withEnvServer({ users: Object.fromEntries(ids.map((id) => [id, { public_metadata: { id } }])) }, async (s) => {
      for (const id of ids) assert.deepEqual(await pkg.getUserPublicMetadata(id), { id });
      assert.deepEqual(sent(s), ids.map((id) => `GET /v1/users/${id}`));
    });
  });
});

describe("keys", () => {
  test("key: empty, non-string or over 1024 bytes is refused by setKey/getKey/hasKey", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      const calls = [
        ["setKey", "set key in", (k) => pkg.setUserPublicMetadataKey("user_1", k, 1)],
        ["getKey", "get key from", (k) => pkg.getUserPublicMetadataKey("user_1", k)],
        ["hasKey", "check key in", (k) => pkg.hasUserPublicMetadataKey("user_1", k)],
      ];
      for (const [op, verb, call] of calls) {
        await refused(() => call(""), { op, message: `Failed to ${verb} user metadata: key must be a non-empty string` });
        await refused(() => call(7), { op, message: `Failed to ${verb} user metadata: key must be a string, got a number` });
        await refused(() => call(undefined), { op, message: /key must be a string, got undefined$/ });
        await refused(() => call(null), { op, message: /key must be a string, got null$/ });
        await refused(() => call(Symbol("k")), { op, message: /key must be a string, got a symbol$/ });
        await refused(() => call(["a"]), { op, message: /key must be a string, got an array$/ });
        await refused(() => call("k".repeat(1025)), { op, message: /key is 1025 bytes long; the limit is 1024$/ });
      }
      assert.equal(s.requests.length, 0);
    });
  });

  test("keysToRemove: not an array, or an item that is not a non-empty string, is refused with its index", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      const remove = (keys) => () => pkg.removeUserPublicMetadataKeys("user_1", keys);
      const op = "removeKeys";
      await refused(remove("a"), { op, message: "Failed to remove keys from user metadata: keysToRemove must be an array of strings, got a string" });
      await refused(remove(null), { op, message: /keysToRemove must be an array of strings, got null$/ });
      await refused(remove(undefined), { op, message: /got undefined$/ });
      await refused(remove(new Set(["a"])), { op, message: /got an instance of Set$/ });
      await refused(remove({ 0: "a", length: 1 }), { op, message: /got an object$/ });
      await refused(remove(["a", 1]), { op, message: /keysToRemove\[1\] must be a string, got a number$/ });
      await refused(remove(["a", null]), { op, message: /keysToRemove\[1\] must be a string, got null$/ });
      await refused(remove(["", "b"]), { op, message: /keysToRemove\[0\] must be a non-empty string$/ });
      await refused(remove(["a", , "c"]), { op, message: /keysToRemove\[1\] must be a string, got undefined$/ });
      assert.equal(s.requests.length, 0);
    });
  });
});

describe("metadata values", () => {
  const cycle = { a: { b: {} } };
  cycle.a.b.back = cycle.a;
  class Profile {
    constructor() {
      this.role = "admin";
    }
  }
  // What each message must say (the path, and why); the exact wording around it may change.
  const BAD_ROOTS = [
    [null, /^metadata must be a plain object, got null$/],
    [undefined, /^metadata must be a plain object, got undefined$/],
    [[{ a: 1 }], /^metadata must be a plain object, got an array$/],
    ["role=admin", /^metadata must be a plain object, got a string$/],
    [42, /^metadata must be a plain object, got a number$/],
    [new Map([["a", 1]]), /^metadata must be a plain object, got an instance of Map$/],
    [new Profile(), /^metadata must be a plain object, got an instance of Profile$/],
    [new Date(0), /^metadata must be a plain object, got an instance of Date$/],
    [() => ({}), /^metadata must be a plain object, got a function$/],
  ];
  const BAD_MEMBERS = [
    [cycle, /^metadata\.a\.b\.back .*cycle/],
    [{ n: 10n }, /^metadata\.n is a BigInt/],
    [{ n: Number.NaN }, /^metadata\.n is NaN/],
    [{ deep: { n: Infinity } }, /^metadata\.deep\.n is Infinity/],
    [{ n: -Infinity }, /^metadata\.n is -Infinity/],
    [{ f() {} }, /^metadata\.f is a function/],
    [{ s: Symbol("x") }, /^metadata\.s is a symbol/],
    [{ list: [1, undefined] }, /^metadata\.list\[1\] is undefined/],
    [{ list: [1, , 3] }, /^metadata\.list\[1\] is undefined \(or a hole\)/],
    [{ m: new Map() }, /^metadata\.m is an instance of Map/],
    [{ when: new Date(Number.NaN) }, /^metadata\.when is an invalid Date/],
    [{ "odd key": { "1x": [{ p: new Profile() }] } }, /^metadata\["odd key"\]\["1x"\]\[0\]\.p is an instance of Profile/],
    [nested(65), /^metadata(\.n){64} is nested more than 64 levels deep$/],
  ];

  test("update and merge refuse what JSON cannot hold faithfully, naming the path", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      for (const [fn, op, verb] of [["updateUserPublicMetadata", "update", "update"], ["mergeUserPublicMetadata", "merge", "merge"]]) {
        for (const [value, why] of [...BAD_ROOTS, ...BAD_MEMBERS]) {
          const err = await refused(() => pkg[fn]("user_1", value), { op });
          const reason = err.message.slice(`Failed to ${verb} user metadata: `.length);
          assert.ok(err.message.startsWith(`Failed to ${verb} user metadata: `), err.message);
          assert.match(reason, why);
        }
      }
      assert.equal(s.requests.length, 0);
    });
  });

  test("64 levels of nesting are accepted (the limit is inclusive)", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      await pkg.updateUserPublicMetadata("user_1", nested(64));
      assert.equal(s.requests.length, 1);
      assert.deepEqual(s.getUser("user_1").public_metadata, nested(64));
    });
  });

  test("setKey: undefined, null and member nulls are refused (nothing sent, not even a GET)", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: { prefs: { a: 1 } } } } }, async (s) => {
      const op = "setKey";
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "prefs", undefined), {
        op,
        message: "Failed to set key in user metadata: value is undefined; to remove a key use removeUserPublicMetadataKeys (removeKeys on a metadata field)",
      });
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "prefs", null), { op, message: /value for key "prefs" is null; Clerk's merge treats null as "remove this key"/ });
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "prefs", { a: { b: null } }), { op, message: /value for key "prefs" has null at a\.b;/ });
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "prefs", { ok: 1, z: null }), { op, message: /has null at z;/ });
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "prefs", { big: 1n }), { op, message: /value\.big is a BigInt/ });
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "prefs", NaN), { op, message: /value is NaN/ });
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "prefs", () => 1), { op, message: /value is a function/ });
      assert.equal(s.requests.length, 0);
      assert.deepEqual(s.getUser("user_1").public_metadata, { prefs: { a: 1 } });
    });
  });

  test("setKeys refuses a null entry, naming its key", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const c = clientFor(s);
      await refused(() => c.setUserPublicMetadataKeys("user_1", { ok: 1, role: null }), { op: "setKeys", message: /value for key "role" is null/ });
      await refused(() => c.setUserPublicMetadataKeys("user_1", { "": 1 }), { op: "setKeys", message: /a key of entries must be a non-empty string$/ });
      await refused(() => c.setUserPublicMetadataKeys("user_1", [1]), { op: "setKeys", message: /entries must be a plain object, got an array$/ });
      assert.equal(s.requests.length, 0);
    });
  });
});

describe("size limit (8192 bytes of JSON by default)", () => {
  test("over the limit: refused before sending, the message names the byte count", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      await refused(() => pkg.updateUserPublicMetadata("user_1", blobOfBytes(9011)), {
        op: "update",
        message: /^Failed to update user metadata: metadata is 9011 bytes .*8192 bytes/,
      });
      await refused(() => pkg.mergeUserPublicMetadata("user_1", blobOfBytes(8193)), { op: "merge", message: /metadata is 8193 bytes .*8192 bytes/ });
      // UTF-8 bytes, not characters: {"k":"éé…"} with 5000 é is 10008 bytes.
      await refused(() => pkg.updateUserPublicMetadata("user_1", { k: "é".repeat(5000) }), { op: "update", message: /metadata is 10008 bytes/ });
      await refused(() => pkg.setUserPublicMetadataKey("user_1", "blob", "x".repeat(9000)), { op: "setKey", message: /value is 9011 bytes .*8192 bytes/ });
      assert.equal(s.requests.length, 0);
      // Exactly at the limit: sent.
      await pkg.updateUserPublicMetadata("user_1", blobOfBytes(8192));
      assert.equal(s.requests.length, 1);
      assert.equal(Buffer.byteLength(JSON.stringify(s.requests[0].json.public_metadata)), 8192);
    });
  });

  test("maxMetadataBytes lowers the limit", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const c = clientFor(s, { maxMetadataBytes: 100 });
      await refused(() => c.mergeUserPublicMetadata("user_1", blobOfBytes(101)), { op: "merge", message: /metadata is 101 bytes .*100 bytes/ });
      await c.mergeUserPublicMetadata("user_1", blobOfBytes(100));
      assert.equal(s.requests.length, 1);
    });
  });
});

describe("what valid input becomes on the wire", () => {
  test("undefined members are dropped, Dates become ISO strings, -0 becomes 0, integers stay integers", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
      await pkg.updateUserPublicMetadata("user_1", {
        a: 1,
        gone: undefined,
        n: { c: undefined, d: 2, at: when, list: [new Date(0)] },
        negZero: -0,
        float: 1.5,
        big: 2 ** 53 - 1,
        [Symbol("ignored")]: 1,
      });
      const body = s.requests[0].body;
      assert.ok(!body.includes("gone") && !body.includes('"c"') && !body.includes("ignored"), body);
      assert.ok(body.includes('"negZero":0') && body.includes('"a":1') && body.includes('"float":1.5') && body.includes('"big":9007199254740991'), body);
      assert.deepEqual(s.requests[0].json, {
        public_metadata: { a: 1, n: { d: 2, at: "2024-01-02T03:04:05.006Z", list: ["1970-01-01T00:00:00.000Z"] }, negZero: 0, float: 1.5, big: 9007199254740991 },
      });
    });
  });

  test("objects with a null prototype are plain; setKey of a Date or a member-undefined object works", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: { o: { stale: 1 } } } } }, async (s) => {
      const bare = Object.create(null);
      bare.x = 1;
      await pkg.mergeUserPublicMetadata("user_1", { bare });
      await pkg.setUserPublicMetadataKey("user_1", "when", new Date(0));
      await pkg.setUserPublicMetadataKey("user_1", "o", { keep: 1, drop: undefined });
      assert.deepEqual(s.getUser("user_1").public_metadata, { bare: { x: 1 }, when: "1970-01-01T00:00:00.000Z", o: { keep: 1 } });
      assert.deepEqual(sent(s), ["PATCH /v1/users/user_1/metadata", "PATCH /v1/users/user_1/metadata", "GET /v1/users/user_1", "PATCH /v1/users/user_1/metadata"]);
    });
  });

  test("a Date given a plain prototype is what JSON.stringify makes of it: an empty object", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: { keep: 1 } } } }, async (s) => {
      const member = Object.setPrototypeOf(new Date(0), Object.prototype);
      const root = Object.setPrototypeOf(new Date(0), null);
      await pkg.mergeUserPublicMetadata("user_1", { member, subclassed: new (class extends Date {})(0) });
      assert.deepEqual(s.requests[0].json, JSON.parse(JSON.stringify({ public_metadata: { member, subclassed: new Date(0) } })));
      assert.deepEqual(s.requests[0].json.public_metadata, { member: {}, subclassed: "1970-01-01T00:00:00.000Z" });
      await pkg.mergeUserPublicMetadata("user_1", root);
      assert.deepEqual(s.requests[1].json, { public_metadata: {} });
      assert.deepEqual(s.getUser("user_1").public_metadata, { keep: 1, member: {}, subclassed: "1970-01-01T00:00:00.000Z" });
    });
  });

  test("arguments are read when the function is called, not later", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      const metadata = { a: 1 };
      const pending = pkg.mergeUserPublicMetadata("user_1", metadata);
      metadata.a = 2;
      metadata.b = 3;
      await pending;
      assert.deepEqual(s.requests[0].json, { public_metadata: { a: 1 } });
    });
  });
});
