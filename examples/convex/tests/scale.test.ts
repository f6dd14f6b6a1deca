// clerk-metadata-wasm/convex at scale, through convex-test with both components registered, against
// the local Clerk-compatible server: Clerk's limits shared by concurrent actions, and bulk jobs.
import { createClerkMetadataClient } from "clerk-metadata-wasm";
import { describe, expect, test } from "vitest";
import { api } from "../convex/_generated/api";
import { busiestWindow, newConvex, useLocalClerk } from "./setup";

const clerk = useLocalClerk({ user_hot: { public_metadata: { plan: "pro" } }, user_prefs: {} });

describe("Clerk's limits shared across actions (@convex-dev/rate-limiter)", () => {
  test(
    "20 concurrent actions writing to one user: at most 10 writes arrive in any 10 s, no 429, nothing lost",
    async () => {
      const t = newConvex();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => t.action(api.scale.grantPermission, { userId: "user_hot", permission: `p${i}` })),
      );
      const writes = clerk.server.requests.filter((r) => r.method === "PATCH");
      expect(writes).toHaveLength(20);
      expect(clerk.server.requests.filter((r) => r.status === 429)).toEqual([]);
      expect(busiestWindow(writes.map((r) => r.at), 10_000)).toBeLessThanOrEqual(10);
      const stored = clerk.server.getUser("user_hot")?.public_metadata ?? {};
      expect(stored.plan).toBe("pro");
      for (let i = 0; i < 20; i++) expect(stored[`can_p${i}`]).toBe(true);
    },
    60_000,
  );

  test(
    "exact sets from concurrent actions hold the user: the result is exactly one of the values set",
    async () => {
      const t = newConvex();
      // Slow reads widen the window between an exact set's read and its patch.
      clerk.server.injectFault({ fault: { kind: "delay", ms: 150 }, method: "GET", times: 6 });
      const values = Array.from({ length: 6 }, (_, i) => ({ [`k${i}`]: String(i) }));
      await Promise.all(values.map((preferences) => t.action(api.scale.setPreferences, { userId: "user_prefs", preferences })));
      const stored = clerk.server.getUser("user_prefs")?.public_metadata.preferences;
      expect(values).toContainEqual(stored);
      // Each exact set read, then patched, with no other request to that user in between.
      const sequence = clerk.server.requests.map((r) => r.method);
      expect(sequence).toEqual(Array.from({ length: 6 }, () => ["GET", "PATCH"]).flat());
    },
    60_000,
  );

  test("the contrast: 20 separate clients, each with only its own limiter, do meet 429s", async () => {
    const clients = Array.from({ length: 20 }, () => createClerkMetadataClient({ maxRetries: 0 }));
    const outcomes = await Promise.allSettled(clients.map((c, i) => c.mergeUserPublicMetadata("user_hot", { [`q${i}`]: true })));
    expect(clerk.server.requests.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status === "rejected").length).toBeGreaterThan(0);
  });

  test("the contrast: exact sets from separate clients without a shared lock interleave their reads and patches", async () => {
    clerk.server.injectFault({ fault: { kind: "delay", ms: 150 }, method: "GET", times: 6 });
    const clients = Array.from({ length: 6 }, () => createClerkMetadataClient());
    await Promise.all(clients.map((c, i) => c.setUserPublicMetadataKey("user_prefs", "preferences", { [`k${i}`]: String(i) })));
    const sequence = clerk.server.requests.map((r) => r.method);
    expect(sequence).not.toEqual(Array.from({ length: 6 }, () => ["GET", "PATCH"]).flat());
  });
});

