// useLocalClerk (`clerk-metadata-wasm/testing`): one line of test setup for the top-level functions.
// Run: node --test tests/js/testing-helper.test.mjs   (build first: node scripts/build.mjs --skip-wasm)
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { assertClerkError, pkg, rejection, setEnv, testing, withEnvServer } from "./package-helpers.mjs";

const { useLocalClerk } = testing;

// What the environment holds outside the helper's lifetime; each cleanup must bring it back.
const OUTER = { CLERK_SECRET_KEY: "sk_test_outer_key_of_the_test_process", CLERK_API_URL: undefined };
const restoreOuterEnv = setEnv(OUTER);
after(restoreOuterEnv);

function assertOuterEnv() {
  assert.equal(process.env.CLERK_SECRET_KEY, OUTER.CLERK_SECRET_KEY);
  assert.equal("CLERK_API_URL" in process.env, false);
}

/** The built-in defaults are back: a 400 ms answer is within the default 10 s timeout. */
async function assertBuiltInDefaults() {
  await withEnvServer({ users: { user_1: {} } }, async (s) => {
    s.injectFault({ fault: { kind: "delay", ms: 400 } });
    assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), {});
  });
}

describe("useLocalClerk(options, after): cleanup registered with node:test", async () => {
  const server = await useLocalClerk({ users: { user_1: { public_metadata: { plan: "free" } } } }, after);

  test("the environment points at the server; the top-level functions use it", async () => {
    assert.equal(process.env.CLERK_SECRET_KEY, server.secretKey);
    assert.equal(process.env.CLERK_API_URL, server.url);
    assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { plan: "free" });
    await pkg.mergeUserPublicMetadata("user_1", { plan: "pro" });
    assert.deepEqual(server.getUser("user_1").public_metadata, { plan: "pro" });
  });

  test("fast defaults: 12 writes to one user at once (no client limiter, no server write limit)", async () => {
    server.reset({ user_1: {} });
    const started = Date.now();
    for (let i = 0; i < 12; i++) await pkg.setUserPublicMetadataKey("user_1", "n", i);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.deepEqual(server.getUser("user_1").public_metadata, { n: 11 });
  });

  test("fast defaults: no retries", async () => {
    server.injectFault({ fault: { kind: "status", status: 503 } });
    assertClerkError(await rejection(pkg.getUserPublicMetadata("user_1")), { status: 503, attempts: 1 });
  });
});

test("after the suite: the environment and the built-in defaults are restored", async () => {
  assertOuterEnv();
  await assertBuiltInDefaults();
});

test("useLocalClerk(options) without teardown: close() cleans up (once); options.defaults are merged", async () => {
  const server = await useLocalClerk({ users: { user_1: {} }, defaults: { timeoutMs: 200 } });
  try {
    assert.equal(process.env.CLERK_API_URL, server.url);
    server.injectFault({ fault: { kind: "delay", ms: 1000 } });
    const err = await rejection(pkg.getUserPublicMetadata("user_1"));
    assertClerkError(err, { code: "timeout", attempts: 1, message: /200 ms/ }); // maxRetries: 0 kept
  } finally {
    await server.close();
  }
  await server.close(); // idempotent
  assertOuterEnv();
  await assertBuiltInDefaults();
});

test("server options pass through: userWriteLimit can be turned back on", async () => {
  const server = await useLocalClerk({ users: { user_1: {} }, userWriteLimit: { requests: 1, windowMs: 60_000 } });
  try {
    await pkg.setUserPublicMetadataKey("user_1", "a", 1);
    assertClerkError(await rejection(pkg.setUserPublicMetadataKey("user_1", "a", 2)), { status: 429, attempts: 1 });
  } finally {
    await server.close();
  }
});

test("malformed defaults: a ClerkMetadataError, nothing left running or changed", async () => {
  await assert.rejects(useLocalClerk({ defaults: { timeoutMs: -1 } }), (e) => e instanceof pkg.ClerkMetadataError && e.code === "invalid_argument");
  assertOuterEnv();
});

test("a fetch interceptor that replaces globalThis.fetch (as msw does) sees the top-level functions' requests", async () => {
  const server = await useLocalClerk({ users: { user_1: { public_metadata: { from: "server" } } } });
  const realFetch = globalThis.fetch;
  const seen = [];
  globalThis.fetch = async (input, init) => {
    seen.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
    return Response.json({ object: "user", id: "user_1", public_metadata: { from: "interceptor" }, private_metadata: {}, unsafe_metadata: {} });
  };
  try {
    assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { from: "interceptor" });
    assert.deepEqual(seen, ["GET /v1/users/user_1"]);
    assert.equal(server.requests.length, 0, "nothing reached the server");
  } finally {
    globalThis.fetch = realFetch;
    await server.close();
  }
});
