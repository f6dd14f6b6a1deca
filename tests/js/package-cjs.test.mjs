// The CommonJS build (dist/index.cjs, what `require("clerk-metadata-wasm")` loads) behaves
// exactly like the ESM build: same exports, same requests, same results, same errors.
// Run: node --test tests/js/package-cjs.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { pkg as esm, withServer, setEnv, rejection, assertClerkError } from "./package-helpers.mjs";

const require = createRequire(import.meta.url);
const cjs = require("../../dist/index.cjs");
const cjsTesting = require("../../dist/testing.cjs");

test("require() gives the same exports as import", () => {
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort());
  for (const name of Object.keys(esm)) assert.equal(typeof cjs[name], typeof esm[name], name);
  assert.equal(typeof cjsTesting.startLocalClerkServer, "function");
  assert.equal(cjsTesting.LOCAL_SECRET_KEY, "sk_test_local_clerk_metadata_wasm_000000000000");
});

/** One scenario through the eight functions and a client; returns what a user could observe. */
async function scenario(api, server) {
  const out = {};
  const restore = setEnv({ CLERK_SECRET_KEY: server.secretKey, CLERK_API_URL: server.url });
  try {
    await api.updateUserPublicMetadata("user_1", { role: "admin", prefs: { theme: "dark", n: 1 }, when: new Date(0), gone: undefined });
    await api.mergeUserPublicMetadata("user_1", { prefs: { n: null, lang: "fr" }, tags: ["a"] });
    await api.setUserPublicMetadataKey("user_1", "prefs", { only: true });
    await api.setUserPublicMetadataKey("user_1", "count", 0);
    await api.removeUserPublicMetadataKeys("user_1", ["tags"]);
    out.all = await api.getUserPublicMetadata("user_1");
    out.count = await api.getUserPublicMetadataKey("user_1", "count");
    out.absent = await api.getUserPublicMetadataKey("user_1", "absent");
    out.has = [await api.hasUserPublicMetadataKey("user_1", "count"), await api.hasUserPublicMetadataKey("user_1", "nope")];
    await api.clearUserPublicMetadata("user_1");
    out.cleared = await api.getUserPublicMetadata("user_1");
    const errors = [
      await rejection(api.getUserPublicMetadata("user_missing")),
      await rejection(api.mergeUserPublicMetadata("a/b", { x: 1 })),
      await rejection(api.setUserPublicMetadataKey("user_1", "k", null)),
    ];
    delete process.env.CLERK_SECRET_KEY;
    errors.push(await rejection(api.updateUserPublicMetadata("user_1", { a: 1 })));
    for (const err of errors) assertClerkError(err, {}, api.ClerkMetadataError);
    out.errors = errors.map((e) => {
      const json = e.toJSON();
      delete json.clerkTraceId; // random per response
      return json;
    });
    const client = api.createClerkMetadataClient({ secretKey: server.secretKey, apiUrl: server.url, rateLimit: false });
    await client.private.setKey("user_1", "p", [1]);
    out.private = await client.private.get("user_1");
  } finally {
    restore();
  }
  out.requests = server.requests.map(({ method, path, body, headers, authorization, status }) => {
    const { host, ...rest } = headers; // the port differs between the two servers
    return { method, path, body, headers: rest, authorization, status };
  });
  return out;
}

test("the same scenario through require() and import(): identical results, requests and errors", async () => {
  const seed = { users: { user_1: { public_metadata: { old: true } } } };
  const viaEsm = await withServer(seed, (s) => scenario(esm, s));
  const viaCjs = await withServer(seed, (s) => scenario(cjs, s));
  assert.deepEqual(viaCjs, viaEsm);
  // And the scenario did what it says.
  assert.deepEqual(viaCjs.all, { role: "admin", prefs: { only: true }, when: "1970-01-01T00:00:00.000Z", count: 0 });
  assert.equal(viaCjs.count, 0);
  assert.equal(viaCjs.absent, undefined);
  assert.deepEqual(viaCjs.has, [true, false]);
  assert.deepEqual(viaCjs.cleared, {});
  assert.deepEqual(viaCjs.private, { p: [1] });
  assert.deepEqual(
    viaCjs.errors.map((e) => [e.code, e.operation, e.attempts]),
    [["resource_not_found", "get", 1], ["invalid_argument", "merge", 0], ["invalid_argument", "setKey", 0], ["missing_secret_key", "update", 0]],
  );
  assert.equal(viaCjs.errors[0].message, "Failed to get user metadata: User not found");
  assert.equal(viaCjs.errors[3].message, "Failed to update user metadata: Missing CLERK_SECRET_KEY");
  assert.equal(viaCjs.requests.length, 16);
});

test("errors from the CJS build are instances of the CJS class and of Error", async () => {
  await cjsTesting.startLocalClerkServer({}).then(async (s) => {
    try {
      const c = cjs.createClerkMetadataClient({ secretKey: s.secretKey, apiUrl: s.url });
      const err = await rejection(c.getUserPublicMetadata("user_nope"));
      assert.ok(err instanceof cjs.ClerkMetadataError);
      assert.ok(err instanceof Error);
      assertClerkError(err, { code: "resource_not_found", status: 404 }, cjs.ClerkMetadataError);
    } finally {
      await s.close();
    }
  });
});
