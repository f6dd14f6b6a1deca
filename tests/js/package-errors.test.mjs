// Errors of the built package: the ClerkMetadataError class and its fields for Clerk's answers
// (404, 401, 422, 429, 5xx), as users branch on them.
// Run: node --test tests/js/package-errors.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  pkg,
  EIGHT,
  withServer,
  withEnvServer,
  setEnv,
  clientFor,
  rejection,
  assertClerkError,
  blobOfBytes,
  sent,
} from "./package-helpers.mjs";

const TRACE = /^[0-9a-f]{32}$/;

describe("ClerkMetadataError", () => {
  test("is an exported Error subclass users can construct and serialise", () => {
    const e = new pkg.ClerkMetadataError("Failed to get user metadata: x", { code: "resource_not_found", status: 404, attempts: 1 });
    assert.ok(e instanceof Error);
    assert.equal(e.name, "ClerkMetadataError");
    assert.deepEqual(e.errors, []);
    assert.equal(e.operation, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(e)), {
      name: "ClerkMetadataError",
      message: "Failed to get user metadata: x",
      code: "resource_not_found",
      status: 404,
      errors: [],
      attempts: 1,
      outcomeUnknown: false,
    });
    assert.equal(String(e), "ClerkMetadataError: Failed to get user metadata: x");
  });
});

describe("404: user not found", () => {
  test("every function: 'Failed to <op> user metadata: User not found', resource_not_found, 404, Clerk's fields", async () => {
    await withEnvServer({}, async (s) => {
      for (const { fn, op, verb, args } of EIGHT) {
        s.clearRequests();
        const err = await rejection(pkg[fn](...args("user_missing")));
        assertClerkError(err, {
          message: `Failed to ${verb} user metadata: User not found`,
          code: "resource_not_found",
          status: 404,
          operation: op,
          attempts: 1,
          retryAfter: undefined,
          clerkTraceId: TRACE,
          errors: [{ code: "resource_not_found", message: "not found", longMessage: "No user was found with id user_missing" }],
        });
        assert.ok(!("long_message" in err.errors[0]), "camelCase, as @clerk/backend");
        assert.equal(s.requests.length, 1, `${fn}: a 404 is not retried`);
      }
    });
  });
});

describe("401: wrong key", () => {
  test("clerk_key_invalid, status 401, not retried", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const c = pkg.createClerkMetadataClient({ secretKey: "sk_test_not_the_servers_key_123456", apiUrl: s.url, retryBaseDelayMs: 1 });
      for (const call of [() => c.getUserPublicMetadata("user_1"), () => c.mergeUserPublicMetadata("user_1", { a: 1 })]) {
        s.clearRequests();
        const err = await rejection(call());
        assertClerkError(err, {
          code: "clerk_key_invalid",
          status: 401,
          attempts: 1,
          clerkTraceId: TRACE,
          message: /^Failed to (get|merge) user metadata: .*CLERK_SECRET_KEY/,
        });
        assert.equal(err.errors[0].longMessage, "The provided Secret Key is invalid. Make sure that your Secret Key is correct.");
        assert.equal(s.requests.length, 1);
        assert.equal(s.requests[0].authorization, "wrong-key");
      }
      assert.deepEqual(s.getUser("user_1").public_metadata, {});
    });
  });
});

describe("422: Clerk's size limit", () => {
  test("client limit above the server's: form_param_exceeds_allowed_size with Clerk's entry", async () => {
    await withServer({ users: { user_1: { public_metadata: { keep: 1 } } } }, async (s) => {
      const c = clientFor(s, { maxMetadataBytes: 100_000 });
      const err = await rejection(c.updateUserPublicMetadata("user_1", blobOfBytes(9000)));
      assertClerkError(err, {
        code: "form_param_exceeds_allowed_size",
        status: 422,
        operation: "update",
        attempts: 1,
        clerkTraceId: TRACE,
        message: "Failed to update user metadata: public_metadata exceeds the maximum allowed size of 8192 bytes.",
        errors: [
          {
            code: "form_param_exceeds_allowed_size",
            message: "exceeds allowed size",
            longMessage: "public_metadata exceeds the maximum allowed size of 8192 bytes.",
            meta: { param_name: "public_metadata" },
          },
        ],
      });
      assert.equal(s.requests.length, 1, "422 is not retried");
      assert.deepEqual(s.getUser("user_1").public_metadata, { keep: 1 }, "nothing written");
    });
  });

  test("a small merge that makes the stored metadata too large is refused by Clerk (422), default client", async () => {
    await withEnvServer({ users: { user_1: { public_metadata: blobOfBytes(8000) } } }, async (s) => {
      const err = await rejection(pkg.mergeUserPublicMetadata("user_1", { more: "y".repeat(300) }));
      assertClerkError(err, { code: "form_param_exceeds_allowed_size", status: 422, operation: "merge", attempts: 1 });
      assert.equal(s.requests.length, 1);
      assert.deepEqual(s.getUser("user_1").public_metadata, blobOfBytes(8000));
    });
  });
});

describe("429: rate limited", () => {
  test("Retry-After longer than maxRetryAfterMs: rejected at once with retryAfter and Clerk's fields", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "30" } }, times: 5 });
      const c = clientFor(s); // default maxRetryAfterMs: 15 000
      const err = await rejection(c.setUserPublicMetadataKey("user_1", "a", 1));
      assertClerkError(err, {
        message: "Failed to set key in user metadata: Rate limit exceeded",
        code: "too_many_requests",
        status: 429,
        retryAfter: 30,
        attempts: 1,
        operation: "setKey",
        clerkTraceId: TRACE,
        errors: [{ code: "too_many_requests", message: "Too many requests", longMessage: "Too many requests, retry later" }],
      });
      assert.equal(s.requests.length, 1);
    });
  });

  test("the server's own per-user limit: the 429 carries its Retry-After in seconds", async () => {
    await withServer({ users: { user_1: {} }, userWriteLimit: { requests: 1, windowMs: 60_000 } }, async (s) => {
      const c = clientFor(s, { rateLimit: false, maxRetryAfterMs: 0 });
      await c.mergeUserPublicMetadata("user_1", { a: 1 });
      const err = await rejection(c.mergeUserPublicMetadata("user_1", { b: 1 }));
      assertClerkError(err, { code: "too_many_requests", status: 429, retryAfter: 60, attempts: 1, message: "Failed to merge user metadata: Rate limit exceeded" });
      assert.deepEqual(s.requests.map((r) => r.status), [200, 429]);
      assert.deepEqual(s.getUser("user_1").public_metadata, { a: 1 });
    });
  });
});

describe("other statuses", () => {
  test("the trace id falls back to cf-ray; a body without errors gives http_<status>", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const c = clientFor(s, { maxRetries: 0 });
      s.injectFault({ fault: { kind: "status", status: 500, body: '{"errors":[{"code":"internal_clerk_error","message":"boom"}]}', headers: { "cf-ray": "8a1b2c3d4e-FRA" } } });
      let err = await rejection(c.getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "internal_clerk_error", status: 500, clerkTraceId: "8a1b2c3d4e-FRA", message: "Failed to get user metadata: boom", attempts: 1 });
      assert.deepEqual(err.errors, [{ code: "internal_clerk_error", message: "boom" }]);

      s.injectFault({ fault: { kind: "status", status: 418, body: "{}" } });
      err = await rejection(c.getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "http_418", status: 418, clerkTraceId: undefined, errors: [] });

      s.injectFault({ fault: { kind: "status", status: 403 } });
      err = await rejection(c.clearUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "authorization_invalid", status: 403, operation: "clear", message: "Failed to clear user metadata: You are not authorized to perform this request" });
      assert.equal(s.requests.length, 3);
      assert.deepEqual(await c.getUserPublicMetadata("user_1"), {}, "the next call works");
    });
  });

  test("a 5xx is retried; the final error says how many attempts were made", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "status", status: 503 }, times: 3 });
      const err = await rejection(clientFor(s).hasUserPublicMetadataKey("user_1", "a"));
      assertClerkError(err, {
        code: "internal_clerk_error",
        status: 503,
        attempts: 3,
        operation: "hasKey",
        message: "Failed to check key in user metadata: There was an internal error on our servers. We've been notified and are working on fixing it. (after 3 attempts)",
      });
      assert.deepEqual(sent(s), Array(3).fill("GET /v1/users/user_1"));
    });
  });

  test("errors of the top-level functions are instances of the exported class too", async () => {
    await withEnvServer({}, async () => {
      const err = await rejection(pkg.getUserPublicMetadata("user_nobody"));
      assert.ok(err instanceof pkg.ClerkMetadataError);
      assert.equal(Object.getPrototypeOf(err), pkg.ClerkMetadataError.prototype);
      assert.ok(typeof err.stack === "string" && err.stack.startsWith("ClerkMetadataError: Failed to get user metadata: User not found"));
    });
  });

  test("a network failure: network_error without status, retried", async () => {
    const restore = setEnv({});
    try {
      const c = pkg.createClerkMetadataClient({ secretKey: "sk_test_abcdefghijklmnop", apiUrl: "http://127.0.0.1:9", retryBaseDelayMs: 1 });
      const err = await rejection(c.getUserPublicMetadata("user_1"));
      assertClerkError(err, { code: "network_error", status: undefined, attempts: 3, operation: "get", message: /^Failed to get user metadata: network error: .*\(after 3 attempts\)$/ });
    } finally {
      restore();
    }
  });
});
