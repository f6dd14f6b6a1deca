// The local server's webhooks (Svix / Standard Webhooks, as Clerk sends them) and GET /v1/users.
// Run: node --test tests/js/testing-webhooks.test.mjs   (build first: node scripts/build.mjs --skip-wasm)
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { pkg, testing, withServer } from "./package-helpers.mjs";

const { newWebhookSecret, signWebhook } = testing;
const { createClerkMetadataClient } = pkg;

/** Verifies as a receiver would: standardwebhooks, with Svix's header names. */
function verify(secret, headers, body) {
  return new Webhook(secret).verify(body, {
    "webhook-id": headers["svix-id"],
    "webhook-timestamp": headers["svix-timestamp"],
    "webhook-signature": headers["svix-signature"],
  });
}

/** A receiver on a real port that records what it gets. */
async function receiver(status = 204) {
  const got = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { got, url: `http://127.0.0.1:${server.address().port}/hook`, close: () => new Promise((r) => server.close(r)) };
}

describe("local server webhooks", () => {
  test("API writes, createUser and deleteUser POST signed user events that standardwebhooks accepts", async () => {
    const hook = await receiver();
    const secret = newWebhookSecret();
    try {
      await withServer({ users: { user_1: {} }, webhooks: { url: hook.url, secret } }, async (s) => {
        const clerk = createClerkMetadataClient({ secretKey: s.secretKey, apiUrl: s.url, rateLimit: false });
        await clerk.mergeUserPublicMetadata("user_1", { role: "admin" });
        s.createUser("user_2", { public_metadata: { n: 1 } });
        s.deleteUser("user_2");
        await s.webhooks.settle();
        assert.deepEqual(s.webhooks.deliveries.map((d) => [d.type, d.userId, d.attempts[0].status]), [
          ["user.updated", "user_1", 204],
          ["user.created", "user_2", 204],
          ["user.deleted", "user_2", 204],
        ]);
        const events = hook.got.map((g) => verify(secret, g.headers, g.body));
        assert.equal(events[0].object, "event");
        assert.equal(events[0].type, "user.updated");
        assert.deepEqual(events[0].data.public_metadata, { role: "admin" });
        assert.equal(typeof events[0].data.updated_at, "number");
        assert.equal(typeof events[0].timestamp, "number");
        assert.deepEqual(events[2].data, { id: "user_2", object: "user", deleted: true });
        assert.equal(hook.got[0].headers["svix-id"], s.webhooks.deliveries[0].id);
        // A wrong secret does not verify.
        assert.throws(() => verify(newWebhookSecret(), hook.got[0].headers, hook.got[0].body));
      });
    } finally {
      await hook.close();
    }
  });

  test("held deliveries: sent newest first, sent twice with one svix-id, stale and wrongly signed on demand", async () => {
    const secret = newWebhookSecret();
    const seen = [];
    const send = async (req) => {
      seen.push({ headers: Object.fromEntries(req.headers), body: await req.text() });
      return new Response(null, { status: 200 });
    };
    await withServer({ users: { user_1: {} } }, async (s) => {
      s.webhooks.configure({ secret, send, hold: true });
      const clerk = createClerkMetadataClient({ secretKey: s.secretKey, apiUrl: s.url, rateLimit: false });
      await clerk.mergeUserPublicMetadata("user_1", { step: 1 });
      await clerk.mergeUserPublicMetadata("user_1", { step: 2 });
      assert.equal(seen.length, 0);
      assert.equal(s.webhooks.pending().length, 2);
      assert.deepEqual(await s.webhooks.flush("newest-first"), [200, 200]);
      const steps = seen.map((x) => JSON.parse(x.body).data.public_metadata.step);
      assert.deepEqual(steps, [2, 1]);
      const [a, b] = seen.map((x) => JSON.parse(x.body).data.updated_at);
      assert.ok(a > b, "the newer state has the larger updated_at");
      const first = s.webhooks.deliveries[0];
      await s.webhooks.send(first);
      assert.equal(seen[2].headers["svix-id"], seen[1].headers["svix-id"]);
      await s.webhooks.send(first, { timestampOffsetMs: -10 * 60_000 });
      assert.ok(Number(seen[3].headers["svix-timestamp"]) <= Date.now() / 1000 - 590);
      await s.webhooks.send(first, { secret: newWebhookSecret() });
      assert.throws(() => verify(secret, seen[4].headers, seen[4].body));
      assert.equal(first.attempts.length, 4);
      // signWebhook matches what the server sends.
      const h = seen[1].headers;
      assert.equal(signWebhook(secret, h["svix-id"], Number(h["svix-timestamp"]), seen[1].body), h["svix-signature"]);
    });
  });

  test("configuration errors are TypeErrors that never quote the secret", async () => {
    await withServer({}, async (s) => {
      assert.throws(() => s.webhooks.configure({ secret: "whsec_bad!", url: "http://x" }), (e) => e instanceof TypeError && !e.message.includes("bad!"));
      assert.throws(() => s.webhooks.configure({ secret: newWebhookSecret() }), /url or a send/);
      assert.throws(() => s.webhooks.configure({ secret: newWebhookSecret(), url: "ftp://x" }), /http/);
    });
  });
});

describe("GET /v1/users", () => {
  const get = (s, query) =>
    fetch(`${s.url}/v1/users${query}`, { headers: { authorization: `Bearer ${s.secretKey}`, "clerk-api-version": "2026-05-12" } });

  test("limit, offset, order_by and the starting_after cursor; a deleted cursor user still works", async () => {
    let t = 1000;
    await withServer({ now: () => t }, async (s) => {
      for (let i = 0; i < 7; i++) {
        t += 1;
        s.createUser(`user_${i}`, { public_metadata: { i } });
      }
      const ids = async (q) => (await (await get(s, q)).json()).map((u) => u.id);
      assert.deepEqual(await ids(""), ["user_6", "user_5", "user_4", "user_3", "user_2", "user_1", "user_0"]);
      assert.deepEqual(await ids("?limit=2&offset=1"), ["user_5", "user_4"]);
      assert.deepEqual(await ids("?order_by=created_at&limit=3"), ["user_0", "user_1", "user_2"]);
      assert.deepEqual(await ids("?order_by=%2Bcreated_at&limit=3&starting_after=user_2"), ["user_3", "user_4", "user_5"]);
      s.deleteUser("user_2");
      assert.deepEqual(await ids("?order_by=created_at&limit=3&starting_after=user_2"), ["user_3", "user_4", "user_5"]);
      assert.deepEqual(await ids("?limit=2&starting_after=user_4"), ["user_3", "user_1"]);
      assert.deepEqual(await ids("?user_id=user_1&user_id=user_3"), ["user_3", "user_1"]);
      const body = await (await get(s, "?limit=1")).json();
      assert.deepEqual(body[0].public_metadata, { i: 6 });
    });
  });

  test("bad parameters are 422 form_param_value_invalid", async () => {
    await withServer({ users: { user_1: {} } }, async (s) => {
      for (const q of ["?limit=0", "?limit=501", "?limit=x", "?offset=-1", "?order_by=shoe_size", "?order_by=username&starting_after=user_1", "?offset=2&starting_after=user_1", "?starting_after=user_nobody"]) {
        const res = await get(s, q);
        assert.equal(res.status, 422, q);
        assert.equal((await res.json()).errors[0].code, "form_param_value_invalid", q);
      }
      assert.equal((await fetch(`${s.url}/v1/users`)).status, 401);
    });
  });
});
