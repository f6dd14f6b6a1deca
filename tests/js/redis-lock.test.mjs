// clerk-metadata-wasm/redis: lockUser across processes. Exact sets of one object key
// (setUserPublicMetadataKey(id, "prefs", {…})) read the user then patch it; four processes doing
// so at once, with every read held back by the local server (a `delay` fault on the GETs), all
// read the same state unless the Redis lock serialises them. The result must be one of the
// sequential orders: one set's value exactly, plus any merges of other sub-keys that came after.
// Run: node --test tests/js/redis-lock.test.mjs  (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { withServer } from "./package-helpers.mjs";
import { withRedis, runWorkers } from "./redis-helpers.mjs";

const WORKERS = 4;
const setValue = (w) => ({ owner: w, [`p${w}`]: true });

/** Every worker: one exact set of prefs (its own sub-keys) and one merge of a sub-key of its own. */
async function race(s, redis, { noLock }) {
  // Each read of user_lock is handled 800 ms after it arrives (the four arrive within about 100 ms): without a lock all four reads see
  // the seeded prefs, whatever the processes' timing.
  s.injectFault({ fault: { kind: "delay", ms: 800 }, method: "GET", pathIncludes: "/users/user_lock", times: WORKERS });
  const reports = await runWorkers(WORKERS, (w) => ({
    secretKey: s.secretKey,
    apiUrl: s.url,
    warmUserId: "user_warm",
    redis: { url: redis.url, prefix: noLock ? "lock-contrast" : "lock" },
    noLock,
    calls: [
      ["setUserPublicMetadataKey", "user_lock", "prefs", setValue(w)],
      ["mergeUserPublicMetadata", "user_lock", { prefs: { [`m${w}`]: w } }],
    ],
  }));
  assert.deepEqual(reports.flat().filter((r) => !r.ok), [], "every call succeeded");
  return s.getUser("user_lock").public_metadata.prefs;
}

/** True when `prefs` is a set's value exactly, plus merged m* sub-keys. */
function sequential(prefs) {
  const rest = Object.fromEntries(Object.entries(prefs).filter(([k]) => !/^m\d$/.test(k)));
  return Array.from({ length: WORKERS }, (_, w) => setValue(w)).some((v) => isDeepEqual(rest, v));
}

function isDeepEqual(a, b) {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

describe("lockUser across processes", () => {
  const users = { user_lock: { public_metadata: { prefs: { theme: "dark", old: 1 } } }, user_warm: {} };

  test("concurrent exact sets and merges from four processes end in one of their sequential orders", async () => {
    await withRedis({}, async (redis) => {
      await withServer({ users, userWriteLimit: false }, async (s) => {
        const prefs = await race(s, redis, { noLock: false });
        assert.ok(sequential(prefs), `prefs ${JSON.stringify(prefs)} is one set's value plus later merges`);
        const reads = s.requests.filter((r) => r.method === "GET" && r.path.endsWith("/users/user_lock"));
        assert.equal(reads.length, WORKERS, "one read per exact set");
      });
    });
  });

  test("contrast: the same race without lockUser mixes the sets (the check above can fail)", async () => {
    await withRedis({}, async (redis) => {
      await withServer({ users, userWriteLimit: false }, async (s) => {
        const prefs = await race(s, redis, { noLock: true });
        assert.ok(!sequential(prefs), `prefs ${JSON.stringify(prefs)} mixes several sets`);
        const survivors = Object.keys(prefs).filter((k) => /^p\d$/.test(k));
        assert.ok(survivors.length >= 2, `sub-keys of several sets survived: ${survivors}`);
      });
    });
  });
});
