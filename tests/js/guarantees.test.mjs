// What the client guarantees about writes when the network misbehaves: a write whose outcome is
// unknown is not retried blind and nothing sent earlier lands after a later acknowledged write;
// writes to one user through one client go out one at a time in call order (exact sets too), so
// the result is always one of the sequential orders and the read cache ends on the last answer;
// a 3xx is an error and nothing follows it. Every case runs against a local server doing the bad
// thing for real (apply-late, respond-late, delay, redirect faults), never a mocked fetch.
// Run: node --test tests/js/guarantees.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { startLocalClerkServer, withServer, clientFor, rejection, assertClerkError, until } from "./package-helpers.mjs";

const ID = "user_1";
const PATCH = `/v1/users/${ID}/metadata`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const publicOf = (s, id = ID) => s.getUser(id).public_metadata;

/** A write that may have been applied: not retried, flagged, one attempt. */
function assertOutcomeUnknown(err, code, operation) {
  return assertClerkError(err, { code, operation, outcomeUnknown: true, attempts: 1, message: /outcome is unknown/ });
}

describe("a write whose outcome is unknown", () => {
  // The first request reaches the server, times out on the client at 300 ms and is applied at
  // 900 ms. writeSettleMs 1000 covers it, so the next write is sent after it has landed.
  const late = { users: { [ID]: { public_metadata: { plan: "trial" } } }, userWriteLimit: false };
  const options = { timeoutMs: 300, writeSettleMs: 1000, rateLimit: false };

  test("timed out: rejects (not retried); the next write waits, so it is the one that stays", async () => {
    await withServer(late, async (s) => {
      const c = clientFor(s, options);
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 900 }, method: "PATCH" });
      assertOutcomeUnknown(await rejection(c.mergeUserPublicMetadata(ID, { plan: "free" })), "timeout", "merge");
      await c.mergeUserPublicMetadata(ID, { plan: "pro" });
      await sleep(Math.max(0, s.requests[0].at + 950 - Date.now())); // past the late write's landing
      assert.deepEqual(publicOf(s), { plan: "pro" }, "the acknowledged write is the last one applied");
      assert.deepEqual(s.applied.map((w) => w.body.public_metadata.plan), ["free", "pro"]);
      assert.equal(s.requests.length, 2, "the unknown write was sent once");
      const [first, second] = s.requests;
      assert.ok(second.at >= s.applied[0].at, "the next write was sent after the late one landed");
      assert.ok(second.at - first.at >= 1000, `the next write waited writeSettleMs (sent ${second.at - first.at} ms after the first)`);
    });
  });

  test("a replace landing late cannot erase a merge acknowledged after it", async () => {
    await withServer(late, async (s) => {
      const c = clientFor(s, options);
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 900 }, method: "PUT" });
      assertOutcomeUnknown(await rejection(c.updateUserPublicMetadata(ID, { plan: "free" })), "timeout", "update");
      await c.mergeUserPublicMetadata(ID, { ack: true });
      await until(() => s.applied.length === 2, "both writes");
      await sleep(Math.max(0, s.requests[0].at + 950 - Date.now())); // past the late write's landing
      assert.deepEqual(publicOf(s), { plan: "free", ack: true }, "the acknowledged merge's key survived");
      assert.deepEqual(s.applied.map((w) => w.method), ["PUT", "PATCH"]);
    });
  });

  test("connection dropped after the body was sent: network_error, not retried; the next write waits", async () => {
    await withServer(late, async (s) => {
      const c = clientFor(s, { writeSettleMs: 300, rateLimit: false });
      s.injectFault({ fault: { kind: "reset" }, method: "PATCH" });
      assertOutcomeUnknown(await rejection(c.mergeUserPublicMetadata(ID, { plan: "free" })), "network_error", "merge");
      assert.equal(s.requests.length, 1);
      await c.mergeUserPublicMetadata(ID, { plan: "pro" });
      assert.ok(s.requests[1].at - s.requests[0].at >= 300, "waited writeSettleMs before the next write");
      assert.deepEqual(publicOf(s), { plan: "pro" });
    });
  });

  test("retryUnknownWrites: true retries, but only once nothing sent earlier can land after the retry", async () => {
    await withServer(late, async (s) => {
      const c = clientFor(s, { ...options, retryUnknownWrites: true });
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 900 }, method: "PATCH" });
      await c.mergeUserPublicMetadata(ID, { plan: "free" });
      assert.equal(s.requests.length, 2, "retried once");
      const [first, retry] = s.requests;
      assert.ok(retry.at - first.at >= 1000, `the retry waited writeSettleMs (sent ${retry.at - first.at} ms after the first attempt)`);
      assert.equal(s.applied.length, 2, "the first attempt had landed before the retry was applied");
      await c.mergeUserPublicMetadata(ID, { plan: "pro" });
      await sleep(Math.max(0, s.requests[0].at + 950 - Date.now()));
      assert.deepEqual(publicOf(s), { plan: "pro" });
      assert.deepEqual(s.applied.map((w) => w.body.public_metadata.plan), ["free", "free", "pro"]);
    });
  });
});

describe("writes to one user through one client go out one at a time, in call order", () => {
  test("two exact sets of one key: the result is exactly one of the values, never a merge of both", async () => {
    await withServer({ users: { [ID]: { public_metadata: { prefs: {}, keep: 1 } } }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      // Slow reads, so that sets sent side by side both read before either writes.
      s.injectFault({ fault: { kind: "delay", ms: 150 }, method: "GET", times: 2 });
      await Promise.all([c.setUserPublicMetadataKey(ID, "prefs", { a: 1 }), c.setUserPublicMetadataKey(ID, "prefs", { b: 2 })]);
      const { prefs, keep } = publicOf(s);
      assert.equal(keep, 1);
      assert.ok([JSON.stringify({ a: 1 }), JSON.stringify({ b: 2 })].includes(JSON.stringify(prefs)), `prefs is ${JSON.stringify(prefs)}`);
      assert.deepEqual(prefs, { b: 2 }, "the later call is the later write");
    });
  });

  test("an exact set racing a replace ends in one of the two sequential orders", async () => {
    await withServer({ users: { [ID]: { public_metadata: { prefs: { x: 1 } } } }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      // The set's read sees the state at once but is answered late, so on a client that does not
      // order writes the replace lands between the set's read and its write.
      s.injectFault({ fault: { kind: "respond-late", ms: 150 }, method: "GET" });
      await Promise.all([c.setUserPublicMetadataKey(ID, "prefs", { a: 1 }), c.updateUserPublicMetadata(ID, { prefs: { b: 2 } })]);
      const setThenReplace = { prefs: { b: 2 } };
      const replaceThenSet = { prefs: { a: 1 } };
      const final = publicOf(s);
      assert.ok(
        [setThenReplace, replaceThenSet].some((order) => JSON.stringify(order) === JSON.stringify(final)),
        `final ${JSON.stringify(final)} is not a sequential order`,
      );
      assert.deepEqual(final, setThenReplace, "in call order");
    });
  });

  test("with the cache on, the last write's answer is what a read returns, whatever order answers come in", async () => {
    await withServer({ users: { [ID]: {} }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { cache: { ttlMs: 60_000 }, rateLimit: false });
      s.injectFault({ fault: { kind: "respond-late", ms: 300 }, method: "PATCH" });
      const first = c.mergeUserPublicMetadata(ID, { v: 1 });
      await until(() => s.requests.length === 1, "the first merge at the server");
      const second = c.mergeUserPublicMetadata(ID, { v: 2 });
      await Promise.all([first, second]);
      assert.deepEqual(publicOf(s), { v: 2 });
      assert.deepEqual(await c.getUserPublicMetadata(ID), { v: 2 }, "the cache holds the last write's answer");
    });
  });
});

describe("a 3xx answer is an error and is never followed", () => {
  const seed = () => ({ users: { [ID]: { public_metadata: { here: 1 } }, user_2: { public_metadata: { other: 2 } } }, userWriteLimit: false });
  const ops = [
    { name: "merge (PATCH)", op: "merge", method: "PATCH", call: (c) => c.mergeUserPublicMetadata(ID, { moved: true }), path: "/metadata" },
    { name: "get (GET)", op: "get", method: "GET", call: (c) => c.getUserPublicMetadata(ID), path: "" },
  ];
  const targets = [
    { name: "another origin", location: (elsewhere, path) => `${elsewhere.url}/v1/users/${ID}${path}` },
    { name: "this server's other user", location: (_elsewhere, path) => `/v1/users/user_2${path}` },
  ];
  for (const status of [301, 302, 303, 307, 308]) {
    for (const { name, op, method, call, path } of ops) {
      for (const target of targets) {
        test(`${status} on a ${name} to ${target.name}: unexpected_redirect, nothing followed, nothing changed`, async () => {
          await withServer(seed(), async (s) => {
            const elsewhere = await startLocalClerkServer(seed());
            try {
              const c = clientFor(s, { rateLimit: false });
              s.injectFault({ fault: { kind: "redirect", status, location: target.location(elsewhere, path) }, method });
              assertClerkError(await rejection(call(c)), { code: "unexpected_redirect", status, operation: op });
              assert.equal(elsewhere.requests.length, 0, "nothing was sent to the other origin");
              assert.deepEqual(s.requests.map((r) => `${r.method} ${r.path}`), [`${method} /v1/users/${ID}${path}`], "nothing followed the Location");
              for (const server of [s, elsewhere]) {
                assert.deepEqual(server.applied, []);
                assert.deepEqual(publicOf(server), { here: 1 });
                assert.deepEqual(publicOf(server, "user_2"), { other: 2 });
              }
            } finally {
              await elsewhere.close();
            }
          });
        });
      }
    }
  }
});

describe("what certainly did not apply is still retried", () => {
  test("a merge answered 429 with Retry-After: 0, or 503 with Retry-After, is retried and resolves once", async () => {
    await withServer({ users: { [ID]: {} }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      for (const status of [429, 503]) {
        s.clearRequests();
        s.injectFault({ fault: { kind: "status", status, headers: { "retry-after": "0" } }, method: "PATCH" });
        await c.mergeUserPublicMetadata(ID, { [`after_${status}`]: true });
        assert.deepEqual(s.requests.map((r) => r.status), [status, 200], `${status} then success`);
      }
      assert.deepEqual(s.applied.length, 2, "each write applied exactly once");
      assert.deepEqual(publicOf(s), { after_429: true, after_503: true });
    });
  });

  test("a read that timed out is retried (reading twice is harmless)", async () => {
    await withServer({ users: { [ID]: { public_metadata: { plan: "pro" } } } }, async (s) => {
      const c = clientFor(s, { timeoutMs: 200, rateLimit: false });
      s.injectFault({ fault: { kind: "delay", ms: 1000 }, method: "GET" });
      assert.deepEqual(await c.getUserPublicMetadata(ID), { plan: "pro" });
      assert.equal(s.requests.length, 2);
    });
  });
});

describe("the size check gives the true reason", () => {
  test("an exact set whose null-filled patch is over the limit says so, and sends no write", async () => {
    // 700 stored members of prefs fit (about 6.3 KB), but setting prefs to {} exactly needs a patch
    // naming each with null (about 8.4 KB): that patch is what is too large, not the value {}.
    const prefs = Object.fromEntries(Array.from({ length: 700 }, (_, i) => [`k${String(i).padStart(4, "0")}`, 1]));
    await withServer({ users: { [ID]: { public_metadata: { prefs, keep: true } } }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      const err = await rejection(c.setUserPublicMetadataKey(ID, "prefs", {}));
      assertClerkError(err, { code: "invalid_argument", operation: "setKey", message: /removes 700 stored member\(s\) with null.*over Clerk's limit of 8192 bytes \(the value alone is 2\)/ });
      assert.doesNotMatch(err.message, /value is \d+ bytes/);
      assert.deepEqual(s.requests.map((r) => r.method), ["GET"], "read, then refused before any write");
      assert.equal(Object.keys(publicOf(s).prefs).length, 700, "nothing changed");
      // A value that is itself too large still says so.
      const big = await rejection(c.setUserPublicMetadataKey(ID, "blob", "x".repeat(9000)));
      assertClerkError(big, { code: "invalid_argument", message: /value is 9011 bytes/ });
    });
  });
});
