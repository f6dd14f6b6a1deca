// clerk-metadata-wasm/redis when Redis is not there: stopped mid-run, stalled (SIGSTOP: the
// connection stays open and nothing answers), or never started. "local" (the default) goes on
// limiting per process and every write lands; "fail" fails fast with network_error naming Redis,
// never hangs, and never shows the URL's password. Also: the secret key never reaches Redis,
// aborts, a client the app passes in, option checks.
// Run: node --test tests/js/redis-unavailable.test.mjs  (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { withServer, clientFor, rejection, assertClerkError, until } from "./package-helpers.mjs";
import { redisEntry, withRedis, freePort, dumpRedis } from "./redis-helpers.mjs";

const { createRedisLimiter } = redisEntry;
const PASSWORD = "hunter2-redis-secret";
const UNAVAILABLE_AFTER_MS = 500;
/** Slack for a loaded machine (tests run two files at once): "fast" is within unavailableAfterMs plus this. */
const MARGIN_MS = 1000;

/** No trace of `secret` anywhere an error can be read. */
function assertNoSecret(error, secret) {
  for (const text of [error.message, String(error), error.stack, JSON.stringify(error)]) {
    assert.ok(!String(text).includes(secret), `the secret leaked: ${text}`);
  }
}

/** A client on `server` with a Redis limiter; the limiter's fallbacks are collected. */
function fleetClient(server, options) {
  const fallbacks = [];
  const limiter = createRedisLimiter({ unavailableAfterMs: UNAVAILABLE_AFTER_MS, onFallback: (e) => fallbacks.push(e), ...options });
  return { client: clientFor(server, { limiter, maxRetries: 0 }), limiter, fallbacks };
}

const timed = async (promise) => {
  const t0 = Date.now();
  const value = await promise;
  return { value, ms: Date.now() - t0 };
};

describe('onUnavailable: "local" (the default)', () => {
  test("Redis killed mid-run: the calls go on (every write lands), one notice without the password; Redis is used again when it is back", async () => {
    await withRedis({ password: PASSWORD }, async (redis) => {
      await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
        const { client, limiter, fallbacks } = fleetClient(s, { url: redis.url, limits: { userWrites: { requests: 3, windowMs: 400 } } });
        try {
          // Ten writes to one user: three go at once, the rest wait on Redis when it dies.
          const calls = Array.from({ length: 10 }, (_, i) => client.mergeUserPublicMetadata("user_1", { [`k${i}`]: i }));
          await until(() => s.requests.length >= 3, "the first writes");
          await redis.kill();
          await Promise.all(calls);
          assert.deepEqual(Object.keys(s.getUser("user_1").public_metadata).length, 10, "every write landed");
          assert.equal(fallbacks.length, 1, "one notice per outage");
          assert.match(fallbacks[0].message, new RegExp(`^Redis unreachable at redis://127\\.0\\.0\\.1:${redis.port} \\(`));
          assertNoSecret(fallbacks[0], PASSWORD);

          await redis.restart();
          // Reconnection is retried at most a second apart; until then calls run on the fallback.
          const deadline = Date.now() + 5000;
          for (;;) {
            await client.getUserPublicMetadata("user_1");
            if ((await dumpRedis(redis.url)).some((k) => k.key === "{clerk-metadata}:instance:test")) break;
            assert.ok(Date.now() < deadline, "Redis counted again after it came back");
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        } finally {
          await limiter.close();
        }
      });
    });
  });

  test("Redis stalled (SIGSTOP): calls go on after unavailableAfterMs instead of hanging", async () => {
    await withRedis({}, async (redis) => {
      await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
        const { client, limiter, fallbacks } = fleetClient(s, { url: redis.url });
        try {
          await client.mergeUserPublicMetadata("user_1", { before: 1 });
          redis.pause();
          const { ms } = await timed(Promise.all([1, 2, 3].map((i) => client.mergeUserPublicMetadata("user_1", { [`k${i}`]: i }))));
          assert.ok(ms < UNAVAILABLE_AFTER_MS + MARGIN_MS, `went on after ${ms} ms`);
          assert.deepEqual(s.getUser("user_1").public_metadata, { before: 1, k1: 1, k2: 2, k3: 3 });
          assert.equal(fallbacks.length, 1);
          assert.match(fallbacks[0].message, /no answer within 500 ms/);
        } finally {
          redis.resume();
          await limiter.close();
        }
      });
    });
  });

  test("nothing listening at start: calls run on the per-process limiter", async () => {
    const port = await freePort();
    await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      const { client, limiter, fallbacks } = fleetClient(s, { url: `redis://:${PASSWORD}@127.0.0.1:${port}` });
      try {
        const { ms } = await timed(client.mergeUserPublicMetadata("user_1", { a: 1 }));
        assert.ok(ms < UNAVAILABLE_AFTER_MS + MARGIN_MS, `${ms} ms`);
        assert.deepEqual(s.getUser("user_1").public_metadata, { a: 1 });
        assert.match(fallbacks[0]?.message ?? "", new RegExp(`Redis unreachable at redis://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`));
        assertNoSecret(fallbacks[0], PASSWORD);
      } finally {
        await limiter.close();
      }
    });
  });

  test("the fallback keeps the limits within the process: 6 writes, 3 per 400 ms, take two windows", async () => {
    const port = await freePort();
    await withServer({ users: { user_1: {} }, userWriteLimit: { requests: 3, windowMs: 400 } }, async (s) => {
      const { client, limiter } = fleetClient(s, { url: `redis://127.0.0.1:${port}`, limits: { userWrites: { requests: 3, windowMs: 400 } } });
      try {
        await Promise.all(Array.from({ length: 6 }, (_, i) => client.mergeUserPublicMetadata("user_1", { [`k${i}`]: i })));
        assert.equal(s.requests.filter((r) => r.status === 429).length, 0, "no 429");
        const at = s.requests.map((r) => r.at);
        assert.ok(at[3] - at[0] >= 400, "the fourth write waited for the first one's window");
      } finally {
        await limiter.close();
      }
    });
  });
});

describe('onUnavailable: "fail"', () => {
  test("Redis killed mid-run: calls fail fast with network_error naming Redis, nothing sent, no password", async () => {
    await withRedis({ password: PASSWORD }, async (redis) => {
      await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
        const { client, limiter } = fleetClient(s, { url: redis.url, onUnavailable: "fail" });
        try {
          await client.mergeUserPublicMetadata("user_1", { a: 1 });
          await redis.kill();
          const before = s.requests.length;
          const { value: err, ms } = await timed(rejection(client.mergeUserPublicMetadata("user_1", { b: 1 })));
          assertClerkError(err, { code: "network_error", attempts: 0, message: new RegExp(`the rate limiter failed: Redis unreachable at redis://127\\.0\\.0\\.1:${redis.port} \\(`) });
          assert.ok(ms < UNAVAILABLE_AFTER_MS + MARGIN_MS, `failed after ${ms} ms`);
          assert.equal(s.requests.length, before, "nothing sent");
          assertNoSecret(err, PASSWORD);
          // An exact set's lock fails the same way.
          assertClerkError(await rejection(client.setUserPublicMetadataKey("user_1", "prefs", { a: 1 })), { code: "network_error", message: /Redis unreachable/ });
        } finally {
          await limiter.close();
        }
      });
    });
  });

  test("Redis stalled (SIGSTOP): fails within unavailableAfterMs, never hangs", async () => {
    await withRedis({ password: PASSWORD }, async (redis) => {
      await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
        const { client, limiter } = fleetClient(s, { url: redis.url, onUnavailable: "fail" });
        try {
          await client.getUserPublicMetadata("user_1");
          redis.pause();
          const { value: err, ms } = await timed(rejection(client.mergeUserPublicMetadata("user_1", { b: 1 })));
          assertClerkError(err, { code: "network_error", message: /the rate limiter failed: Redis unreachable at redis:\/\/127\.0\.0\.1:\d+ \(no answer within 500 ms\)/ });
          assert.ok(ms >= UNAVAILABLE_AFTER_MS - 50 && ms < UNAVAILABLE_AFTER_MS + MARGIN_MS, `failed after ${ms} ms`);
          assertNoSecret(err, PASSWORD);
        } finally {
          redis.resume();
          await limiter.close();
        }
      });
    });
  });

  test("nothing listening at start: fails fast, the password not shown", async () => {
    const port = await freePort();
    await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      const { client, limiter } = fleetClient(s, { url: `redis://:${PASSWORD}@127.0.0.1:${port}/2`, onUnavailable: "fail" });
      try {
        const { value: err, ms } = await timed(rejection(client.getUserPublicMetadata("user_1")));
        assertClerkError(err, { code: "network_error", message: new RegExp(`Redis unreachable at redis://127\\.0\\.0\\.1:${port}/2 \\(not connected: connect ECONNREFUSED`) });
        assert.ok(ms < UNAVAILABLE_AFTER_MS + MARGIN_MS, `failed after ${ms} ms`);
        assert.equal(s.requests.length, 0);
        assertNoSecret(err, PASSWORD);
      } finally {
        await limiter.close();
      }
    });
  });
});

describe("keys, secrets and the rest", () => {
  const LIVE_KEY = "sk_live_redis_test_secret_0123456789abcdef";

  test("a client with a live key is counted against the live limit; the key is never written to Redis or shown in an error", async () => {
    await withRedis({}, async (redis) => {
      await withServer({ secretKey: LIVE_KEY, users: { "user_a-b": {} }, userWriteLimit: false }, async (s) => {
        const { client, limiter } = fleetClient(s, { url: redis.url, prefix: "app1" });
        try {
          await client.mergeUserPublicMetadata("user_a-b", { a: 1 });
          await client.setUserPublicMetadataKey("user_a-b", "prefs", { x: 1 });
          const lock = await limiter.lockUser({ userId: "user_a-b" });
          const dump = await dumpRedis(redis.url);
          lock();
          // The limiter itself takes any id; encoded, no id can spell another prefix's key.
          (await limiter.acquire({ userId: "x:instance:live", write: true }))();
          assert.ok((await dumpRedis(redis.url)).some((k) => k.key === "{app1}:user:x%3Ainstance%3Alive"));
          assert.ok(!JSON.stringify(dump).includes(LIVE_KEY), "the key is nowhere in Redis");
          assert.ok(!JSON.stringify(dump).includes(LIVE_KEY.slice(8)), "nor its secret part");
          assert.deepEqual(dump.map((k) => k.key).sort(), ["{app1}:instance:live", "{app1}:lock:user_a-b", "{app1}:user:user_a-b"]);
          const instance = dump.find((k) => k.key === "{app1}:instance:live");
          assert.equal(instance.value.length, 3, "three requests counted (merge; the exact set's read and patch), none for the lock");
        } finally {
          await limiter.close();
        }
      });
      const failing = createRedisLimiter({ url: `redis://127.0.0.1:${await freePort()}`, onUnavailable: "fail", unavailableAfterMs: 200 });
      const err = await rejection(failing.acquire({ userId: "u", write: true, live: true }));
      await failing.close();
      assertNoSecret(err, LIVE_KEY);
      assertNoSecret(err, LIVE_KEY.slice(8));
    });
  });

  test("an abort while waiting for a slot fails the call with code aborted; a host's client is used and left open", async () => {
    await withRedis({}, async (redis) => {
      const { createClient } = await import("redis");
      const app = createClient({ url: redis.url });
      app.on("error", () => {});
      await app.connect();
      try {
        await withServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
          const { client, limiter } = fleetClient(s, { client: app, limits: { userWrites: { requests: 1, windowMs: 5000 } } });
          await client.mergeUserPublicMetadata("user_1", { a: 1 });
          const { value: err, ms } = await timed(rejection(client.mergeUserPublicMetadata("user_1", { b: 1 }, { signal: AbortSignal.timeout(300) })));
          assertClerkError(err, { code: "aborted" });
          assert.ok(ms < 2000, `${ms} ms`);
          assert.equal(s.requests.length, 1, "the aborted write was never sent");
          await limiter.close();
          assert.equal(app.isReady, true, "close() leaves a client it did not make alone");
          const direct = await limiter.acquire({ userId: "user_2", write: true });
          direct();
        });
      } finally {
        app.destroy();
      }
    });
  });

  test("bad options throw at once", () => {
    const withUrl = (o) => () => createRedisLimiter({ url: "redis://127.0.0.1:1", ...o });
    assert.throws(withUrl({ leaseMs: 0 }), RangeError);
    assert.throws(withUrl({ unavailableAfterMs: Number.NaN }), RangeError);
    assert.throws(withUrl({ limits: { userWrites: { requests: 0, windowMs: 1000 } } }), RangeError);
    assert.throws(withUrl({ onUnavailable: "ignore" }), TypeError);
    assert.throws(withUrl({ prefix: "" }), TypeError);
    assert.throws(() => createRedisLimiter({ client: {} }), TypeError);
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    try {
      assert.throws(() => createRedisLimiter({}), /pass url or client, or set REDIS_URL/);
    } finally {
      if (saved !== undefined) process.env.REDIS_URL = saved;
    }
  });
});
