// The mirror's backfill: Clerk's paginated user list into the mirror, as a workpool job, while
// webhooks for changes made during it arrive. The changes are made after a page was read and
// before it is applied (the hard case: the page holds older states than the webhooks bring).
import { afterEach, describe, expect, test, vi } from "vitest";
import type { LocalUserSeed } from "clerk-metadata-wasm/testing";
import { api, internal } from "../convex/_generated/api";
import { deliverTo, newConvex, useClerkWithWebhooks } from "./mirror-setup";

const SEEDED = 500;
const seeds: Record<string, LocalUserSeed> = Object.fromEntries(
  Array.from({ length: SEEDED }, (_, i) => {
    const id = `user_${String(i).padStart(4, "0")}`;
    return [id, { public_metadata: { n: i, role: i % 7 === 0 ? "admin" : "customer" }, private_metadata: { stripe: `cus_${i}` } }];
  }),
);
const clerk = useClerkWithWebhooks(seeds);
const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Every user the server holds now, read through its own list route. */
async function serverUsers(): Promise<Map<string, unknown>> {
  const all = new Map<string, unknown>();
  let cursor: string | null = null;
  for (;;) {
    const query = new URLSearchParams({ limit: "500", order_by: "created_at", ...(cursor ? { starting_after: cursor } : {}) });
    const res = await realFetch(`${clerk.server.url}/v1/users?${query}`, { headers: { authorization: `Bearer ${clerk.server.secretKey}` } });
    const page = (await res.json()) as { id: string; public_metadata: unknown }[];
    for (const u of page) all.set(u.id, u.public_metadata);
    if (page.length < 500) return all;
    cursor = page.at(-1)!.id;
  }
}

describe("backfill", () => {
  test("500 users, webhooks arriving during it: the mirror ends equal to the server's state", async () => {
    const t = newConvex();
    clerk.server.webhooks.configure({ secret: clerk.secret, send: deliverTo(t) });
    const writer = clerk.client();
    let pages = 0;
    const deletedIds: string[] = [];
    // The list requests the backfill sends: each page is read from the server first, then the
    // changes are made and their webhooks applied, then the (now stale) page is handed back.
    globalThis.fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (!url.includes("/v1/users?")) return realFetch(input, init);
      const page = await realFetch(input, init);
      const text = await page.text();
      pages += 1;
      const ids = (JSON.parse(text) as { id: string }[]).map((u) => u.id);
      if (ids.length > 0) {
        const [first, second, third] = ids;
        await writer.mergeUserPublicMetadata(first!, { role: "store_owner", roleAssignedAt: pages });
        await writer.mergeUserPublicMetadata(first!, { permissions: ["manage_store"] });
        await writer.removeUserPublicMetadataKeys(second!, ["role"]);
        clerk.server.deleteUser(third!);
        deletedIds.push(third!);
        clerk.server.createUser(`user_late_${pages}`, { public_metadata: { verified: true, roleAssignedAt: pages } });
        await clerk.server.webhooks.settle();
      }
      return new Response(text, { status: page.status, headers: page.headers });
    };

    const backfillId = await t.mutation(internal.permissions.startBackfill, { pageSize: 100 });
    await vi.waitFor(
      async () => {
        const progress = await t.query(api.permissions.backfillProgress, { backfillId });
        expect(progress.status).toBe("done");
      },
      { timeout: 30_000, interval: 50 },
    );
    await clerk.server.webhooks.settle();

    const progress = await t.query(api.permissions.backfillProgress, { backfillId });
    // 500 seeded + one user created per page, less the deleted ones, read in pages of 100.
    expect(progress.pages).toBeGreaterThanOrEqual(6);
    expect(progress.users).toBeGreaterThanOrEqual(SEEDED);
    expect(progress.applied).toBeLessThan(progress.users); // stale page states were skipped
    expect(clerk.server.webhooks.deliveries.every((d) => d.attempts.every((a) => a.status === 200))).toBe(true);
    // Every list request was a spec-shaped GetUserList call with the API version header.
    const lists = clerk.server.requests.filter((r) => r.path === "/v1/users");
    expect(lists.length).toBe(progress.pages);
    for (const r of lists) {
      expect(r.headers["clerk-api-version"]).toBe("2026-05-12");
      expect(r.authorization).toBe("valid");
      const q = new URLSearchParams(r.query);
      expect(q.get("limit")).toBe("100");
      expect(q.get("order_by")).toBe("created_at");
      expect([...q.keys()].every((k) => ["limit", "order_by", "starting_after"].includes(k))).toBe(true);
    }

    const server = await serverUsers();
    const rows = await t.run((ctx) => ctx.db.query("clerkMirrorUsers").collect());
    const live = rows.filter((r) => !r.deleted);
    expect(new Set(live.map((r) => r.userId))).toEqual(new Set(server.keys()));
    for (const row of live) expect(JSON.parse(row.publicMetadata!), row.userId).toEqual(server.get(row.userId));
    // The users deleted during the backfill are tombstones (no metadata), none revived by a stale page.
    expect(rows.filter((r) => r.deleted).map((r) => r.userId).sort()).toEqual(deletedIds.sort());
    expect(rows.filter((r) => r.deleted).every((r) => r.publicMetadata === undefined)).toBe(true);
    // Each non-empty page created one user and deleted one.
    expect(deletedIds.length).toBeGreaterThanOrEqual(6);
    expect(server.size).toBe(SEEDED);
    // Private metadata was never mirrored (not opted in).
    expect(rows.every((r) => r.privateMetadata === undefined)).toBe(true);
    // Spot checks through the app's queries.
    const owner = live.find((r) => JSON.parse(r.publicMetadata!).role === "store_owner")!;
    expect(await t.query(api.permissions.checkUserPermissions, { userId: owner.userId, requiredPermission: "manage_store" })).toMatchObject({
      hasPermission: true,
    });
  }, 60_000);

  test("a failing list request fails the backfill with Clerk's error, never the key", async () => {
    const t = newConvex();
    clerk.server.injectFault({ fault: { kind: "status", status: 401 }, pathIncludes: "/v1/users", times: 100 });
    const backfillId = await t.mutation(internal.permissions.startBackfill, {});
    await vi.waitFor(
      async () => expect((await t.query(api.permissions.backfillProgress, { backfillId })).status).toBe("failed"),
      { timeout: 30_000, interval: 50 },
    );
    const progress = await t.query(api.permissions.backfillProgress, { backfillId });
    expect(progress.error).toContain("Failed to list users: Clerk rejected CLERK_SECRET_KEY (clerk_key_invalid)");
    expect(progress.error).not.toContain(clerk.server.secretKey);
    expect(progress.pages).toBe(0);
  }, 60_000);

  test("pageSize outside Clerk's 1–500 is refused before anything is sent", async () => {
    const t = newConvex();
    await expect(t.mutation(internal.permissions.startBackfill, { pageSize: 501 })).rejects.toThrow(/pageSize must be an integer from 1 to 500/);
    expect(clerk.server.requests).toHaveLength(0);
  });
});
