// configureDefaults: the options of the top-level functions (issue 14, section 2).
// Run: node --test tests/js/defaults.test.mjs   (build first: node scripts/build.mjs --skip-wasm)
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { assertClerkError, pkg, rejection, sent, setEnv, withEnvServer, withServer } from "./package-helpers.mjs";

const { configureDefaults, ClerkMetadataError } = pkg;

afterEach(() => configureDefaults());

describe("configureDefaults", () => {
  test("rateLimit: false: 12 writes to one user finish at once (the built-in limiter allows 10 per 10 s)", async () => {
    await withEnvServer({ users: { user_1: {} }, userWriteLimit: false }, async (s) => {
      configureDefaults({ rateLimit: false });
      const started = Date.now();
      for (let i = 0; i < 12; i++) await pkg.setUserPublicMetadataKey("user_1", "n", i);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      assert.equal(sent(s).length, 12);
      assert.deepEqual(s.getUser("user_1").public_metadata, { n: 11 });
    });
  });

  test("timeoutMs and maxRetries apply to the top-level functions", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      configureDefaults({ timeoutMs: 200, maxRetries: 0 });
      s.injectFault({ fault: { kind: "delay", ms: 1000 } });
      const started = Date.now();
      const err = await rejection(pkg.getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "timeout", attempts: 1, message: /200 ms/ });
      assert.ok(Date.now() - started < 900, `took ${Date.now() - started} ms`);
      // setUserPublicMetadataKeys too.
      s.injectFault({ fault: { kind: "delay", ms: 1000 } });
      assertClerkError(await rejection(pkg.setUserPublicMetadataKeys("user_1", { a: 1 })), { code: "timeout", attempts: 1 });
    });
  });

  test("configureDefaults() restores the built-in defaults; a new call replaces, not merges", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      configureDefaults({ timeoutMs: 200, maxRetries: 0 });
      configureDefaults({ maxRetries: 0 }); // timeoutMs back to 10 000
      s.injectFault({ fault: { kind: "delay", ms: 400 } });
      assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), {});
      configureDefaults({ timeoutMs: 200, maxRetries: 0 });
      configureDefaults();
      s.injectFault({ fault: { kind: "delay", ms: 400 } });
      assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), {});
      // Built-in retries are back: a 503 is retried.
      s.injectFault({ fault: { kind: "status", status: 503, headers: { "retry-after": "0" } } });
      assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), {});
      assert.equal(sent(s).length, 4, "two delayed reads, then a 503 and its retry");
    });
  });

  test("secretKey/apiUrl given there override the environment; otherwise it is read at each call", async () => {
    await withServer({ users: { user_1: { public_metadata: { from: "a" } } } }, async (a) => {
      await withServer({ users: { user_1: { public_metadata: { from: "b" } } } }, async (b) => {
        const restore = setEnv({ CLERK_SECRET_KEY: a.secretKey, CLERK_API_URL: a.url });
        try {
          configureDefaults({ maxRetries: 0 });
          assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { from: "a" });
          process.env.CLERK_API_URL = b.url; // the environment is still read at each call
          assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { from: "b" });
          configureDefaults({ apiUrl: a.url, maxRetries: 0 });
          assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { from: "a" });
          delete process.env.CLERK_SECRET_KEY;
          configureDefaults({ secretKey: b.secretKey, apiUrl: b.url });
          assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { from: "b" });
          configureDefaults();
          assertClerkError(await rejection(pkg.getUserPublicMetadata("user_1")), { code: "missing_secret_key" });
        } finally {
          restore();
        }
      });
    });
  });

  test("malformed options throw a ClerkMetadataError at once and keep the previous defaults", async () => {
    await withEnvServer({ users: { user_1: {} } }, async (s) => {
      configureDefaults({ timeoutMs: 200, maxRetries: 0 });
      for (const bad of [{ timeoutMs: -1 }, { maxRetries: "x" }, { rateLimit: 3 }, null, "fast"]) {
        assert.throws(() => configureDefaults(bad), (e) => e instanceof ClerkMetadataError && e.code === "invalid_argument", JSON.stringify(bad));
      }
      s.injectFault({ fault: { kind: "delay", ms: 1000 } });
      assertClerkError(await rejection(pkg.getUserPublicMetadata("user_1")), { code: "timeout", attempts: 1 });
    });
  });
});
