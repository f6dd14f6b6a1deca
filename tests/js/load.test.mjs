// Load under faults: 1,000 mixed operations over 50 users, against the local server with injected
// 429 storms, 5xx bursts, connection resets (before and mid-body) and slow responses. Each user's
// operations run in order and the users run concurrently, so a reference model predicts the final
// state exactly; every operation must succeed (retries absorb the faults) and the server's state
// must equal the model's, with no unhandled rejection and no 429 beyond the injected ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pkg, withServer, LOCAL_SECRET_KEY } from "./package-helpers.mjs";

/** A seeded PRNG (mulberry32), so a failure can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Clerk's deep merge (JSON merge patch), written independently of the package and the server. */
function mergePatch(target, patch) {
  const out = structuredClone(target);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === "object" && !Array.isArray(value)) {
      const base = typeof out[key] === "object" && out[key] !== null && !Array.isArray(out[key]) ? out[key] : {};
      out[key] = mergePatch(base, value);
    } else out[key] = value;
  }
  return out;
}

const SEED = Number(process.env.LOAD_SEED ?? 20261127);
const USERS = 50;
const OPERATIONS = 1000;

test(`${OPERATIONS} mixed operations over ${USERS} users under injected faults end in the model's state (seed ${SEED})`, async () => {
  const next = random(SEED);
  const pick = (items) => items[Math.floor(next() * items.length)];
  const users = Array.from({ length: USERS }, (_, i) => `user_load_${i}`);
  const keys = ["role", "plan", "prefs", "tags", "score"];
  const value = () =>
    pick([
      () => pick(["admin", "customer", "store_owner"]),
      () => Math.floor(next() * 1000),
      () => ({ theme: pick(["dark", "light"]), nested: { n: Math.floor(next() * 10) } }),
      () => [pick(["a", "b"]), Math.floor(next() * 5)],
      () => next() < 0.5,
    ])();

  // The plan: per user, a sequence of operations, with the state the model predicts.
  const model = Object.fromEntries(users.map((u) => [u, {}]));
  const plans = Object.fromEntries(users.map((u) => [u, []]));
  for (let i = 0; i < OPERATIONS; i++) {
    const user = pick(users);
    const kind = pick(["merge", "merge", "setKey", "setKey", "remove", "update", "get", "getKey", "has", "clear"]);
    const key = pick(keys);
    let op;
    switch (kind) {
      case "merge": {
        const patch = { [key]: value(), [pick(keys)]: next() < 0.2 ? null : value() };
        op = { kind, args: [user, patch] };
        model[user] = mergePatch(model[user], patch);
        break;
      }
      case "setKey": {
        const v = value();
        op = { kind, args: [user, key, v] };
        model[user] = { ...model[user], [key]: v };
        break;
      }
      case "remove": {
        const ks = [key, pick(keys)];
        op = { kind, args: [user, ks] };
        model[user] = mergePatch(model[user], Object.fromEntries(ks.map((k) => [k, null])));
        break;
      }
      case "update": {
        const metadata = { [key]: value() };
        op = { kind, args: [user, metadata] };
        model[user] = structuredClone(metadata);
        break;
      }
      case "clear":
        op = { kind, args: [user] };
        model[user] = {};
        break;
      default: {
        // Reads check against the model's state at that point in the user's sequence.
        op = { kind, args: kind === "get" ? [user] : [user, key], expect: structuredClone(model[user]) };
      }
    }
    plans[user].push(op);
  }

  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  const limit = { requests: 10, windowMs: 1000 };
  try {
    await withServer({ users: Object.fromEntries(users.map((u) => [u, {}])), userWriteLimit: limit }, async (server) => {
      // Faults, each consumed by the first request that matches it.
      let injected429 = 0;
      for (let i = 0; i < 120; i++) {
        const user = pick(users);
        const fault = pick([
          () => ({ kind: "status", status: 429, headers: { "retry-after": "0" }, body: JSON.stringify({ errors: [{ code: "too_many_requests", message: "Too many requests" }] }) }),
          () => ({ kind: "status", status: pick([500, 502, 503, 504]), body: "<html>upstream error</html>", headers: { "content-type": "text/html" } }),
          () => ({ kind: "reset" }),
          () => ({ kind: "reset-mid-body" }),
          () => ({ kind: "delay", ms: 30 }),
        ])();
        if (fault.status === 429) injected429++;
        server.injectFault({ fault, pathIncludes: `/${user}`, times: 1 });
      }

      const client = pkg.createClerkMetadataClient({
        secretKey: LOCAL_SECRET_KEY,
        apiUrl: server.url,
        maxRetries: 8,
        retryBaseDelayMs: 2,
        deadlineMs: 120_000,
        rateLimit: { userWrites: limit, instance: false },
        // Resets cut writes whose outcome is then unknown; this server applies a write when it
        // arrives or never, so nothing can land late and a retry at once is safe here.
        retryUnknownWrites: true,
        writeSettleMs: 0,
      });
      const call = {
        merge: (a) => client.mergeUserPublicMetadata(...a),
        setKey: (a) => client.setUserPublicMetadataKey(...a),
        remove: (a) => client.removeUserPublicMetadataKeys(...a),
        update: (a) => client.updateUserPublicMetadata(...a),
        clear: (a) => client.clearUserPublicMetadata(...a),
        get: (a) => client.getUserPublicMetadata(...a),
        getKey: (a) => client.getUserPublicMetadataKey(...a),
        has: (a) => client.hasUserPublicMetadataKey(...a),
      };
      const failures = [];
      let reads = 0;
      await Promise.all(
        users.map(async (user) => {
          for (const op of plans[user]) {
            try {
              const result = await call[op.kind](op.args);
              if (op.kind === "get") assert.deepEqual(result, op.expect, `get of ${user}`);
              if (op.kind === "getKey") assert.deepEqual(result, op.expect[op.args[1]], `getKey of ${user}`);
              if (op.kind === "has") assert.equal(result, Object.hasOwn(op.expect, op.args[1]), `has of ${user}`);
              if (op.expect) reads++;
            } catch (error) {
              failures.push(`${op.kind} ${user}: ${error.message}`);
            }
          }
        }),
      );
      assert.deepEqual(failures, [], "every operation succeeds through the faults");
      for (const user of users) {
        assert.deepEqual(server.getUser(user).public_metadata, model[user], `final state of ${user}`);
      }
      const got429 = server.requests.filter((r) => r.status === 429).length;
      assert.ok(got429 <= injected429, `${got429} 429s answered, ${injected429} injected: the limiter caused none`);
      const resets = server.requests.filter((r) => r.status === 0).length;
      console.log(
        `load: ${OPERATIONS} operations (${reads} reads checked), ${server.requests.length} requests, ` +
          `${got429} 429s (all injected), ${resets} resets, 0 failures`,
      );
    });
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assert.deepEqual(unhandled, [], "no unhandled rejection");
});
