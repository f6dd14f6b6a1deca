// The mirror of Clerk users (clerk-metadata-wasm/convex): the webhook endpoint, its refusals,
// ordering, deletes, read-your-writes and the permission checks as queries and in a mutation.
// Every webhook here is signed by the local Clerk server for a change it made, and POSTed to the
// app's http router through convex-test's t.fetch (convex-test serves HTTP in-process, not on a port).
import { describe, expect, test } from "vitest";
import { newWebhookSecret, signWebhook } from "clerk-metadata-wasm/testing";
import { getUserPrivateMetadata, getUserPublicMetadata } from "clerk-metadata-wasm/convex";
import { api } from "../convex/_generated/api";
import { WEBHOOK_PATH, deliverTo, newConvex, useClerkWithWebhooks } from "./mirror-setup";
import type { TestConvex } from "./mirror-setup";

const clerk = useClerkWithWebhooks({
  user_ann: { public_metadata: { role: "customer" } },
  user_bob: { public_metadata: {} },
});

const mirrorRows = (t: TestConvex) => t.run((ctx) => ctx.db.query("clerkMirrorUsers").collect());
const perms = (t: TestConvex, userId: string, requiredPermission = "manage_store") =>
  t.query(api.permissions.checkUserPermissions, { userId, requiredPermission });

/** A webhook the test signs itself (for bodies the server never sends). */
function signed(body: string, options: { id?: string; secret?: string; ageSeconds?: number } = {}) {
  const id = options.id ?? `msg_test_${Math.random().toString(36).slice(2)}`;
  const ts = Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0);
  return {
    method: "POST",
    headers: { "content-type": "application/json", "svix-id": id, "svix-timestamp": String(ts), "svix-signature": signWebhook(options.secret ?? clerk.secret, id, ts, body) },
    body,
  };
}

describe("webhooks keep the mirror fresh", () => {
  test("a signed user.updated changes what the queries return", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    expect(await t.query(api.permissions.mirroredUser, { userId: "user_ann" })).toBeNull();
    expect(await perms(t, "user_ann")).toEqual({ hasPermission: false, userRole: "customer", allPermissions: [] });

    await clerk.client().mergeUserPublicMetadata("user_ann", { role: "store_owner", storeId: "s1", permissions: ["manage_store"] });
    await clerk.server.webhooks.settle();

    expect(clerk.server.webhooks.deliveries.map((d) => [d.type, d.attempts[0]?.status])).toEqual([["user.updated", 200]]);
    expect(await perms(t, "user_ann")).toEqual({ hasPermission: true, userRole: "store_owner", allPermissions: ["manage_store"] });
    expect(await t.query(api.permissions.verifyStoreOwner, { userId: "user_ann", storeId: "s1" })).toEqual({ isOwner: true, role: "store_owner" });
    expect(await t.query(api.permissions.verifyStoreOwner, { userId: "user_ann", storeId: "s2" })).toEqual({ isOwner: false, role: "store_owner" });
    const user = await t.query(api.permissions.mirroredUser, { userId: "user_ann" });
    expect(user?.updatedAt).toBe(JSON.parse(clerk.server.webhooks.deliveries[0]!.body).data.updated_at);
    expect(user).not.toHaveProperty("privateMetadata"); // not opted in
  });

  test("user.created adds a user; the first event of an unknown user is applied", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    clerk.server.createUser("user_new", { public_metadata: { verified: true }, private_metadata: { secret: "x" } });
    await clerk.server.webhooks.settle();
    expect(await t.query(api.permissions.isVerified, { userId: "user_new" })).toBe(true);
    expect(await t.query(api.permissions.isVerified, { userId: "user_bob" })).toBe(false);
    const rows = await mirrorRows(t);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.privateMetadata).toBeUndefined(); // private metadata never reaches the table
  });

  test("refused: unsigned, wrongly signed, stale, malformed; ignored: another event type. None changes the mirror", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    await clerk.client().mergeUserPublicMetadata("user_ann", { permissions: ["a"] });
    await clerk.server.webhooks.settle();
    const before = await mirrorRows(t);
    expect(before).toHaveLength(1);

    // A newer state of user_ann, delivered wrongly: it must not be applied.
    clerk.server.webhooks.hold(true);
    await clerk.client().mergeUserPublicMetadata("user_ann", { permissions: ["a", "b"] });
    const [newer] = clerk.server.webhooks.pending();
    expect(await clerk.server.webhooks.send(newer!, { secret: newWebhookSecret() })).toBe(401);
    expect(await clerk.server.webhooks.send(newer!, { timestampOffsetMs: -6 * 60_000 })).toBe(401);
    expect(await clerk.server.webhooks.send(newer!, { timestampOffsetMs: +6 * 60_000 })).toBe(401);

    const body = newer!.body;
    expect((await t.fetch(WEBHOOK_PATH, { method: "POST", headers: { "content-type": "application/json" }, body })).status).toBe(400);
    const noSig = signed(body);
    delete (noSig.headers as Record<string, string>)["svix-signature"];
    expect((await t.fetch(WEBHOOK_PATH, noSig)).status).toBe(400);
    // Signed, but the body was changed after signing.
    const tampered = signed(body);
    expect((await t.fetch(WEBHOOK_PATH, { ...tampered, body: body.replace('"b"', '"admin"') })).status).toBe(401);
    // Signed and fresh, but not a well-formed user event.
    for (const bad of [
      "not json",
      JSON.stringify({ hello: "world" }),
      JSON.stringify({ object: "event", type: "user.updated", data: { id: "user_ann", public_metadata: { permissions: ["x"] } } }),
      JSON.stringify({ object: "event", type: "user.updated", data: { id: "user_ann", updated_at: 9e15, public_metadata: "nope" } }),
      JSON.stringify({ object: "event", type: "user.deleted", data: { object: "user", deleted: true } }),
    ]) {
      expect((await t.fetch(WEBHOOK_PATH, signed(bad))).status, bad).toBe(400);
    }
    // Another event type, well formed and signed: acknowledged, ignored.
    const session = JSON.stringify({ object: "event", type: "session.created", data: { id: "sess_1", user_id: "user_ann" }, timestamp: Date.now() });
    expect((await t.fetch(WEBHOOK_PATH, signed(session))).status).toBe(204);

    expect(await mirrorRows(t)).toEqual(before);
    expect(await perms(t, "user_ann", "b")).toMatchObject({ hasPermission: false });
    // Delivered properly, the same event is applied.
    expect(await clerk.server.webhooks.send(newer!)).toBe(200);
    expect(await perms(t, "user_ann", "b")).toMatchObject({ hasPermission: true });
  });

  test("the signing secret unset: 500 naming the variable, nothing applied", async () => {
    const t = newConvex();
    const saved = process.env.CLERK_WEBHOOK_SIGNING_SECRET;
    delete process.env.CLERK_WEBHOOK_SIGNING_SECRET;
    try {
      const res = await t.fetch(WEBHOOK_PATH, signed(JSON.stringify({ object: "event", type: "user.created", data: {} })));
      expect(res.status).toBe(500);
      expect(await res.text()).toContain("CLERK_WEBHOOK_SIGNING_SECRET is not set");
    } finally {
      process.env.CLERK_WEBHOOK_SIGNING_SECRET = saved;
    }
    expect(await mirrorRows(t)).toEqual([]);
  });

  test("a replayed svix-id is applied once", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    await clerk.client().mergeUserPublicMetadata("user_bob", { verified: true });
    await clerk.server.webhooks.settle();
    expect(await t.query(api.permissions.isVerified, { userId: "user_bob" })).toBe(true);
    // Take the row away: if the replay were applied, it would come back.
    await t.run(async (ctx) => {
      for (const row of await ctx.db.query("clerkMirrorUsers").collect()) await ctx.db.delete(row._id);
    });
    const [delivery] = clerk.server.webhooks.deliveries;
    expect(await clerk.server.webhooks.send(delivery!)).toBe(200); // same svix-id, fresh signature
    expect(await t.query(api.permissions.isVerified, { userId: "user_bob" })).toBe(false);
    expect(await mirrorRows(t)).toEqual([]);
  });

  test("two user.updated delivered newest first leave the newest state", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t), hold: true });
    await clerk.client().mergeUserPublicMetadata("user_ann", { permissions: ["first"] });
    await clerk.client().mergeUserPublicMetadata("user_ann", { permissions: ["second"] });
    expect(await clerk.server.webhooks.flush("newest-first")).toEqual([200, 200]);
    expect(await perms(t, "user_ann", "second")).toMatchObject({ hasPermission: true, allPermissions: ["second"] });
    // And the older one again, later still: still the newest state.
    expect(await clerk.server.webhooks.send(clerk.server.webhooks.deliveries[0]!)).toBe(200);
    expect(await perms(t, "user_ann", "second")).toMatchObject({ allPermissions: ["second"] });
  });

  test("user.deleted removes the user; a late older user.updated does not bring it back", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t), hold: true });
    await clerk.client().mergeUserPublicMetadata("user_bob", { role: "admin", permissions: ["manage_users"] });
    await clerk.client().mergeUserPublicMetadata("user_bob", { verified: true });
    clerk.server.deleteUser("user_bob");
    const [, second, deleted] = clerk.server.webhooks.pending();
    expect(deleted?.type).toBe("user.deleted");
    expect(await clerk.server.webhooks.send(second!)).toBe(200);
    expect(await perms(t, "user_bob", "manage_users")).toMatchObject({ hasPermission: true });
    expect(await clerk.server.webhooks.send(deleted!)).toBe(200);
    expect(await t.query(api.permissions.mirroredUser, { userId: "user_bob" })).toBeNull();
    expect(await perms(t, "user_bob", "manage_users")).toEqual({ hasPermission: false, userRole: "customer", allPermissions: [] });
    // The first update, delivered after the deletion.
    await clerk.server.webhooks.flush();
    expect(await t.query(api.permissions.mirroredUser, { userId: "user_bob" })).toBeNull();
    const rows = await mirrorRows(t);
    expect(rows.map((r) => [r.userId, r.deleted, r.publicMetadata])).toEqual([["user_bob", true, undefined]]);
  });
});

describe("read-your-writes and permissions inside a transaction", () => {
  test("after an action's merge through clerk.client(ctx), a query sees it with no webhook", async () => {
    const t = newConvex();
    // No webhook is delivered in this test.
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t), hold: true });
    await expect(t.mutation(api.permissions.addProduct, { userId: "user_ann", storeId: "s9", name: "Lamp" })).rejects.toThrow(
      /may not manage store s9/,
    );
    await t.action(api.permissions.makeStoreOwner, { userId: "user_ann", storeId: "s9" });
    expect(clerk.server.webhooks.deliveries.every((d) => d.attempts.length === 0)).toBe(true);
    expect(await perms(t, "user_ann")).toEqual({
      hasPermission: true,
      userRole: "store_owner",
      allPermissions: ["manage_store", "view_analytics"],
    });
    const id = await t.mutation(api.permissions.addProduct, { userId: "user_ann", storeId: "s9", name: "Lamp" });
    expect(id).toBeTruthy();
    expect(await t.query(api.permissions.productCount, { storeId: "s9" })).toBe(1);
    // The held webhook, arriving late, changes nothing (same state).
    const before = await mirrorRows(t);
    expect(await clerk.server.webhooks.flush()).toEqual([200]);
    expect(await mirrorRows(t)).toEqual(before);
  });

  test("the mutation's check and write are one transaction: a revoked permission blocks the write", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    await t.action(api.permissions.makeStoreOwner, { userId: "user_bob", storeId: "s1" });
    await clerk.server.webhooks.settle();
    await t.mutation(api.permissions.addProduct, { userId: "user_bob", storeId: "s1", name: "A" });
    await clerk.client().removeUserPublicMetadataKeys("user_bob", ["permissions"]);
    await clerk.server.webhooks.settle();
    await expect(t.mutation(api.permissions.addProduct, { userId: "user_bob", storeId: "s1", name: "B" })).rejects.toThrow(/may not manage/);
    expect(await t.query(api.permissions.productCount, { storeId: "s1" })).toBe(1);
  });

  test("readers: bad user ids are refused with a clear error", async () => {
    const t = newConvex();
    await expect(perms(t, "")).rejects.toThrow(/userId must be a non-empty string/);
  });
  test("private metadata is not mirrored unless opted in: its reader says how to opt in", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    await clerk.client().private.merge("user_ann", { stripeCustomerId: "cus_1" });
    await clerk.server.webhooks.settle();
    expect(await t.run((ctx) => getUserPublicMetadata(ctx, "user_ann"))).toEqual({ role: "customer" });
    await expect(t.run((ctx) => getUserPrivateMetadata(ctx, "user_ann"))).rejects.toThrow(/opt in with ClerkUserMirror's mirrorPrivateMetadata/);
    expect(await t.run((ctx) => getUserPrivateMetadata(ctx, "user_nobody"))).toBeNull();
    expect(JSON.stringify(await mirrorRows(t))).not.toContain("cus_1");
  });
});

describe("svix-id retention", () => {
  test("each delivery prunes at most 16 ids older than the retention (7 days), and keeps recent ones", async () => {
    const t = newConvex();
    const day = 24 * 3600_000;
    await t.run(async (ctx) => {
      for (let i = 0; i < 20; i++) await ctx.db.insert("clerkMirrorWebhookEvents", { svixId: `msg_old_${i}`, receivedAt: Date.now() - 8 * day });
      await ctx.db.insert("clerkMirrorWebhookEvents", { svixId: "msg_recent", receivedAt: Date.now() - 6 * day });
    });
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    await clerk.client().mergeUserPublicMetadata("user_bob", { verified: true });
    await clerk.server.webhooks.settle();
    const ids = (await t.run((ctx) => ctx.db.query("clerkMirrorWebhookEvents").collect())).map((e) => e.svixId);
    expect(ids.filter((id) => id.startsWith("msg_old_"))).toHaveLength(4);
    expect(ids).toContain("msg_recent");
    expect(ids).toContain(clerk.server.webhooks.deliveries[0]!.id);
  });
});
