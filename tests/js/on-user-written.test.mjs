// onUserWritten: Clerk's answer to each successful write, awaited before the write resolves
// (issue 16: read-your-writes for a mirror of the users).
// Run: node --test tests/js/on-user-written.test.mjs   (build first: node scripts/build.mjs --skip-wasm)
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pkg, withServer } from "./package-helpers.mjs";

const { createClerkMetadataClient, ClerkMetadataError } = pkg;
const fast = (s, extra) => ({ secretKey: s.secretKey, apiUrl: s.url, rateLimit: false, maxRetries: 0, ...extra });

describe("onUserWritten", () => {
  test("every kind of write hands over Clerk's user, and the promise resolves only after the callback is done", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: 1 } } } }, async (s) => {
      const seen = [];
      let finished = 0;
      const clerk = createClerkMetadataClient(
        fast(s, {
          onUserWritten: async (user) => {
            await new Promise((r) => setTimeout(r, 15));
            seen.push(user);
            finished += 1;
          },
        }),
      );
      assert.equal(await clerk.mergeUserPublicMetadata("user_1", { b: { c: 2 } }), undefined);
      assert.equal(finished, 1, "awaited before the write resolved");
      assert.deepEqual(seen[0].public_metadata, { a: 1, b: { c: 2 } });
      assert.equal(seen[0].id, "user_1");
      assert.equal(typeof seen[0].updated_at, "number");
      await clerk.setUserPublicMetadataKey("user_1", "b", { d: 3 }); // a read, then a patch
      await clerk.updateUserPublicMetadata("user_1", { x: 1 });
      await clerk.removeUserPublicMetadataKeys("user_1", ["x"]);
      await clerk.private.setKeys("user_1", { s: "1" });
      await clerk.clearUserPublicMetadata("user_1");
      assert.equal(finished, 6);
      assert.deepEqual(
        seen.map((u) => u.public_metadata),
        [{ a: 1, b: { c: 2 } }, { a: 1, b: { d: 3 } }, { x: 1 }, {}, {}, {}],
      );
      assert.deepEqual(seen[4].private_metadata, { s: "1" });
      // Each answer is a state the server really had, in order.
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i].updated_at >= seen[i - 1].updated_at);
    });
  });

  test("reads and writes that send nothing do not call it; many-user writes call it per item", async () => {
    await withServer({ users: { user_1: {}, user_2: {} } }, async (s) => {
      const ids = [];
      const clerk = createClerkMetadataClient(fast(s, { onUserWritten: (u) => void ids.push(u.id) }));
      await clerk.getUserPublicMetadata("user_1");
      await clerk.public.removeKeys("user_1", []);
      await clerk.public.setKeys("user_1", {});
      assert.deepEqual(ids, []);
      const results = await clerk.public.mergeMany([
        { userId: "user_1", metadata: { n: 1 } },
        { userId: "user_2", metadata: { n: 2 } },
      ]);
      assert.deepEqual(results.map((r) => r.status), ["ok", "ok"]);
      assert.deepEqual(ids.sort(), ["user_1", "user_2"]);
    });
  });

  test("a failed write does not call it; what it throws rejects the write unchanged, and the write stays applied", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      let calls = 0;
      const boom = new Error("mirror down");
      const clerk = createClerkMetadataClient(fast(s, { onUserWritten: () => { calls += 1; throw boom; } }));
      const missing = await clerk.mergeUserPublicMetadata("user_nobody", { a: 1 }).catch((e) => e);
      assert.ok(missing instanceof ClerkMetadataError);
      assert.equal(calls, 0);
      const thrown = await clerk.mergeUserPublicMetadata("user_1", { a: 1 }).catch((e) => e);
      assert.equal(thrown, boom);
      assert.equal(calls, 1);
      assert.deepEqual(s.getUser("user_1").public_metadata, { a: 1 });
      const [item] = await clerk.public.mergeMany([{ userId: "user_1", metadata: { b: 1 } }]);
      assert.equal(item.status, "error");
      assert.equal(item.error.code, "unknown");
    });
  });

  test("a non-function is refused when the client is made", () => {
    assert.throws(() => createClerkMetadataClient({ onUserWritten: "yes" }), /options\.onUserWritten must be a function/);
  });
});
