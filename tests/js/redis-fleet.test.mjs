// clerk-metadata-wasm/redis across a fleet: four Node processes (tests/js/fixtures/redis-worker.mjs)
// share Clerk's limits through one real redis-server, against the local server's limiters. The
// server must see no more than its limits in any sliding window, answer no 429, and lose nothing;
// the same fleet with only the built-in (per-process) limiter gets 429s, which shows the checks
// can fail. Run: node --test tests/js/redis-fleet.test.mjs  (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { withServer } from "./package-helpers.mjs";
import { withRedis, runWorkers, maxInWindow } from "./redis-helpers.mjs";

const WORKERS = 4;
const isWrite = (r) => (r.method === "PATCH" || r.method === "PUT") && /\/metadata$/.test(r.path);
const userOf = (r) => decodeURIComponent(r.path.split("/")[3]);
const count429 = (s) => s.requests.filter((r) => r.status === 429).length;

/**
 * Each worker merges `hot` keys into one user (user_hot) and `spread` keys over `users` users, all
 * at once. Returns the users and the keys each must end with.
 */
function plan({ hot, spread, users }) {
  const ids = Array.from({ length: users }, (_, u) => `user_many_${u}`);
  const expected = new Map([["user_hot", []], ...ids.map((id) => [id, []])]);
  const calls = (w) => {
    const out = [];
    for (let n = 0; n < hot; n++) out.push(["mergeUserPublicMetadata", "user_hot", { [`w${w}_${n}`]: n }]);
    for (let n = 0; n < spread; n++) out.push(["mergeUserPublicMetadata", ids[(w + n) % users], { [`w${w}_s${n}`]: n }]);
    return out;
  };
  for (let w = 0; w < WORKERS; w++) for (const [, id, patch] of calls(w)) expected.get(id).push(...Object.keys(patch));
  const seed = Object.fromEntries([...expected.keys(), "user_warm"].map((id) => [id, {}]));
  return { calls, expected, seed };
}

/** The server's arrivals within its limits, no 429, every call fulfilled, every key landed. */
function assertWithinLimits(s, reports, expected, { userWrites, instance }) {
  const failed = reports.flat().filter((r) => !r.ok);
  assert.deepEqual(failed, [], "every call succeeded");
  assert.equal(count429(s), 0, "no 429");
  const writes = s.requests.filter(isWrite);
  const perUser = new Map();
  for (const r of writes) perUser.set(userOf(r), [...(perUser.get(userOf(r)) ?? []), r]);
  for (const [user, rs] of perUser) {
    const most = maxInWindow(rs.map((r) => r.at), userWrites.windowMs);
    assert.ok(most <= userWrites.requests, `${user}: ${most} writes in one window (limit ${userWrites.requests})`);
  }
  const most = maxInWindow(s.requests.map((r) => r.at), instance.windowMs);
  assert.ok(most <= instance.requests, `instance: ${most} requests in one window (limit ${instance.requests})`);
  for (const [id, keys] of expected) {
    assert.deepEqual(Object.keys(s.getUser(id).public_metadata).sort(), [...keys].sort(), `${id}: every key landed`);
  }
  return most;
}

describe("a fleet of four processes on one Redis", () => {
  const userWrites = { requests: 10, windowMs: 2000 };
  const instance = { requests: 40, windowMs: 2000 };
  const work = plan({ hot: 5, spread: 10, users: 8 });

  test("short windows (10 writes / 2 s per user, 40 / 2 s instance): within both limits in every sliding window, no 429, nothing lost", async () => {
    await withRedis({}, async (redis) => {
      await withServer({ users: work.seed, userWriteLimit: userWrites, instanceLimit: instance }, async (s) => {
        const reports = await runWorkers(WORKERS, (w) => ({
          secretKey: s.secretKey,
          apiUrl: s.url,
          warmUserId: "user_warm",
          redis: { url: redis.url, limits: { userWrites, instance }, prefix: "fleet-short" },
          calls: work.calls(w),
        }));
        const most = assertWithinLimits(s, reports, work.expected, { userWrites, instance });
        assert.ok(s.requests.length > instance.requests, "the run needed more than one instance window");
        assert.ok(most >= instance.requests / 2, `the limiter let the fleet use its window (${most})`);
      });
    });
  });

  test("contrast: the same fleet with only the per-process limiter overruns the server (429s)", async () => {
    await withServer({ users: work.seed, userWriteLimit: userWrites, instanceLimit: instance }, async (s) => {
      await runWorkers(WORKERS, (w) => ({
        secretKey: s.secretKey,
        apiUrl: s.url,
        warmUserId: "user_warm",
        rateLimit: { userWrites, instance },
        calls: work.calls(w),
      }));
      assert.ok(count429(s) > 0, "four processes each within the limits overrun them together");
      const hot = s.requests.filter((r) => isWrite(r) && userOf(r) === "user_hot").map((r) => r.at);
      assert.ok(maxInWindow(hot, userWrites.windowMs) > userWrites.requests || count429(s) > 0);
    });
  });

  test("Clerk's real limits and the limiter's defaults (10 writes / 10 s per user, 100 / 10 s for sk_test_): no 429, nothing lost", async () => {
    const real = plan({ hot: 4, spread: 24, users: 20 });
    const limits = { userWrites: { requests: 10, windowMs: 10_000 }, instance: { requests: 100, windowMs: 10_000 } };
    await withRedis({}, async (redis) => {
      await withServer({ users: real.seed, userWriteLimit: limits.userWrites, instanceLimit: limits.instance }, async (s) => {
        const reports = await runWorkers(WORKERS, (w) => ({
          secretKey: s.secretKey,
          apiUrl: s.url,
          warmUserId: "user_warm",
          redis: { url: redis.url },
          calls: real.calls(w),
        }));
        assertWithinLimits(s, reports, real.expected, limits);
        assert.ok(s.requests.length > 100, "more than one instance window of requests");
      });
    });
  });
});
