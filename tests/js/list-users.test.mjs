// client.listUsers: one page of Clerk's user list (GET /v1/users), planned and sent by the Rust
// core like every other request, against the local server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withServer, clientFor, rejection, assertClerkError } from "./package-helpers.mjs";

const users = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`user_${i}`, { public_metadata: { n: i } }]));

test("pages through every user, oldest first, with the cursor of the last user of each page", async () => {
  await withServer({ users, userWriteLimit: false }, async (s) => {
    const c = clientFor(s);
    const seen = [];
    const cursors = [];
    let cursor;
    for (;;) {
      const page = await c.listUsers(cursor === undefined ? { limit: 3 } : { limit: 3, startingAfter: cursor });
      seen.push(...page.map((u) => u.id));
      for (const user of page) assert.equal(typeof user.updated_at, "number");
      if (page.length < 3) break;
      cursor = page.at(-1).id;
      cursors.push(cursor);
    }
    assert.deepEqual(seen.sort(), Object.keys(users).sort());
    assert.equal(cursors.length, 2);
    assert.deepEqual(
      s.requests.map((r) => `${r.method} ${r.path}?${r.query}`),
      [
        "GET /v1/users?limit=3&order_by=created_at",
        ...cursors.map((id) => `GET /v1/users?limit=3&order_by=created_at&starting_after=${id}`),
      ],
    );
    assert.ok(s.requests.every((r) => r.authorization === "valid" && r.headers["clerk-api-version"] === "2026-05-12"));
  });
});

test("a bad limit or cursor is refused before anything is sent, naming it", async () => {
  await withServer({ users, userWriteLimit: false }, async (s) => {
    const c = clientFor(s);
    for (const limit of [0, 501, 2.5, "10"]) {
      assertClerkError(await rejection(c.listUsers({ limit })), { code: "invalid_argument", operation: "listUsers", message: /limit must be an integer from 1 to 500/ });
    }
    assertClerkError(await rejection(c.listUsers({ startingAfter: "user_1&limit=9" })), { code: "invalid_argument", message: /startingAfter "user_1&limit=9" contains "&"/ });
    assert.equal(s.requests.length, 0);
  });
});

test("Clerk's error and an answer that is not a list of users fail with their codes", async () => {
  await withServer({ users, userWriteLimit: false }, async (s) => {
    const c = clientFor(s, { maxRetries: 0 });
    s.injectFault({ fault: { kind: "status", status: 422 }, pathIncludes: "/v1/users" });
    assertClerkError(await rejection(c.listUsers()), { status: 422, operation: "listUsers" });
    s.injectFault({ fault: { kind: "status", status: 200, body: '{"data":[]}', headers: { "content-type": "application/json" } }, pathIncludes: "/v1/users" });
    assertClerkError(await rejection(c.listUsers()), { code: "invalid_response", message: /not a JSON array of users/ });
  });
});

test("a page larger than one user's answer may be is read whole (its limit scales with the page)", async () => {
  const big = (i, field) => ({ [field]: `${i}`.padEnd(7_000, "x") });
  const heavy = Object.fromEntries(
    Array.from({ length: 60 }, (_, i) => [
      `user_${i}`,
      { public_metadata: big(i, "a"), private_metadata: big(i, "b"), unsafe_metadata: big(i, "c") },
    ]),
  );
  await withServer({ users: heavy, userWriteLimit: false }, async (s) => {
    const page = await clientFor(s).listUsers({ limit: 60 });
    assert.equal(page.length, 60);
    assert.ok(JSON.stringify(page).length > 1024 * 1024, "the page is over the 1 MiB a single user's answer may be");
    assert.equal(page.find((u) => u.id === "user_7").public_metadata.a, "7".padEnd(7_000, "x"));
  });
});
