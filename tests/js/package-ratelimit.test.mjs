// The client-side rate limiter of the built package against the local server's limiters.
// Windows are small (hundreds of ms) so the suite stays fast; correctness is judged by counts
// (zero 429s recorded by the server, every key landed), never by measuring the wall clock.
// Run: node --test tests/js/package-ratelimit.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { pkg, withServer, withEnvServer, clientFor, rejection, assertClerkError, until } from "./package-helpers.mjs";

const statuses = (s) => s.requests.map((r) => r.status);
const count = (s, status) => s.requests.filter((r) => r.status === status).length;

/**
 * Opens `n` keep-alive connections to the server (unauthenticated requests: answered 401 before
 * any server limiter counts them), then forgets them. The package's global fetch shares Node's
 * connection pool, so its first requests do not pay for connection setup; a cold first request
 * is the subject of its own test below.
 */
async function warmConnections(s, n) {
  await Promise.all(Array.from({ length: n }, () => fetch(`${s.url}/v1/users/warmup`).then((r) => r.arrayBuffer())));
  assert.ok(s.requests.every((r) => r.status === 401));
  s.clearRequests();
}

describe("per-user write limit", () => {
  const window = { requests: 2, windowMs: 300 };

  test("client window longer than the server's: 6 concurrent writes to one user are spaced out, zero 429s", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: window }, async (s) => {
      await warmConnections(s, 2); // the first fetch of a process is slow (see the cold-request test)
      const c = clientFor(s, { rateLimit: { userWrites: { requests: 2, windowMs: 600 }, instance: false }, maxRetries: 0 });
      await Promise.all(Array.from({ length: 6 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`k${i}`]: i })));
      assert.equal(s.requests.length, 6);
      assert.equal(count(s, 429), 0, String(statuses(s)));
      assert.deepEqual(s.getUser("user_1").public_metadata, { k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5 });
    });
  });

  test("client limit = server limit: 6 concurrent writes to one user all succeed, zero 429s", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: window }, async (s) => {
      await warmConnections(s, 2);
      // maxRetries 0: a single 429 would surface as a failure instead of being retried away.
      const c = clientFor(s, { rateLimit: { userWrites: window, instance: false }, maxRetries: 0 });
      await Promise.all(Array.from({ length: 6 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`k${i}`]: i })));
      assert.equal(s.requests.length, 6);
      assert.equal(count(s, 429), 0, String(statuses(s)));
      assert.deepEqual(s.getUser("user_1").public_metadata, { k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5 });
      // Writes are sent in the order they were made.
      assert.deepEqual(s.requests.map((r) => Object.keys(r.json.public_metadata)[0]), ["k0", "k1", "k2", "k3", "k4", "k5"]);
    });
  });

  test("reads are not held back by a user's queued writes; other users' writes are not either", async () => {
    await withServer({ users: { user_1: {}, user_2: {} }, userWriteLimit: window }, async (s) => {
      // 30 s: the queued write's slot must stay inside the default 60 s deadline.
      const c = clientFor(s, { rateLimit: { userWrites: { requests: 1, windowMs: 30_000 }, instance: false }, maxRetries: 0 });
      await c.mergeUserPublicMetadata("user_1", { first: 1 });
      const controller = new AbortController();
      const queued = rejection(c.mergeUserPublicMetadata("user_1", { second: 1 }, { signal: controller.signal }));
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { first: 1 });
      await c.mergeUserPublicMetadata("user_2", { other: 1 });
      assert.deepEqual(s.requests.map((r) => `${r.method} ${r.path}`), ["PATCH /v1/users/user_1/metadata", "GET /v1/users/user_1", "PATCH /v1/users/user_2/metadata"]);
      controller.abort();
      assertClerkError(await queued, { code: "aborted", attempts: 0, operation: "merge" });
      assert.equal(s.requests.length, 3, "the queued write was never sent");
    });
  });

  test("rateLimit: false against the same server: 429s are returned (maxRetries 0) …", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: window }, async (s) => {
      const c = clientFor(s, { rateLimit: false, maxRetries: 0 });
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`k${i}`]: i })));
      const rejected = results.filter((r) => r.status === "rejected").map((r) => r.reason);
      const fulfilled = results.length - rejected.length;
      // Normally 2 pass and 4 are refused; a slow arrival can let a third into a fresh window.
      assert.ok(fulfilled >= 2 && rejected.length >= 3, `${fulfilled} passed, ${rejected.length} refused`);
      for (const err of rejected) assertClerkError(err, { code: "too_many_requests", status: 429, retryAfter: 1, attempts: 1 });
      assert.equal(count(s, 429), rejected.length);
      assert.equal(s.requests.length, 6, "nothing retried");
      assert.equal(Object.keys(s.getUser("user_1").public_metadata).length, fulfilled);
    });
  });

  test("… or waited out and retried (default retries)", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: window }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      await Promise.all(Array.from({ length: 4 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`k${i}`]: i })));
      assert.ok(count(s, 429) >= 1, `the server refused some writes: ${statuses(s)}`);
      assert.equal(count(s, 200), 4);
      assert.equal(s.requests.length, 4 + count(s, 429), "each 429 was retried");
      assert.deepEqual(s.getUser("user_1").public_metadata, { k0: 0, k1: 1, k2: 2, k3: 3 });
    });
  });

  test("100 concurrent merges of distinct keys to one user (50 per 1 s on both sides): all land (429s, if any, retried)", async () => {
    const limit = { requests: 50, windowMs: 1000 };
    await withServer({ users: { user_1: {} }, userWriteLimit: limit }, async (s) => {
      await warmConnections(s, 50);
      const c = clientFor(s, { rateLimit: { userWrites: limit, instance: false } });
      await Promise.all(Array.from({ length: 100 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`key${i}`]: i })));
      assert.equal(count(s, 200), 100);
      const pm = s.getUser("user_1").public_metadata;
      assert.equal(Object.keys(pm).length, 100);
      for (let i = 0; i < 100; i++) assert.equal(pm[`key${i}`], i);
    });
  });

  test("100 concurrent merges of distinct keys to one user (50 per 1 s on both sides): no request gets a 429", async () => {
    const limit = { requests: 50, windowMs: 1000 };
    await withServer({ users: { user_1: {} }, userWriteLimit: limit }, async (s) => {
      const c = clientFor(s, { rateLimit: { userWrites: limit, instance: false }, maxRetries: 0 });
      await Promise.all(Array.from({ length: 100 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`key${i}`]: i })));
      assert.equal(s.requests.length, 100);
      assert.equal(count(s, 429), 0);
      const pm = s.getUser("user_1").public_metadata;
      assert.equal(Object.keys(pm).length, 100);
      for (let i = 0; i < 100; i++) assert.equal(pm[`key${i}`], i);
    });
  });

  test("a limiter wait that would pass deadlineMs fails at once with code timeout, nothing sent", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: { userWrites: { requests: 1, windowMs: 60_000 }, instance: false }, deadlineMs: 1000 });
      await c.setUserPublicMetadataKey("user_1", "a", 1);
      const err = await rejection(c.setUserPublicMetadataKey("user_1", "b", 2));
      assertClerkError(err, { code: "timeout", attempts: 0, operation: "setKey", message: /1000 ms deadline/ });
      assert.equal(s.requests.length, 1);
    });
  });
});

describe("instance limit", () => {
  // 15 distinct users: concurrent reads of one user share a single request (single flight).
  test("client window longer than the server's: 15 concurrent reads of 15 users, zero 429s", async () => {
    const limit = { requests: 5, windowMs: 300 };
    const users = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`user_${i + 1}`, {}]));
    await withServer({ users, userWriteLimit: false, instanceLimit: limit }, async (s) => {
      await warmConnections(s, 5);
      const c = clientFor(s, { rateLimit: { userWrites: false, instance: { requests: 5, windowMs: 600 } }, maxRetries: 0 });
      await Promise.all(Array.from({ length: 15 }, (_, i) => c.getUserPublicMetadata(`user_${i + 1}`)));
      assert.equal(s.requests.length, 15);
      assert.equal(count(s, 429), 0, String(statuses(s)));
    });
  });
});

describe("the default limiter of the top-level functions (Clerk's 10 writes / 10 s per user)", () => {
  test("10 writes go at once, the 11th to that user is queued (not sent) while others proceed", async () => {
    await withEnvServer({ users: { user_1: {}, user_2: {} } }, async (s) => {
      await Promise.all(Array.from({ length: 10 }, (_, i) => pkg.mergeUserPublicMetadata("user_1", { [`k${i}`]: i })));
      assert.equal(count(s, 200), 10);
      const controller = new AbortController();
      const eleventh = rejection(pkg.mergeUserPublicMetadata("user_1", { k10: 10 }, { signal: controller.signal }));
      // Another user's write and a read of user_1 complete while the 11th waits.
      await pkg.setUserPublicMetadataKey("user_2", "x", 1);
      assert.equal(Object.keys(await pkg.getUserPublicMetadata("user_1")).length, 10);
      assert.deepEqual(s.requests.slice(10).map((r) => `${r.method} ${r.path}`), ["PATCH /v1/users/user_2/metadata", "GET /v1/users/user_1"]);
      controller.abort();
      assertClerkError(await eleventh, { code: "aborted", attempts: 0 });
      assert.equal(s.requests.length, 12);
      assert.equal(count(s, 429), 0, "the server's own 10/10 s limit was never hit");
    });
  });
});

describe("limiter defects found and fixed (regression tests)", () => {
  test("a slow (cold) first request does not make the next window's writes hit the server's limit", async () => {
    const window = { requests: 2, windowMs: 300 };
    await withServer({ users: { user_1: {} }, userWriteLimit: window }, async (s) => {
      await warmConnections(s, 2);
      let calls = 0;
      // The first request is 250 ms slow to go out, as a cold TLS handshake to api.clerk.com can be.
      const slowFirst = async (url, init) => {
        calls += 1;
        if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 250));
        return fetch(url, init);
      };
      const c = clientFor(s, { fetch: slowFirst, rateLimit: { userWrites: window, instance: false }, maxRetries: 0 });
      const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => c.mergeUserPublicMetadata("user_1", { [`k${i}`]: i })));
      assert.equal(count(s, 429), 0, String(statuses(s)));
      assert.ok(results.every((r) => r.status === "fulfilled"));
    });
  });

  test("aborted (or deadline-refused) calls do not keep rate-limiter slots", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: { userWrites: { requests: 2, windowMs: 60_000 }, instance: false }, deadlineMs: 2000 });
      for (let i = 0; i < 2; i++) {
        assertClerkError(await rejection(c.mergeUserPublicMetadata("user_1", { i }, { signal: AbortSignal.abort() })), { code: "aborted", attempts: 0 });
      }
      assert.equal(s.requests.length, 0);
      // Nothing was sent, so the 2-per-minute window is still empty: this write must go now.
      await c.mergeUserPublicMetadata("user_1", { real: 1 });
      assert.equal(s.requests.length, 1);
    });
  });
});

test("the limiter leaves no timer behind once its waiters settle", async () => {
  await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
    const c = clientFor(s, { rateLimit: { userWrites: { requests: 1, windowMs: 50 }, instance: false } });
    await Promise.all([c.mergeUserPublicMetadata("user_1", { a: 1 }), c.mergeUserPublicMetadata("user_1", { b: 1 }), c.mergeUserPublicMetadata("user_1", { c: 1 })]);
    await until(() => s.requests.length === 3, "all writes");
    assert.deepEqual(s.getUser("user_1").public_metadata, { a: 1, b: 1, c: 1 });
  });
});

describe("a host limiter (the `limiter` option) stands in for the built-in one", () => {
  test("every request asks it for a slot (write or not, with its user) and releases it after the answer", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      const log = [];
      const limiter = {
        async acquire({ userId, write, signal }) {
          log.push(`acquire ${write ? "write" : "read"} ${userId} ${signal === undefined ? "no-signal" : "signal"}`);
          const requestsBefore = s.requests.length;
          return () => log.push(`release ${userId} after ${s.requests.length - requestsBefore} request(s)`);
        },
      };
      const c = clientFor(s, { limiter });
      await c.mergeUserPublicMetadata("user_1", { a: 1 });
      await c.getUserPublicMetadata("user_1", { signal: new AbortController().signal });
      assert.deepEqual(log, [
        "acquire write user_1 no-signal",
        "release user_1 after 1 request(s)",
        "acquire read user_1 signal",
        "release user_1 after 1 request(s)",
      ]);
    });
  });

  test("a request waits for the host's slot; a limiter that fails fails the call before anything is sent", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      let grant;
      const gate = { acquire: () => new Promise((resolve) => (grant = resolve)) };
      const pending = clientFor(s, { limiter: gate }).mergeUserPublicMetadata("user_1", { a: 1 });
      await until(() => grant !== undefined, "the request to ask for a slot");
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(s.requests.length, 0, "nothing sent before the slot is granted");
      grant();
      await pending;
      assert.equal(s.requests.length, 1);

      const broken = clientFor(s, { limiter: { acquire: async () => { throw new Error("redis is down"); } } });
      assertClerkError(await rejection(broken.getUserPublicMetadata("user_1")), { code: "network_error", attempts: 0, message: /rate limiter failed: redis is down/ });
      assert.equal(s.requests.length, 1);
      assert.throws(() => pkg.createClerkMetadataClient({ limiter: {} }), /options\.limiter must be an object with an acquire function/);
    });
  });

  test("lockUser holds the user across an exact set's read and patch, and only there", async () => {
    await withServer({ users: { user_1: { prefs: { theme: "dark", old: 1 } } }, userWriteLimit: false }, async (s) => {
      const log = [];
      const limiter = {
        async acquire({ write }) {
          log.push(write ? "write" : "read");
        },
        async lockUser({ userId, signal }) {
          log.push(`lock ${userId} ${signal === undefined ? "no-signal" : "signal"}`);
          return () => log.push(`unlock after ${s.requests.length} request(s)`);
        },
      };
      const c = clientFor(s, { limiter });
      await c.setUserPublicMetadataKey("user_1", "prefs", { theme: "light" });
      assert.deepEqual(log, ["lock user_1 no-signal", "read", "write", "unlock after 2 request(s)"]);
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { prefs: { theme: "light" } });
      log.length = 0;
      await c.setUserPublicMetadataKey("user_1", "plan", "pro");
      await c.mergeUserPublicMetadata("user_1", { a: 1 });
      assert.deepEqual(log, ["write", "write"], "a scalar set and a merge are one request each: no lock");

      const refusing = clientFor(s, { limiter: { acquire: async () => {}, lockUser: async () => { throw new Error("lock store down"); } } });
      const before = s.requests.length;
      assertClerkError(await rejection(refusing.setUserPublicMetadataKey("user_1", "prefs", { theme: "x" })), { code: "network_error", attempts: 0, message: /rate limiter failed: lock store down/ });
      assert.equal(s.requests.length, before, "nothing sent when the lock fails");
    });
  });

  test("a host limiter that rejects after the call was aborted leaves no unhandled rejection", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      const unhandled = [];
      const onUnhandled = (reason) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      try {
        const limiter = {
          acquire: ({ signal }) =>
            new Promise((_, reject) => signal.addEventListener("abort", () => setTimeout(() => reject(signal.reason), 5), { once: true })),
        };
        const controller = new AbortController();
        const pending = clientFor(s, { limiter }).getUserPublicMetadata("user_1", { signal: controller.signal });
        setTimeout(() => controller.abort(), 10);
        assertClerkError(await rejection(pending), { code: "aborted" });
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(unhandled, []);
        assert.equal(s.requests.length, 0);
      } finally {
        process.off("unhandledRejection", onUnhandled);
      }
    });
  });

  test("an exact set whose patch has an unknown outcome keeps the user locked until it can no longer land", async () => {
    await withServer({ users: { user_1: { prefs: { a: 1 } } }, userWriteLimit: false }, async (s) => {
      const seen = { live: [], unlockedAt: undefined };
      const limiter = {
        async acquire({ live }) {
          seen.live.push(live);
        },
        async lockUser() {
          return () => {
            seen.unlockedAt = Date.now();
          };
        },
      };
      s.injectFault({ fault: { kind: "delay", ms: 600 }, method: "PATCH" });
      const c = clientFor(s, { limiter, timeoutMs: 100, writeSettleMs: 300, maxRetries: 0 });
      const error = await rejection(c.setUserPublicMetadataKey("user_1", "prefs", { b: 2 }));
      const failedAt = Date.now();
      assertClerkError(error, { code: "timeout" });
      assert.equal(error.outcomeUnknown, true);
      assert.equal(seen.unlockedAt, undefined, "still held when the call fails");
      await until(() => seen.unlockedAt !== undefined, "the lock to be let go");
      assert.ok(seen.unlockedAt - failedAt >= 250, `held ${seen.unlockedAt - failedAt} ms after the failure (writeSettleMs 300)`);
      assert.deepEqual(seen.live, [false, false], "the limiter is told the key is not a live one (sk_test_)");
    });
  });
});

