// `instanceof ClerkMetadataError` across the package's two copies (the `require` copy
// dist/index.cjs and the `import` copy dist/index.mjs, both loaded in this one process), the
// `isClerkMetadataError` guard, and the top-level `setUserPublicMetadataKeys`.
// Run: node --test tests/js/instanceof.test.mjs   (build first: node scripts/build.mjs --skip-wasm)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { pkg as esm, rejection, withEnvServer } from "./package-helpers.mjs";

const cjs = createRequire(import.meta.url)("../../dist/index.cjs");

describe("ClerkMetadataError across the CJS and ESM copies", () => {
  test("the two copies are distinct classes", () => {
    assert.notEqual(cjs.ClerkMetadataError, esm.ClerkMetadataError);
  });

  test("an error from either copy is instanceof both classes, and isClerkMetadataError of both", async () => {
    const fromCjs = await rejection(cjs.getUserPublicMetadata("a/b"));
    const fromEsm = await rejection(esm.getUserPublicMetadata("a/b"));
    for (const [name, error] of [["cjs", fromCjs], ["esm", fromEsm]]) {
      assert.equal(error.code, "invalid_argument", name);
      assert.ok(error instanceof cjs.ClerkMetadataError, `${name} error instanceof the CJS class`);
      assert.ok(error instanceof esm.ClerkMetadataError, `${name} error instanceof the ESM class`);
      assert.ok(error instanceof Error, `${name} error instanceof Error`);
      assert.equal(cjs.isClerkMetadataError(error), true, `${name}: CJS isClerkMetadataError`);
      assert.equal(esm.isClerkMetadataError(error), true, `${name}: ESM isClerkMetadataError`);
    }
  });

  test("errors built directly are branded too", () => {
    const error = new cjs.ClerkMetadataError("Failed to get user metadata: x", { code: "unknown" });
    assert.ok(error instanceof esm.ClerkMetadataError);
    assert.ok(esm.isClerkMetadataError(error));
  });

  test("a plain Error, look-alikes and non-objects are not", () => {
    const lookAlike = Object.assign(new Error("Failed to get user metadata: x"), { name: "ClerkMetadataError", code: "unknown" });
    for (const value of [new Error("x"), lookAlike, { code: "unknown" }, null, undefined, "ClerkMetadataError", 0, esm.ClerkMetadataError, esm.ClerkMetadataError.prototype]) {
      for (const copy of [cjs, esm]) {
        assert.equal(value instanceof copy.ClerkMetadataError, false, String(value));
        assert.equal(copy.isClerkMetadataError(value), false, String(value));
      }
    }
  });

  test("subclasses keep plain instanceof semantics", () => {
    class MyError extends esm.ClerkMetadataError {}
    const mine = new MyError("m", { code: "unknown" });
    const base = new esm.ClerkMetadataError("b", { code: "unknown" });
    const other = new cjs.ClerkMetadataError("c", { code: "unknown" });
    assert.ok(mine instanceof MyError);
    assert.ok(mine instanceof esm.ClerkMetadataError);
    assert.ok(mine instanceof cjs.ClerkMetadataError, "a subclass instance is branded for every copy");
    assert.equal(base instanceof MyError, false, "a base instance is not a subclass instance");
    assert.equal(other instanceof MyError, false, "nor is the other copy's");
  });
});

describe("setUserPublicMetadataKeys (top level)", () => {
  const sent = (s) => s.requests.map((r) => `${r.method} ${r.path}`);
  const stored = (s) => s.getUser("user_1").public_metadata;

  for (const [name, api] of [["ESM", esm], ["CJS", cjs]]) {
    test(`${name}: sets the keys exactly, in one write, other keys untouched`, async () => {
      const seed = { public_metadata: { keep: 1, role: "user", prefs: { theme: "dark", lang: "en" } } };
      await withEnvServer({ users: { user_1: seed } }, async (s) => {
        assert.equal(typeof api.setUserPublicMetadataKeys, "function");
        assert.equal(await api.setUserPublicMetadataKeys("user_1", { role: "admin", n: 0 }), undefined);
        assert.deepEqual(sent(s), ["PATCH /v1/users/user_1/metadata"], "scalars: one PATCH, no read");
        assert.deepEqual(stored(s), { keep: 1, role: "admin", n: 0, prefs: { theme: "dark", lang: "en" } });

        s.clearRequests();
        await api.setUserPublicMetadataKeys("user_1", { prefs: { theme: "light" } });
        assert.equal(sent(s).filter((r) => r.startsWith("PATCH")).length, 1, "one write");
        assert.deepEqual(stored(s).prefs, { theme: "light" }, "an object value replaces, it is not merged");
        assert.equal(stored(s).keep, 1);
      });
    });
  }

  test("a bad user id rejects with a ClerkMetadataError, sending nothing", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      const error = await rejection(esm.setUserPublicMetadataKeys("a/b", { x: 1 }));
      assert.ok(error instanceof esm.ClerkMetadataError);
      assert.equal(error.code, "invalid_argument");
      assert.equal(s.requests.length, 0);
    });
  });
});
