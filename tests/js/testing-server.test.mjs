// Build first: npm run build (this tests dist/testing.mjs, what users import as clerk-metadata-wasm/testing)
// Run: node --test tests/js/testing-server.test.mjs
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

// The module under test; the lead's build points this at dist/ later (the only place to change).
const MODULE_UNDER_TEST = "../../dist/testing.mjs";
const { startLocalClerkServer, LOCAL_SECRET_KEY } = await import(new URL(MODULE_UNDER_TEST, import.meta.url).href);

const VERSION = "2026-05-12";
const LAUNCHER = fileURLToPath(new URL("../../scripts/local-server.mjs", import.meta.url));

/** Start a server, run fn, always close it (so a failing test never leaks a listener). */
async function withServer(options, fn) {
  const server = await startLocalClerkServer(options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** fetch with Clerk-like defaults; `headers` entries set to undefined are removed. */
async function call(server, method, path, { body, headers = {}, key = server.secretKey } = {}) {
  const h = {
    authorization: `Bearer ${key}`,
    "clerk-api-version": VERSION,
    "content-type": "application/json",
    ...headers,
  };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  const init = { method, headers: h };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { res, status: res.status, text, json };
}

function assertClerkError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.res.headers.get("content-type") ?? "", /^application\/json/);
  assert.ok(Array.isArray(r.json?.errors) && r.json.errors.length > 0, r.text);
  const e = r.json.errors[0];
  assert.equal(e.code, code, r.text);
  assert.equal(typeof e.message, "string");
  assert.equal(typeof e.long_message, "string");
  assert.match(r.json.clerk_trace_id, /^[0-9a-f]{16,}$/);
  return e;
}

const meta = (server, id) => {
  const u = server.getUser(id);
  assert.ok(u, `user ${id} exists`);
  return u;
};

describe("routes and the User object", () => {
  test("GET /v1/users/{id} returns a Clerk User", async () => {
    let clock = 1_700_000_000_000;
    await withServer({ now: () => clock, users: { user_1: { public_metadata: { plan: "pro" } } } }, async (s) => {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(s.url, `http://127.0.0.1:${s.port}`);
      assert.equal(s.secretKey, LOCAL_SECRET_KEY);
      const r = await call(s, "GET", "/v1/users/user_1");
      assert.equal(r.status, 200);
      assert.equal(r.res.headers.get("content-type"), "application/json");
      assert.equal(r.res.headers.get("access-control-allow-origin"), "*");
      assert.match(r.res.headers.get("access-control-expose-headers") ?? "", /retry-after/);
      const u = r.json;
      assert.equal(u.object, "user");
      assert.equal(u.id, "user_1");
      assert.deepEqual(u.public_metadata, { plan: "pro" });
      assert.deepEqual(u.private_metadata, {});
      assert.deepEqual(u.unsafe_metadata, {});
      assert.equal(u.created_at, clock);
      assert.equal(u.updated_at, clock);
      for (const k of ["first_name", "last_name", "username", "primary_email_address_id", "external_id"]) assert.equal(u[k], null, k);
      assert.deepEqual(u.email_addresses, []);
      assert.equal(u.clerk_trace_id, undefined);
    });
  });

  test("unknown user → 404 resource_not_found naming the id", async () => {
    await withServer({}, async (s) => {
      for (const [m, body] of [["GET"], ["PATCH", { public_metadata: {} }], ["PUT", { public_metadata: {} }]]) {
        const path = m === "GET" ? "/v1/users/user_nope" : "/v1/users/user_nope/metadata";
        const e = assertClerkError(await call(s, m, path, { body }), 404, "resource_not_found");
        assert.equal(e.message, "not found");
        assert.equal(e.long_message, "No user was found with id user_nope");
      }
      assertClerkError(await call(s, "PATCH", "/v1/users/user_nope", { body: { first_name: "x" } }), 404, "resource_not_found");
    });
  });

  test("unknown routes → 404, wrong methods → 405", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      // "/v1/users" is the user list (tests/js/testing-webhooks.test.mjs).
      for (const p of ["/", "/v1/users/", "/v1/users/user_1/", "/v1/users/user_1/metadata/x", "/v2/users/user_1", "/v1/clients"]) {
        assertClerkError(await call(s, "GET", p), 404, "resource_not_found");
      }
      const del = await call(s, "DELETE", "/v1/users/user_1");
      assert.equal(del.status, 405);
      assert.equal(del.res.headers.get("allow"), "GET, PATCH");
      assert.ok(del.json.errors[0].code);
      assert.ok(s.getUser("user_1"), "DELETE did not delete");
      const getMeta = await call(s, "GET", "/v1/users/user_1/metadata");
      assert.equal(getMeta.status, 405);
      assert.equal(getMeta.res.headers.get("allow"), "PATCH, PUT");
      assert.equal((await call(s, "POST", "/v1/users/user_1/metadata", { body: {} })).status, 405);
    });
  });

  test("percent-encoded ids are decoded: a '/' in an id cannot change the route", async () => {
    await withServer({ users: { "a/b": { public_metadata: { ok: 1 } }, "é ü": {} } }, async (s) => {
      const r = await call(s, "GET", "/v1/users/a%2Fb");
      assert.equal(r.status, 200);
      assert.equal(r.json.id, "a/b");
      assert.equal((await call(s, "GET", "/v1/users/a/b")).status, 404);
      assert.equal((await call(s, "PATCH", `/v1/users/${encodeURIComponent("é ü")}/metadata`, { body: { public_metadata: { x: 1 } } })).status, 200);
      assert.deepEqual(meta(s, "é ü").public_metadata, { x: 1 });
      assertClerkError(await call(s, "GET", "/v1/users/%E0%A4%A"), 404, "resource_not_found");
    });
  });
});

describe("auth and API version", () => {
  test("missing or malformed Authorization → 401 authorization_header_format_invalid", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const cases = [
        [undefined, "missing"],
        [s.secretKey, "malformed"],
        [`Basic ${s.secretKey}`, "malformed"],
        ["Bearer", "malformed"],
        ["Bearer ", "malformed"],
        [`Bearer ${s.secretKey} extra`, "malformed"],
      ];
      for (const [authorization, kind] of cases) {
        s.clearRequests();
        const r = await call(s, "GET", "/v1/users/user_1", { headers: { authorization } });
        assertClerkError(r, 401, "authorization_header_format_invalid");
        assert.equal(s.requests[0].authorization, kind, String(authorization));
      }
    });
  });

  test("wrong key → 401 clerk_key_invalid; a custom secretKey replaces the default", async () => {
    await withServer({ secretKey: "sk_live_custom_key_123456", users: { user_1: {} } }, async (s) => {
      assert.equal(s.secretKey, "sk_live_custom_key_123456");
      const r = await call(s, "GET", "/v1/users/user_1", { key: LOCAL_SECRET_KEY });
      const e = assertClerkError(r, 401, "clerk_key_invalid");
      assert.equal(e.message, "Secret Key invalid");
      assert.equal(s.requests.at(-1).authorization, "wrong-key");
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
      assert.equal(s.requests.at(-1).authorization, "valid");
      // The scheme is case-insensitive, as in RFC 7235.
      assert.equal((await call(s, "GET", "/v1/users/user_1", { headers: { authorization: `bearer ${s.secretKey}` } })).status, 200);
    });
  });

  test("bad Clerk-API-Version → 400 api_version_invalid; every published version and none are accepted", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      for (const v of ["2021-02-05", "2024-10-01", "2025-04-10", "2025-11-10", "2026-05-12"]) {
        assert.equal((await call(s, "GET", "/v1/users/user_1", { headers: { "clerk-api-version": v } })).status, 200, v);
      }
      for (const v of ["2026-05-13", "latest", "", "v1"]) {
        assertClerkError(await call(s, "GET", "/v1/users/user_1", { headers: { "clerk-api-version": v } }), 400, "api_version_invalid");
      }
      s.clearRequests();
      assert.equal((await call(s, "GET", "/v1/users/user_1", { headers: { "clerk-api-version": undefined } })).status, 200);
      assert.equal(s.requests[0].headers["clerk-api-version"], undefined, "absence is visible to tests");
      await call(s, "GET", "/v1/users/user_1");
      assert.equal(s.requests[1].headers["clerk-api-version"], VERSION);
    });
  });

  test("auth is checked before the version, the version before the user lookup", async () => {
    await withServer({}, async (s) => {
      const bad = { "clerk-api-version": "nope" };
      assertClerkError(await call(s, "GET", "/v1/users/x", { key: "sk_test_wrong", headers: bad }), 401, "clerk_key_invalid");
      assertClerkError(await call(s, "GET", "/v1/users/x", { headers: bad }), 400, "api_version_invalid");
      assertClerkError(await call(s, "GET", "/v1/nothing", { key: "sk_test_wrong" }), 401, "clerk_key_invalid");
    });
  });
});

describe("PATCH /v1/users/{id}/metadata (deep merge)", () => {
  test("nested objects merge, null removes at any depth, arrays and scalars replace", async () => {
    const seed = {
      public_metadata: {
        plan: "free",
        flags: { beta: true, theme: { color: "red", size: 2 }, gone: 1 },
        tags: ["a", "b", "c"],
        obj: { x: 1 },
        scalar: 5,
        keepNull: "x",
      },
      private_metadata: { secret: 1 },
      unsafe_metadata: { u: true },
    };
    let clock = 1000;
    await withServer({ now: () => clock, users: { user_1: seed } }, async (s) => {
      clock = 2000;
      const r = await call(s, "PATCH", "/v1/users/user_1/metadata", {
        body: {
          public_metadata: {
            plan: "pro",
            flags: { theme: { color: null, weight: "bold" }, gone: null, added: { deep: { n: null, m: 1 } } },
            tags: ["z"],
            obj: "now a string",
            scalar: { now: "an object", dropped: null },
            keepNull: null,
            missing: null,
          },
        },
      });
      assert.equal(r.status, 200, r.text);
      const expected = {
        plan: "pro",
        flags: { beta: true, theme: { size: 2, weight: "bold" }, added: { deep: { m: 1 } } },
        tags: ["z"],
        obj: "now a string",
        scalar: { now: "an object" },
      };
      assert.deepEqual(r.json.public_metadata, expected);
      assert.deepEqual(meta(s, "user_1").public_metadata, expected);
      assert.deepEqual(r.json.private_metadata, { secret: 1 }, "fields not sent are untouched");
      assert.deepEqual(r.json.unsafe_metadata, { u: true });
      assert.equal(r.json.created_at, 1000);
      assert.equal(r.json.updated_at, 2000);
    });
  });

  test("several fields at once; {} patch changes nothing; arrays keep their nulls", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: 1 }, private_metadata: { b: 2 } } } }, async (s) => {
      let r = await call(s, "PATCH", "/v1/users/user_1/metadata", {
        body: { public_metadata: { c: [1, null, { d: null }] }, private_metadata: { b: null }, unsafe_metadata: { e: false } },
      });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.public_metadata, { a: 1, c: [1, null, { d: null }] });
      assert.deepEqual(r.json.private_metadata, {});
      assert.deepEqual(r.json.unsafe_metadata, { e: false });
      r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: {} });
      assert.equal(r.status, 200);
      r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: {} } });
      assert.deepEqual(r.json.public_metadata, { a: 1, c: [1, null, { d: null }] });
    });
  });

  test("__proto__, constructor and prototype keys are plain data and nothing is polluted", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const body =
        '{"public_metadata":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":{"x":1},"nested":{"__proto__":{"polluted":1}}}}';
      let r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body });
      assert.equal(r.status, 200, r.text);
      assert.equal({}.polluted, undefined);
      assert.equal(Object.prototype.polluted, undefined);
      assert.ok(r.text.includes('"__proto__":{"polluted":true}'), r.text);
      const pm = r.json.public_metadata;
      assert.ok(Object.hasOwn(pm, "__proto__"));
      assert.deepEqual(Object.keys(pm), ["__proto__", "constructor", "prototype", "nested"]);
      assert.deepEqual(pm.constructor, { prototype: { polluted: true } });
      // Merging into an existing "__proto__" key merges data, then null removes it.
      r = await call(s, "PATCH", "/v1/users/user_1/metadata", {
        body: '{"public_metadata":{"__proto__":{"more":2},"nested":{"__proto__":null}}}',
      });
      assert.ok(r.text.includes('"__proto__":{"polluted":true,"more":2}'), r.text);
      assert.deepEqual(JSON.parse(r.text).public_metadata.nested, {});
      const u = meta(s, "user_1");
      assert.ok(Object.hasOwn(u.public_metadata, "__proto__"), "getUser returns own data properties");
      assert.equal(Object.getPrototypeOf(u.public_metadata), Object.prototype);
      assert.equal(u.public_metadata.polluted, undefined);
      // PUT stores them as sent as well.
      r = await call(s, "PUT", "/v1/users/user_1/metadata", { body: '{"private_metadata":{"__proto__":{"polluted":"put"}}}' });
      assert.ok(r.text.includes('"private_metadata":{"__proto__":{"polluted":"put"}}'), r.text);
      assert.equal({}.polluted, undefined);
    });
  });
});

describe("PUT /v1/users/{id}/metadata (replace)", () => {
  test("replaces sent fields in full, leaves others, {} clears, values stored as sent", async () => {
    const seed = { public_metadata: { a: 1, n: { x: 1 } }, private_metadata: { keep: true }, unsafe_metadata: { u: 1 } };
    await withServer({ users: { user_1: seed } }, async (s) => {
      let r = await call(s, "PUT", "/v1/users/user_1/metadata", { body: { public_metadata: { n: { y: null }, b: [1] } } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.public_metadata, { n: { y: null }, b: [1] }, "nulls are kept on PUT");
      assert.deepEqual(r.json.private_metadata, { keep: true });
      r = await call(s, "PUT", "/v1/users/user_1/metadata", { body: { unsafe_metadata: {}, private_metadata: {} } });
      assert.deepEqual(r.json.unsafe_metadata, {});
      assert.deepEqual(r.json.private_metadata, {});
      assert.deepEqual(r.json.public_metadata, { n: { y: null }, b: [1] });
      r = await call(s, "PUT", "/v1/users/user_1/metadata", { body: {} });
      assert.equal(r.status, 200);
      assert.deepEqual(meta(s, "user_1"), { id: "user_1", public_metadata: { n: { y: null }, b: [1] }, private_metadata: {}, unsafe_metadata: {} });
    });
  });
});

describe("PATCH /v1/users/{id}", () => {
  test("metadata fields → 422 (API 2026-05-12), nothing changes; other fields → 200", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: 1 } } } }, async (s) => {
      for (const f of ["public_metadata", "private_metadata", "unsafe_metadata"]) {
        const r = await call(s, "PATCH", "/v1/users/user_1", { body: { first_name: "Ann", [f]: { b: 2 } } });
        const e = assertClerkError(r, 422, "form_param_unknown");
        assert.deepEqual(e.meta, { param_name: f });
        assert.match(e.long_message, /\/metadata/);
      }
      assert.deepEqual(meta(s, "user_1").public_metadata, { a: 1 });
      assert.equal((await call(s, "GET", "/v1/users/user_1")).json.first_name, null, "the whole request was rejected");
      let r = await call(s, "PATCH", "/v1/users/user_1", { body: { first_name: "Ann", username: "ann", delete_self_enabled: false } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.first_name, "Ann");
      assert.equal(r.json.username, "ann");
      assert.deepEqual(r.json.public_metadata, { a: 1 });
      r = await call(s, "PATCH", "/v1/users/user_1", { body: { first_name: null } });
      assert.equal(r.json.first_name, null);
      assertClerkError(await call(s, "PATCH", "/v1/users/user_1", { body: { favourite_color: "red" } }), 422, "form_param_unknown");
      assertClerkError(await call(s, "PATCH", "/v1/users/user_1", { body: { first_name: 5 } }), 422, "form_param_value_invalid");
      assertClerkError(await call(s, "PATCH", "/v1/users/user_1", { body: "{" }), 400, "request_body_invalid");
    });
  });
});

describe("write validation and atomicity", () => {
  test("unparsable or empty body → 400 request_body_invalid", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      for (const m of ["PATCH", "PUT"]) {
        for (const body of ["{", "not json", '{"public_metadata":', ""]) {
          assertClerkError(await call(s, m, "/v1/users/user_1/metadata", { body }), 400, "request_body_invalid");
        }
        assertClerkError(await call(s, m, "/v1/users/user_1/metadata"), 400, "request_body_invalid");
      }
    });
  });

  test("non-object body or unknown key → 422 form_param_unknown with param_name", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: 1 } } } }, async (s) => {
      for (const body of ["[]", "null", '"x"', "3"]) {
        assertClerkError(await call(s, "PATCH", "/v1/users/user_1/metadata", { body }), 422, "form_param_unknown");
      }
      for (const m of ["PATCH", "PUT"]) {
        const r = await call(s, m, "/v1/users/user_1/metadata", { body: { public_metadata: { a: 2 }, publicMetadata: { a: 3 } } });
        const e = assertClerkError(r, 422, "form_param_unknown");
        assert.deepEqual(e.meta, { param_name: "publicMetadata" });
      }
      assert.deepEqual(meta(s, "user_1").public_metadata, { a: 1 });
    });
  });

  test("a metadata field that is not an object → 422 form_param_value_invalid; nothing stored", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: 1 } } } }, async (s) => {
      for (const m of ["PATCH", "PUT"]) {
        for (const bad of [null, [], [1], "s", 1, true]) {
          const r = await call(s, m, "/v1/users/user_1/metadata", { body: { public_metadata: { a: 2 }, private_metadata: bad } });
          const e = assertClerkError(r, 422, "form_param_value_invalid");
          assert.deepEqual(e.meta, { param_name: "private_metadata" });
        }
      }
      assert.deepEqual(meta(s, "user_1"), { id: "user_1", public_metadata: { a: 1 }, private_metadata: {}, unsafe_metadata: {} });
    });
  });

  test("a result over maxMetadataBytes → 422 form_param_exceeds_allowed_size; nothing stored", async () => {
    await withServer({ maxMetadataBytes: 30, users: { user_1: { public_metadata: { a: "1234567890" } } } }, async (s) => {
      // {"a":"1234567890","b":"12"} is 28 bytes: fits.
      let r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { b: "12" } } });
      assert.equal(r.status, 200, r.text);
      // The merge RESULT is what counts, not the patch: a small patch can overflow.
      r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { private_metadata: { ok: 1 }, public_metadata: { c: 1 } } });
      const e = assertClerkError(r, 422, "form_param_exceeds_allowed_size");
      assert.match(e.long_message, /30/);
      assert.deepEqual(e.meta, { param_name: "public_metadata" });
      assert.deepEqual(meta(s, "user_1"), { id: "user_1", public_metadata: { a: "1234567890", b: "12" }, private_metadata: {}, unsafe_metadata: {} });
      // Bytes are UTF-8 bytes, not characters: {"k":""} is 8 bytes, each "é" adds 2.
      r = await call(s, "PUT", "/v1/users/user_1/metadata", { body: { unsafe_metadata: { k: "é".repeat(11) } } });
      assert.equal(r.status, 200, "8 + 22 = 30 bytes: exactly at the limit passes");
      r = await call(s, "PUT", "/v1/users/user_1/metadata", { body: { unsafe_metadata: { k: "é".repeat(12) } } });
      assertClerkError(r, 422, "form_param_exceeds_allowed_size");
      // A shrinking merge fixes it.
      r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { a: null, c: 1 } } });
      assert.equal(r.status, 200);
    });
  });

  test("the default limit is 8192 bytes per field", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const pad = (n) => ({ p: "x".repeat(n - 8) }); // {"p":""} is 8 bytes
      assert.equal((await call(s, "PUT", "/v1/users/user_1/metadata", { body: { public_metadata: pad(8192), private_metadata: pad(8192) } })).status, 200);
      assertClerkError(await call(s, "PUT", "/v1/users/user_1/metadata", { body: { public_metadata: pad(8193) } }), 422, "form_param_exceeds_allowed_size");
    });
  });

  test("a body over 1 MiB → 413 request_body_too_large", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const body = JSON.stringify({ public_metadata: { p: "x".repeat(1024 * 1024) } });
      const r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body });
      assertClerkError(r, 413, "request_body_too_large");
      assert.equal(s.requests.at(-1).body, null);
      assert.deepEqual(meta(s, "user_1").public_metadata, {});
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200, "connection still usable");
    });
  });
});

describe("rate limits", () => {
  test("per-user write limit: 10 writes / 10 s shared by PATCH, PUT and PATCH /users/{id}; reads free", async () => {
    let clock = 50_000;
    await withServer({ now: () => clock, users: { user_1: {}, user_2: {} } }, async (s) => {
      for (let i = 0; i < 10; i++) {
        const [m, p, body] =
          i % 3 === 0
            ? ["PATCH", "/v1/users/user_1/metadata", { public_metadata: { i } }]
            : i % 3 === 1
              ? ["PUT", "/v1/users/user_1/metadata", { private_metadata: { i } }]
              : ["PATCH", "/v1/users/user_1", { first_name: `n${i}` }];
        assert.equal((await call(s, m, p, { body })).status, 200, `write ${i}`);
        clock += 100; // writes at 50.0 s … 50.9 s
      }
      // Invalid writes do not count against the quota, reads never do.
      assertClerkError(await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { nope: 1 } }), 422, "form_param_unknown");
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
      const before = meta(s, "user_1");
      for (const [m, p] of [["PATCH", "/v1/users/user_1/metadata"], ["PUT", "/v1/users/user_1/metadata"], ["PATCH", "/v1/users/user_1"]]) {
        const r = await call(s, m, p, { body: m === "PATCH" && p.endsWith("user_1") ? { first_name: "z" } : { public_metadata: { blocked: true } } });
        assertClerkError(r, 429, "too_many_requests");
        assert.equal(r.res.headers.get("retry-after"), "9", "oldest write (50.0 s) leaves the window at 60.0 s; now 51.0 s");
      }
      assert.deepEqual(meta(s, "user_1"), before, "a 429 changes nothing");
      // Another user has its own quota.
      assert.equal((await call(s, "PATCH", "/v1/users/user_2/metadata", { body: { public_metadata: { x: 1 } } })).status, 200);
      // Sliding window: at 59.95 s the first write is still inside; Retry-After rounds up to ≥ 1.
      clock = 59_950;
      const r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { late: 1 } } });
      assert.equal(r.status, 429);
      assert.equal(r.res.headers.get("retry-after"), "1");
      clock = 60_000; // the 50.0 s write has left the window: exactly one slot free
      assert.equal((await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { late: 1 } } })).status, 200);
      assert.equal((await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { late: 2 } } })).status, 429);
      assert.equal(meta(s, "user_1").public_metadata.late, 1);
    });
  });

  test("userWriteLimit: false disables it; custom limits apply", async () => {
    await withServer({ userWriteLimit: false, users: { user_1: {} } }, async (s) => {
      for (let i = 0; i < 25; i++) assert.equal((await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { i } } })).status, 200);
    });
    let clock = 0;
    await withServer({ now: () => clock, userWriteLimit: { requests: 2, windowMs: 3500 }, users: { user_1: {} } }, async (s) => {
      const w = () => call(s, "PUT", "/v1/users/user_1/metadata", { body: { public_metadata: {} } });
      assert.equal((await w()).status, 200);
      assert.equal((await w()).status, 200);
      const r = await w();
      assert.equal(r.status, 429);
      assert.equal(r.res.headers.get("retry-after"), "4", "ceil(3.5)");
    });
  });

  test("instance limit counts every authenticated request, reads included", async () => {
    let clock = 0;
    await withServer({ now: () => clock, instanceLimit: { requests: 3, windowMs: 10_000 }, users: { user_1: {} } }, async (s) => {
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
      assert.equal((await call(s, "GET", "/v1/users/nobody")).status, 404);
      assert.equal((await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { a: 1 } } })).status, 200);
      clock = 2500;
      let r = await call(s, "GET", "/v1/users/user_1");
      assertClerkError(r, 429, "too_many_requests");
      assert.equal(r.res.headers.get("retry-after"), "8");
      r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { a: 2 } } });
      assert.equal(r.status, 429);
      assert.deepEqual(meta(s, "user_1").public_metadata, { a: 1 });
      assertClerkError(await call(s, "GET", "/v1/users/user_1", { key: "sk_test_bad" }), 401, "clerk_key_invalid");
      clock = 10_000;
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
    });
  });
});

describe("fault injection", () => {
  test("status: exact body and headers, default Clerk error body, times and matching", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "status", status: 502, body: "<html><body>Bad Gateway</body></html>", headers: { "Content-Type": "text/html" } } });
      let r = await call(s, "GET", "/v1/users/user_1");
      assert.equal(r.status, 502);
      assert.equal(r.res.headers.get("content-type"), "text/html");
      assert.equal(r.text, "<html><body>Bad Gateway</body></html>");
      assert.equal(s.requests.at(-1).status, 502);
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200, "consumed after 1 use");

      s.injectFault({ fault: { kind: "status", status: 500 } });
      assertClerkError(await call(s, "GET", "/v1/users/user_1"), 500, "internal_clerk_error");

      s.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "3" } }, times: 2 });
      for (let i = 0; i < 2; i++) {
        r = await call(s, "GET", "/v1/users/user_1");
        assertClerkError(r, 429, "too_many_requests");
        assert.equal(r.res.headers.get("retry-after"), "3");
      }
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);

      // Matching by method and path; first matching rule in insertion order wins.
      s.injectFault({ fault: { kind: "status", status: 503 }, method: "put" });
      s.injectFault({ fault: { kind: "status", status: 504 }, pathIncludes: "/metadata" });
      s.injectFault({ fault: { kind: "status", status: 501 }, pathIncludes: "/metadata" });
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
      assert.equal((await call(s, "PATCH", "/v1/users/user_1/metadata", { body: {} })).status, 504);
      assert.equal((await call(s, "PUT", "/v1/users/user_1/metadata", { body: {} })).status, 503);
      assert.equal((await call(s, "PUT", "/v1/users/user_1/metadata", { body: {} })).status, 501);
      assert.equal((await call(s, "PUT", "/v1/users/user_1/metadata", { body: {} })).status, 200);

      // Faults come before auth and leave state alone; clearFaults drops pending ones.
      s.injectFault({ fault: { kind: "status", status: 500 } });
      assert.equal((await call(s, "PATCH", "/v1/users/user_1/metadata", { key: "wrong", body: { public_metadata: { x: 1 } } })).status, 500);
      assert.deepEqual(meta(s, "user_1").public_metadata, {});
      s.injectFault({ fault: { kind: "status", status: 500 }, times: 5 });
      s.clearFaults();
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
      assert.throws(() => s.injectFault({ fault: { kind: "reset" }, times: 0 }), RangeError);
    });
  });

  test("delay: answers normally after the delay", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "delay", ms: 200 } });
      const t0 = performance.now();
      const r = await call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { slow: true } } });
      assert.ok(performance.now() - t0 >= 190, "waited");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.public_metadata, { slow: true });
      assert.equal(s.requests.at(-1).status, 200);
      // A request that outlives the client's timeout.
      s.injectFault({ fault: { kind: "delay", ms: 2000 } });
      await assert.rejects(fetch(`${s.url}/v1/users/user_1`, { headers: { authorization: `Bearer ${s.secretKey}` }, signal: AbortSignal.timeout(100) }), {
        name: "TimeoutError",
      });
    });
  });

  test("reset: the connection dies without an answer (status recorded as 0)", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "reset" }, method: "PATCH" });
      await assert.rejects(call(s, "PATCH", "/v1/users/user_1/metadata", { body: { public_metadata: { a: 1 } } }), TypeError);
      assert.equal(s.requests.at(-1).status, 0);
      assert.deepEqual(meta(s, "user_1").public_metadata, {}, "nothing was written");
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200, "the next request works");
    });
  });

  test("reset-mid-body: 200 headers then a body that never completes", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "reset-mid-body" } });
      const res = await fetch(`${s.url}/v1/users/user_1`, { headers: { authorization: `Bearer ${s.secretKey}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      await assert.rejects(res.text());
      assert.equal(s.requests.at(-1).status, 0);
    });
  });

  test("truncated-json, empty-body and huge-body", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "truncated-json" } });
      let r = await call(s, "GET", "/v1/users/user_1");
      assert.equal(r.status, 200);
      assert.equal(r.res.headers.get("content-type"), "application/json");
      assert.ok(r.text.startsWith('{"object":"user"'));
      assert.throws(() => JSON.parse(r.text), SyntaxError);

      s.injectFault({ fault: { kind: "empty-body" } });
      r = await call(s, "GET", "/v1/users/user_1");
      assert.equal(r.status, 200);
      assert.equal(r.text, "");
      s.injectFault({ fault: { kind: "empty-body", status: 503 } });
      r = await call(s, "GET", "/v1/users/user_1");
      assert.equal(r.status, 503);
      assert.equal(r.text, "");
      assert.equal(s.requests.at(-1).status, 503);

      for (const bytes of [5_000_000, 60, 10, 2, 1]) {
        s.injectFault({ fault: { kind: "huge-body", bytes } });
        r = await call(s, "GET", "/v1/users/user_1");
        assert.equal(r.status, 200);
        assert.equal(r.res.headers.get("content-type"), "application/json");
        assert.equal(Buffer.byteLength(r.text), bytes);
        assert.equal(r.res.headers.get("content-length"), String(bytes));
        assert.doesNotThrow(() => JSON.parse(r.text), `valid JSON at ${bytes} bytes`);
      }
      assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
    });
  });
});

describe("fault injection: late, reordered, redirected and endless answers", () => {
  const PATCH_1 = "/v1/users/user_1/metadata";
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Polls until `predicate()` holds; fails after `ms`. */
  async function until(predicate, what, ms = 3000) {
    const deadline = performance.now() + ms;
    while (!predicate()) {
      if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }
  /** Timers alive in this process (each fault timer is one). */
  const liveTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

  test("apply-late: applied after applyAfterMs although the client gave up; checks run at that time", async () => {
    await withServer({ users: { user_1: { public_metadata: { plan: "free" } } } }, async (s) => {
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 300 }, method: "PATCH" });
      const body = JSON.stringify({ public_metadata: { plan: "pro" } });
      const headers = { authorization: `Bearer ${s.secretKey}`, "clerk-api-version": VERSION, "content-type": "application/json" };
      await assert.rejects(fetch(s.url + PATCH_1, { method: "PATCH", headers, body, signal: AbortSignal.timeout(80) }), { name: "TimeoutError" });
      assert.equal(s.requests.length, 1, "the body arrived in full");
      assert.deepEqual(meta(s, "user_1").public_metadata, { plan: "free" }, "not applied yet");
      assert.deepEqual(s.applied, []);
      await until(() => s.applied.length === 1, "the late write");
      assert.deepEqual(meta(s, "user_1").public_metadata, { plan: "pro" });
      const [w] = s.applied;
      assert.deepEqual({ method: w.method, path: w.path, body: w.body }, { method: "PATCH", path: PATCH_1, body: { public_metadata: { plan: "pro" } } });
      assert.ok(w.at - s.requests[0].at >= 290, `applied ${w.at - s.requests[0].at} ms after arrival`);
      assert.equal(s.requests[0].status, 0, "nobody was left to answer");

      // The user is deleted before the write lands: 404, decided at application time.
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 100 } });
      const late = call(s, "PATCH", PATCH_1, { body: { public_metadata: { plan: "gone" } } });
      await until(() => s.requests.length === 2, "the second request");
      s.deleteUser("user_1");
      assertClerkError(await late, 404, "resource_not_found");
      assert.equal(s.applied.length, 1);
      assert.throws(() => s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 100, respondAfterMs: 50 } }), RangeError);
      assert.throws(() => s.injectFault({ fault: { kind: "apply-late", applyAfterMs: -1 } }), RangeError);
    });
  });

  test("apply-late with respondAfterMs: the write is visible before its answer arrives", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 100, respondAfterMs: 400 } });
      const t0 = performance.now();
      const pending = call(s, "PUT", PATCH_1, { body: { public_metadata: { n: 1 } } });
      await until(() => s.applied.length === 1, "the write");
      assert.deepEqual(meta(s, "user_1").public_metadata, { n: 1 });
      const r = await pending;
      assert.ok(performance.now() - t0 >= 390, "answered at respondAfterMs");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.public_metadata, { n: 1 });
      assert.equal(s.requests[0].status, 200);
      assert.equal(s.applied[0].method, "PUT");

      // An unparsable body is refused at application time, like any write.
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 100 } });
      const t1 = performance.now();
      assertClerkError(await call(s, "PATCH", PATCH_1, { body: "{" }), 400, "request_body_invalid");
      assert.ok(performance.now() - t1 >= 90);
      assert.equal(s.applied.length, 1);
    });
  });

  test("respond-late: applied at once, answered later, so overlapping answers arrive out of order", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.injectFault({ fault: { kind: "respond-late", ms: 300 } });
      const order = [];
      const first = call(s, "PATCH", PATCH_1, { body: { public_metadata: { v: 1 } } }).then((r) => (order.push("first"), r));
      await until(() => s.applied.length === 1, "the first write");
      assert.deepEqual(meta(s, "user_1").public_metadata, { v: 1 }, "applied on arrival");
      const second = call(s, "PATCH", PATCH_1, { body: { public_metadata: { v: 2 } } }).then((r) => (order.push("second"), r));
      const [a, b] = await Promise.all([first, second]);
      assert.deepEqual(order, ["second", "first"]);
      assert.deepEqual(a.json.public_metadata, { v: 1 }, "the late answer is the state right after its own write");
      assert.deepEqual(b.json.public_metadata, { v: 2 });
      assert.deepEqual(s.applied.map((w) => w.body.public_metadata.v), [1, 2]);
      assert.deepEqual(meta(s, "user_1").public_metadata, { v: 2 });
      assert.throws(() => s.injectFault({ fault: { kind: "respond-late", ms: Number.NaN } }), RangeError);
    });
  });

  test("redirect: the status and Location, an empty body, nothing applied", async () => {
    await withServer({ users: { user_1: { public_metadata: { a: 1 } } } }, async (s) => {
      for (const status of [301, 302, 303, 307, 308]) {
        for (const method of ["GET", "PATCH"]) {
          const location = `http://127.0.0.1:9/v1/users/user_2${method === "PATCH" ? "/metadata" : ""}`;
          s.injectFault({ fault: { kind: "redirect", status, location } });
          const path = method === "GET" ? "/v1/users/user_1" : PATCH_1;
          const res = await fetch(s.url + path, {
            method,
            redirect: "manual",
            headers: { authorization: `Bearer ${s.secretKey}`, "content-type": "application/json" },
            body: method === "GET" ? undefined : JSON.stringify({ public_metadata: { a: 2 } }),
          });
          assert.equal(res.status, status);
          assert.equal(res.headers.get("location"), location);
          assert.equal(res.headers.get("content-length"), "0");
          assert.equal(await res.text(), "");
          assert.equal(s.requests.at(-1).status, status);
        }
      }
      assert.deepEqual(s.applied, []);
      assert.deepEqual(meta(s, "user_1").public_metadata, { a: 1 });
      assert.throws(() => s.injectFault({ fault: { kind: "redirect", status: 300, location: "/" } }), RangeError);
    });
  });

  test("endless-body: 200 JSON headers, chunks until the client closes, then no more writes or timers", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const before = liveTimers();
      s.injectFault({ fault: { kind: "endless-body", chunkIntervalMs: 10 } });
      const controller = new AbortController();
      const res = await fetch(`${s.url}/v1/users/user_1`, { headers: { authorization: `Bearer ${s.secretKey}` }, signal: controller.signal });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.equal(res.headers.get("content-length"), null);
      const reader = res.body.getReader();
      let received = 0;
      while (received < 500) received += (await reader.read()).value.length;
      assert.equal(s.requests.at(-1).status, 200);
      assert.ok(liveTimers() > before, "the chunk timer runs");
      controller.abort();
      await until(() => liveTimers() <= before, "the chunk timer to stop");

      // close() ends an endless body still being read.
      s.injectFault({ fault: { kind: "endless-body" } });
      const res2 = await fetch(`${s.url}/v1/users/user_1`, { headers: { authorization: `Bearer ${s.secretKey}` } });
      const ended = res2.text().then(() => "ended", () => "failed");
      await s.close();
      assert.equal(await ended, "failed", "the body never completed");
      assert.ok(liveTimers() <= before, "no fault timer left");
    });
  });

  test("close() cancels late writes and late answers: nothing lands after it", async () => {
    const s = await startLocalClerkServer({ users: { user_1: {} } });
    s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 200 } });
    s.injectFault({ fault: { kind: "respond-late", ms: 60_000 } });
    const late = call(s, "PATCH", PATCH_1, { body: { public_metadata: { late: true } } }).catch(() => "failed");
    const held = call(s, "PATCH", PATCH_1, { body: { public_metadata: { held: true } } }).catch(() => "failed");
    await until(() => s.requests.length === 2, "both requests");
    const t0 = performance.now();
    await s.close();
    assert.ok(performance.now() - t0 < 1000, "close() did not wait for the faults");
    assert.deepEqual(await Promise.all([late, held]), ["failed", "failed"]);
    await sleep(250);
    assert.deepEqual(s.applied.map((w) => w.body.public_metadata), [{ held: true }], "the late write was dropped");
    assert.deepEqual(meta(s, "user_1").public_metadata, { held: true });
  });
});

describe("request recording", () => {
  test("records method, path, query, headers, body, json, status and the clock; never the key", async () => {
    let clock = 42;
    await withServer({ now: () => clock, users: { user_1: {} } }, async (s) => {
      await call(s, "PATCH", "/v1/users/user_1/metadata?x=1&y=2", { body: { public_metadata: { a: 1 } }, headers: { "X-Custom": "Yes" } });
      clock = 43;
      await call(s, "GET", "/v1/users/user_1", { headers: { "content-type": undefined } });
      await call(s, "PUT", "/v1/users/user_1/metadata", { body: "{oops" });
      await call(s, "GET", "/v1/users/user_1", { key: "sk_live_someoneelsesrealkey" });
      assert.equal(s.requests.length, 4);
      const [w, g, bad, wrong] = s.requests;
      assert.equal(w.method, "PATCH");
      assert.equal(w.path, "/v1/users/user_1/metadata");
      assert.equal(w.query, "x=1&y=2");
      assert.equal(w.body, '{"public_metadata":{"a":1}}');
      assert.deepEqual(w.json, { public_metadata: { a: 1 } });
      assert.equal(w.status, 200);
      assert.equal(w.at, 42);
      assert.equal(w.authorization, "valid");
      assert.equal(w.headers["x-custom"], "Yes");
      assert.equal(w.headers["clerk-api-version"], VERSION);
      assert.equal(w.headers["content-type"], "application/json");
      assert.equal(w.headers.authorization, "Bearer sk_test_…");
      assert.ok(Object.keys(w.headers).every((k) => k === k.toLowerCase()));
      assert.equal(g.body, null);
      assert.equal(g.json, undefined);
      assert.equal(g.query, "");
      assert.equal(g.at, 43);
      assert.equal(bad.body, "{oops");
      assert.equal(bad.json, undefined);
      assert.equal(bad.status, 400);
      assert.equal(wrong.authorization, "wrong-key");
      assert.equal(wrong.headers.authorization, "Bearer sk_live_…");
      const dump = JSON.stringify(s.requests);
      assert.ok(!dump.includes(s.secretKey), "the server's key is never stored");
      assert.ok(!dump.includes("someoneelsesrealkey"), "nor a wrong key");
      const held = s.requests;
      s.clearRequests();
      assert.equal(held.length, 0, "cleared in place");
      assert.equal(s.requests, held);
    });
  });

  test("short or scheme-less tokens are redacted too", async () => {
    await withServer({ secretKey: "abc123", users: { user_1: {} } }, async (s) => {
      await call(s, "GET", "/v1/users/user_1");
      await call(s, "GET", "/v1/users/user_1", { headers: { authorization: "abc123" } });
      assert.equal(s.requests[0].authorization, "valid");
      assert.equal(s.requests[0].headers.authorization, "Bearer abc…");
      assert.equal(s.requests[1].headers.authorization, "abc…");
      assert.ok(!JSON.stringify(s.requests).includes("abc123"));
    });
  });
});

describe("CORS", () => {
  test("preflight → 204 with the allow headers, not recorded", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      const res = await fetch(`${s.url}/v1/users/user_1/metadata`, {
        method: "OPTIONS",
        headers: { origin: "http://localhost:8000", "access-control-request-method": "PATCH", "access-control-request-headers": "authorization, clerk-api-version" },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.equal(res.headers.get("access-control-allow-methods"), "GET, PATCH, PUT, OPTIONS");
      assert.equal(res.headers.get("access-control-allow-headers"), "authorization, content-type, clerk-api-version, user-agent");
      assert.equal(res.headers.get("access-control-expose-headers"), "retry-after");
      assert.equal(s.requests.length, 0);
      // Error responses carry the CORS headers too, so a browser can read a 429's Retry-After.
      const r = await call(s, "GET", "/v1/users/user_1", { key: "nope" });
      assert.equal(r.res.headers.get("access-control-allow-origin"), "*");
    });
  });

  test("cors: false → no CORS headers, OPTIONS handled like any request", async () => {
    await withServer({ cors: false, users: { user_1: {} } }, async (s) => {
      const r = await call(s, "GET", "/v1/users/user_1");
      assert.equal(r.res.headers.get("access-control-allow-origin"), null);
      const o = await call(s, "OPTIONS", "/v1/users/user_1");
      assert.equal(o.status, 405);
      assert.equal(s.requests.length, 2);
    });
  });
});

describe("server object", () => {
  test("createUser, getUser (deep copy), deleteUser, reset", async () => {
    let clock = 5;
    await withServer({ now: () => clock, userWriteLimit: { requests: 1, windowMs: 1000 } }, async (s) => {
      const seed = { public_metadata: { n: { a: 1 } } };
      s.createUser("user_x", seed);
      seed.public_metadata.n.a = 2; // the server keeps its own copy
      const u = meta(s, "user_x");
      assert.deepEqual(u, { id: "user_x", public_metadata: { n: { a: 1 } }, private_metadata: {}, unsafe_metadata: {} });
      u.public_metadata.n.a = 3;
      assert.equal(meta(s, "user_x").public_metadata.n.a, 1);
      assert.equal(s.getUser("nobody"), undefined);
      assert.throws(() => s.createUser(""), TypeError);
      assert.throws(() => s.createUser("user_bad", { public_metadata: [] }), TypeError);
      assert.throws(() => s.createUser("user_bad", { private_metadata: null }), TypeError);

      assert.equal((await call(s, "PATCH", "/v1/users/user_x/metadata", { body: { public_metadata: { b: 1 } } })).status, 200);
      assert.equal((await call(s, "PATCH", "/v1/users/user_x/metadata", { body: { public_metadata: { b: 2 } } })).status, 429);
      s.injectFault({ fault: { kind: "status", status: 500 } });
      s.deleteUser("user_x");
      s.deleteUser("user_x");
      assert.equal(s.getUser("user_x"), undefined);

      s.reset({ user_y: { private_metadata: { p: 1 } } });
      assert.equal(s.requests.length, 0);
      assert.equal(s.getUser("user_x"), undefined);
      s.createUser("user_x");
      assert.equal((await call(s, "PATCH", "/v1/users/user_x/metadata", { body: { public_metadata: { b: 3 } } })).status, 200, "faults and limiter state were reset");
      assert.deepEqual(meta(s, "user_y").private_metadata, { p: 1 });
      s.reset();
      assert.equal(s.getUser("user_y"), undefined);
    });
  });

  test("close() resolves with idle keep-alive connections and pending delays", async () => {
    const s = await startLocalClerkServer({ users: { user_1: {} } });
    for (let i = 0; i < 3; i++) assert.equal((await call(s, "GET", "/v1/users/user_1")).status, 200);
    s.injectFault({ fault: { kind: "delay", ms: 60_000 } });
    const pending = fetch(`${s.url}/v1/users/user_1`, { headers: { authorization: `Bearer ${s.secretKey}` } }).then(
      () => "answered",
      () => "failed",
    );
    while (s.requests.length < 4) await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("close() hung")), 3000).unref());
    await Promise.race([s.close(), timeout]);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(await pending, "failed");
    await assert.rejects(fetch(`${s.url}/v1/users/user_1`));
  });

  test("binds an explicit port and host", async () => {
    const probe = await startLocalClerkServer();
    const port = probe.port;
    await probe.close();
    await withServer({ port, host: "127.0.0.1" }, async (s) => {
      assert.equal(s.port, port);
      assert.equal(s.url, `http://127.0.0.1:${port}`);
    });
  });
});

describe("scripts/local-server.mjs", () => {
  test("prints one JSON line, serves the seed, exits 0 on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clerk-local-"));
    const seedFile = join(dir, "seed.json");
    writeFileSync(seedFile, JSON.stringify({ user_seed: { public_metadata: { from: "seed" } } }));
    const child = spawn(process.execPath, [LAUNCHER, "--seed", seedFile, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise((resolve, reject) => {
        lines.once("line", resolve);
        child.once("exit", (code) => reject(new Error(`launcher exited ${code}`)));
      });
      const info = JSON.parse(first);
      assert.deepEqual(Object.keys(info), ["url", "secretKey"]);
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.secretKey, LOCAL_SECRET_KEY);
      const res = await fetch(`${info.url}/v1/users/user_seed`, { headers: { authorization: `Bearer ${info.secretKey}` } });
      assert.equal(res.status, 200);
      assert.deepEqual((await res.json()).public_metadata, { from: "seed" });
      const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
      child.kill("SIGTERM");
      assert.deepEqual(await exited, { code: 0, signal: null });
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  test("rejects bad arguments with exit code 2", async () => {
    const child = spawn(process.execPath, [LAUNCHER, "--port", "abc"], { stdio: ["ignore", "pipe", "pipe"] });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 2);
  });
});
