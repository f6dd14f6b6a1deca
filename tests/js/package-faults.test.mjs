// Faults, retries, timeouts and aborts of the built package, driven by the local server's
// injectFault. Waits are observed through the delays the package asks setTimeout for (an
// injected view of its clock), never by measuring the wall clock.
// Run: node --test tests/js/package-faults.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { pkg, withServer, clientFor, rejection, assertClerkError, sent, spyPackageTimers, until } from "./package-helpers.mjs";

const GET = "GET /v1/users/user_1";
const PATCH = "PATCH /v1/users/user_1/metadata";
const seed = { users: { user_1: { public_metadata: { plan: "pro" } } }, userWriteLimit: false };

/** After a failure, the very next call on the same client must work. */
async function nextCallWorks(c, s) {
  const before = s.requests.length;
  assert.deepEqual(await c.getUserPublicMetadata("user_1"), s.getUser("user_1").public_metadata);
  assert.equal(s.requests.length, before + 1);
}

/** Runs fn with the package's timers spied on; asserts none is left pending afterwards. */
async function withTimerSpy(fn) {
  const spy = spyPackageTimers();
  try {
    await fn(spy);
  } finally {
    spy.restore();
  }
  assert.deepEqual(spy.pending(), [], "no package timer left behind");
}

describe("retries of transient failures", () => {
  test("503 then success: resolves after 2 requests (GET and PATCH alike)", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      s.injectFault({ fault: { kind: "status", status: 503 } });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { plan: "pro" });
      assert.deepEqual(sent(s), [GET, GET]);
      assert.deepEqual(s.requests.map((r) => r.status), [503, 200]);

      s.clearRequests();
      s.injectFault({ fault: { kind: "status", status: 503 }, method: "PATCH" });
      await c.mergeUserPublicMetadata("user_1", { n: 1 });
      assert.deepEqual(sent(s), [PATCH, PATCH]);
      assert.deepEqual(s.getUser("user_1").public_metadata, { plan: "pro", n: 1 });
    });
  });

  test("500, 502, 504 and a 503 with an empty body are retried too", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      for (const fault of [{ kind: "status", status: 500 }, { kind: "status", status: 502 }, { kind: "status", status: 504 }, { kind: "empty-body", status: 503 }]) {
        s.clearRequests();
        s.injectFault({ fault });
        assert.equal(await c.getUserPublicMetadataKey("user_1", "plan"), "pro", JSON.stringify(fault));
        assert.equal(s.requests.length, 2, JSON.stringify(fault));
      }
    });
  });

  test("three 503s: rejects with attempts 3 and 'after 3 attempts'; the next call works", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      s.injectFault({ fault: { kind: "status", status: 503 }, times: 3 });
      const err = await rejection(c.getUserPublicMetadata("user_1"));
      assertClerkError(err, { status: 503, attempts: 3, operation: "get", message: /\(after 3 attempts\)$/ });
      assert.deepEqual(sent(s), [GET, GET, GET]);
      await nextCallWorks(c, s);
    });
  });

  test("maxRetries: 0 sends one request; maxRetries: 4 sends up to five", async () => {
    await withServer(seed, async (s) => {
      s.injectFault({ fault: { kind: "status", status: 503 }, times: 10 });
      const err = await rejection(clientFor(s, { maxRetries: 0 }).getUserPublicMetadata("user_1"));
      assertClerkError(err, { status: 503, attempts: 1 });
      assert.ok(!err.message.includes("attempts"), "no attempt count for a single attempt");
      assert.equal(s.requests.length, 1);

      s.clearRequests();
      const c = clientFor(s, { maxRetries: 4 });
      assertClerkError(await rejection(c.getUserPublicMetadata("user_1")), { attempts: 5, message: /\(after 5 attempts\)$/ });
      assert.equal(s.requests.length, 5);
      s.clearFaults();
      s.clearRequests();
      s.injectFault({ fault: { kind: "status", status: 503 }, times: 4 });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { plan: "pro" });
      assert.equal(s.requests.length, 5);
    });
  });

  test("backoff: full jitter under a ceiling of retryBaseDelayMs, doubled per retry", async () => {
    await withServer(seed, async (s) => {
      const realRandom = Math.random;
      await withTimerSpy(async (spy) => {
        Math.random = () => 0.5; // the package draws its jitter at call time
        try {
          s.injectFault({ fault: { kind: "status", status: 503 }, times: 3 });
          await rejection(clientFor(s, { retryBaseDelayMs: 40, rateLimit: false }).getUserPublicMetadata("user_1"));
        } finally {
          Math.random = realRandom;
        }
        // Asked as "until now + delay", so a millisecond may pass between the two clock reads.
        const [first, second, ...rest] = spy.delays();
        assert.deepEqual(rest, []);
        assert.ok(first > 18 && first <= 20, `first backoff ${first} (ceiling 40, jitter 0.5)`);
        assert.ok(second > 38 && second <= 40, `second backoff ${second} (ceiling 80, jitter 0.5)`);
      });
    });
  });

  test("never retried: 400, 401, 403, 404, 422, 501", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      for (const status of [400, 401, 403, 404, 422, 501]) {
        s.clearRequests();
        s.injectFault({ fault: { kind: "status", status }, times: 3 });
        const err = await rejection(c.mergeUserPublicMetadata("user_1", { x: 1 }));
        assertClerkError(err, { status, attempts: 1, operation: "merge" });
        assert.equal(s.requests.length, 1, `status ${status}`);
        s.clearFaults();
        await nextCallWorks(c, s);
      }
      assert.deepEqual(s.getUser("user_1").public_metadata, { plan: "pro" });
    });
  });
});

describe("429 and Retry-After", () => {
  test("429 with retry-after: 1 then success: the package waits 1000 ms, then succeeds", async () => {
    await withServer(seed, async (s) => {
      await withTimerSpy(async (spy) => {
        s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "1" } } });
        await clientFor(s, { rateLimit: false }).setUserPublicMetadataKey("user_1", "k", "v");
        assert.equal(spy.delays().length, 1);
        const [wait] = spy.delays();
        assert.ok(wait > 995 && wait <= 1000, `waited Retry-After (1000 ms), not the backoff: ${wait}`);
      });
      assert.deepEqual(sent(s), [PATCH, PATCH]);
      assert.deepEqual(s.requests.map((r) => r.status), [429, 200]);
      assert.equal(s.getUser("user_1").public_metadata.k, "v");
    });
  });

  test("429 with retry-after: 0 is retried at once; without Retry-After it backs off", async () => {
    await withServer(seed, async (s) => {
      await withTimerSpy(async (spy) => {
        const c = clientFor(s, { rateLimit: false, retryBaseDelayMs: 5 });
        s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "0" } } });
        await c.getUserPublicMetadata("user_1");
        assert.deepEqual(spy.delays(), [], "Retry-After: 0 needs no timer");
        s.injectFault({ fault: { kind: "status", status: 429 } });
        await c.getUserPublicMetadata("user_1");
        assert.equal(spy.delays().length, 1);
        assert.ok(spy.delays()[0] <= 5, "the backoff of retryBaseDelayMs applies");
      });
      assert.deepEqual(s.requests.map((r) => r.status), [429, 200, 429, 200]);
    });
  });

  test("Retry-After above maxRetryAfterMs: rejected at once, retryAfter set, nothing waited", async () => {
    await withServer(seed, async (s) => {
      await withTimerSpy(async (spy) => {
        s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "2" } }, times: 3 });
        const err = await rejection(clientFor(s, { maxRetryAfterMs: 1000, rateLimit: false }).getUserPublicMetadata("user_1"));
        assertClerkError(err, { code: "too_many_requests", status: 429, retryAfter: 2, attempts: 1 });
        assert.deepEqual(spy.delays(), []);
      });
      assert.equal(s.requests.length, 1);
    });
  });

  test("a Retry-After wait that would pass deadlineMs is not started", async () => {
    await withServer(seed, async (s) => {
      await withTimerSpy(async (spy) => {
        s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "5" } } });
        const err = await rejection(clientFor(s, { deadlineMs: 2000, rateLimit: false }).getUserPublicMetadata("user_1"));
        assertClerkError(err, { code: "too_many_requests", retryAfter: 5, attempts: 1 });
        assert.deepEqual(spy.delays(), []);
      });
    });
  });
});

describe("broken connections and bodies", () => {
  test("reset: a GET is retried; a PATCH's outcome is unknown (retried only on request); persistent → network_error after 3 attempts", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      s.injectFault({ fault: { kind: "reset" } });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { plan: "pro" });
      assert.deepEqual(s.requests.map((r) => r.status), [0, 200]);

      s.clearRequests();
      s.injectFault({ fault: { kind: "reset" }, method: "PATCH" });
      const unknown = await rejection(clientFor(s, { writeSettleMs: 0 }).mergeUserPublicMetadata("user_1", { after: "reset" }));
      assertClerkError(unknown, { code: "network_error", attempts: 1, message: /outcome is unknown/ });
      assert.equal(unknown.outcomeUnknown, true);
      assert.deepEqual(sent(s), [PATCH]);

      s.clearRequests();
      s.injectFault({ fault: { kind: "reset" }, method: "PATCH" });
      await clientFor(s, { retryUnknownWrites: true, writeSettleMs: 0 }).mergeUserPublicMetadata("user_1", { after: "reset" });
      assert.deepEqual(sent(s), [PATCH, PATCH]);
      assert.equal(s.getUser("user_1").public_metadata.after, "reset");

      s.clearRequests();
      s.injectFault({ fault: { kind: "reset" }, times: 3 });
      const err = await rejection(c.getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "network_error", status: undefined, attempts: 3, message: /^Failed to get user metadata: network error: .*\(after 3 attempts\)$/ });
      assert.equal(s.requests.length, 3);
      await nextCallWorks(c, s);
    });
  });

  test("reset-mid-body: retried; persistent → network_error", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      s.injectFault({ fault: { kind: "reset-mid-body" } });
      assert.equal(await c.hasUserPublicMetadataKey("user_1", "plan"), true);
      assert.equal(s.requests.length, 2);

      s.clearRequests();
      s.injectFault({ fault: { kind: "reset-mid-body" }, times: 3 });
      assertClerkError(await rejection(c.getUserPublicMetadataKey("user_1", "plan")), { code: "network_error", attempts: 3, operation: "getKey" });
      assert.equal(s.requests.length, 3);
      await nextCallWorks(c, s);
    });
  });

  test("an HTML 502 page: code http_502, status 502, retried, the trace id from cf-ray", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      const page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>";
      s.injectFault({ fault: { kind: "status", status: 502, body: page, headers: { "cf-ray": "ray-502" } }, times: 3 });
      const err = await rejection(c.getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "http_502", status: 502, attempts: 3, clerkTraceId: "ray-502", errors: [], message: /text\/html/ });
      assert.ok(!err.message.includes("<html"), "the page itself is not copied into the message");
      await nextCallWorks(c, s);
    });
  });

  test("malformed 200 answers are invalid_response with status 200, not retried, no crash", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      const faults = [
        // The wording may change; what each message must mention may not.
        [{ kind: "truncated-json" }, /JSON/],
        [{ kind: "empty-body" }, /empty/],
        [{ kind: "status", status: 200, body: '{"object":"user","id":"user_1"}' }, /public_metadata/],
        [{ kind: "status", status: 200, body: '{"object":"user","id":"user_1","public_metadata":[1]}' }, /public_metadata/],
        [{ kind: "status", status: 200, body: "<html>Welcome to the proxy</html>" }, /text\/html/],
        [{ kind: "huge-body", bytes: 2 * 1024 * 1024 }, /2097152 bytes.*1048576/],
      ];
      for (const [fault, why] of faults) {
        for (const call of [() => c.getUserPublicMetadata("user_1"), () => c.getUserPublicMetadataKey("user_1", "plan"), () => c.mergeUserPublicMetadata("user_1", { via: fault.kind })]) {
          s.clearRequests();
          s.injectFault({ fault });
          const err = await rejection(call());
          // attempts is checked in the test below.
          assertClerkError(err, { code: "invalid_response", status: 200 });
          assert.match(err.message, why, JSON.stringify(fault));
          assert.equal(s.requests.length, 1, `${fault.kind} is not retried`);
          await nextCallWorks(c, s);
        }
      }
    });
  });

  test("an invalid_response after a response arrived reports attempts: 1 (a request WAS sent)", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      for (const fault of [{ kind: "truncated-json" }, { kind: "empty-body" }, { kind: "status", status: 200, body: "<html></html>" }, { kind: "huge-body", bytes: 2 * 1024 * 1024 }]) {
        s.clearRequests();
        s.injectFault({ fault });
        const err = await rejection(c.mergeUserPublicMetadata("user_1", { x: 1 }));
        assert.equal(s.requests.length, 1);
        assertClerkError(err, { code: "invalid_response", attempts: 1 });
      }
    });
  });

  test("an injected fetch that throws, or resolves with something that is not a Response", async () => {
    let mode = "throw";
    let calls = 0;
    const fetch = () => {
      calls += 1;
      if (mode === "throw") throw new TypeError("boom in fetch");
      return Promise.resolve(mode === "number" ? 42 : { ok: true });
    };
    const c = pkg.createClerkMetadataClient({ secretKey: "sk_test_abcdefghijklmn", apiUrl: "http://127.0.0.1:9", fetch, retryBaseDelayMs: 1 });
    assertClerkError(await rejection(c.getUserPublicMetadata("user_1")), { code: "network_error", attempts: 3, message: /boom in fetch/ });
    assert.equal(calls, 3);
    for (mode of ["number", "object"]) {
      calls = 0;
      assertClerkError(await rejection(c.getUserPublicMetadata("user_1")), { code: "invalid_response", attempts: 1, message: /not a Response/ });
      assert.equal(calls, 1);
    }
  });
});

describe("timeouts and aborts", () => {
  test("a response slower than timeoutMs: code timeout; retried, and a later attempt can succeed", async () => {
    await withServer(seed, async (s) => {
      s.injectFault({ fault: { kind: "delay", ms: 1500 } });
      let err = await rejection(clientFor(s, { timeoutMs: 200, maxRetries: 0 }).getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "timeout", status: undefined, attempts: 1, message: /^Failed to get user metadata: .*200 ms/ });

      s.clearRequests();
      const c = clientFor(s, { timeoutMs: 500, maxRetries: 1, retryUnknownWrites: true, writeSettleMs: 0 });
      s.injectFault({ fault: { kind: "delay", ms: 3000 }, times: 2 });
      err = await rejection(c.clearUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "timeout", attempts: 2, operation: "clear", message: /\(after 2 attempts\)$/ });
      assert.equal(s.requests.length, 2);

      s.clearRequests();
      s.injectFault({ fault: { kind: "delay", ms: 3000 } });
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), { plan: "pro" });
      assert.equal(s.requests.length, 2);
    });
  });

  test("an already-aborted signal: code aborted, attempts 0, nothing sent, for reads and writes", async () => {
    await withServer(seed, async (s) => {
      const c = clientFor(s);
      const signal = AbortSignal.abort();
      const calls = [
        ["get", () => c.getUserPublicMetadata("user_1", { signal })],
        ["merge", () => c.mergeUserPublicMetadata("user_1", { a: 1 }, { signal })],
        ["setKey", () => c.setUserPublicMetadataKey("user_1", "o", { a: 1 }, { signal })],
        ["update", () => c.updateUserPublicMetadata("user_1", { a: 1 }, { signal })],
        ["hasKey", () => c.hasUserPublicMetadataKey("user_1", "a", { signal })],
      ];
      for (const [op, call] of calls) {
        const err = await rejection(call());
        assertClerkError(err, { code: "aborted", attempts: 0, operation: op, status: undefined });
        assert.match(err.message, /aborted/);
      }
      assert.equal(s.requests.length, 0);
      await withEnvLike(s, () => rejection(pkg.getUserPublicMetadata("user_1", { signal }))).then((err) => assertClerkError(err, { code: "aborted", attempts: 0 }));
      assert.equal(s.requests.length, 0);
    });
  });

  test("aborting during a slow request: code aborted at once, not retried, no timer left", async () => {
    await withServer(seed, async (s) => {
      await withTimerSpy(async () => {
        s.injectFault({ fault: { kind: "delay", ms: 30_000 } });
        const controller = new AbortController();
        const pending = rejection(clientFor(s).getUserPublicMetadata("user_1", { signal: controller.signal }));
        await until(() => s.requests.length === 1, "the request to arrive");
        controller.abort();
        assertClerkError(await pending, { code: "aborted", attempts: 1, operation: "get" });
        assert.equal(s.requests.length, 1, "an abort is not retried");
      });
    });
  });

  test("aborting during a Retry-After wait ends the wait and clears its timer", async () => {
    await withServer(seed, async (s) => {
      await withTimerSpy(async (spy) => {
        s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "10" } } });
        const controller = new AbortController();
        const pending = rejection(clientFor(s, { rateLimit: false }).mergeUserPublicMetadata("user_1", { a: 1 }, { signal: controller.signal }));
        await until(() => spy.timers.length === 1, "the package to start waiting");
        assert.ok(spy.timers[0].ms > 9_990 && spy.timers[0].ms <= 10_000, String(spy.timers[0].ms));
        controller.abort();
        assertClerkError(await pending, { code: "aborted", attempts: 1, operation: "merge" });
        assert.equal(spy.timers[0].cleared, true, "the 10 s timer was cleared");
        assert.equal(spy.timers[0].fired, false);
      });
      assert.equal(s.requests.length, 1);
    });
  });
});

/** Points the environment at `s` while `fn` runs (for the top-level functions). */
async function withEnvLike(s, fn) {
  const saved = [process.env.CLERK_SECRET_KEY, process.env.CLERK_API_URL];
  process.env.CLERK_SECRET_KEY = s.secretKey;
  process.env.CLERK_API_URL = s.url;
  try {
    return await fn();
  } finally {
    for (const [k, v] of [["CLERK_SECRET_KEY", saved[0]], ["CLERK_API_URL", saved[1]]]) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("onWait: the caller is told before each wait", () => {
  test("a retry (with the status) and a rate-limit wait (once per request); a throwing onWait changes nothing", async () => {
    await withServer(seed, async (s) => {
      const waits = [];
      const c = clientFor(s, {
        retryBaseDelayMs: 20,
        rateLimit: { userWrites: { requests: 1, windowMs: 300 }, instance: false },
        onWait: (wait) => {
          waits.push(wait);
          throw new Error("a notice that fails");
        },
      });
      s.injectFault({ fault: { kind: "status", status: 503 } });
      await c.getUserPublicMetadata("user_1");
      assert.equal(waits.length, 1);
      assert.equal(waits[0].reason, "retry");
      assert.equal(waits[0].status, 503);
      assert.equal(waits[0].attempts, 1);
      assert.ok(waits[0].ms >= 0 && waits[0].ms <= 20, String(waits[0].ms));
      waits.length = 0;
      await Promise.all([c.mergeUserPublicMetadata("user_1", { a: 1 }), c.mergeUserPublicMetadata("user_1", { b: 2 })]);
      assert.deepEqual(waits.map((w) => w.reason), ["rate_limit"], "the second write waited, and said so once");
      assert.ok(waits[0].ms > 0 && waits[0].ms <= 400, String(waits[0].ms));
      assert.deepEqual(s.getUser("user_1").public_metadata, { plan: "pro", a: 1, b: 2 });
    });
  });
});
