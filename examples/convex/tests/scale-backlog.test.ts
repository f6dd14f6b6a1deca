// The shared limits when the instance limit is the bottleneck: a hot user's writes must not
// bunch up behind the instance queue and pass Clerk's per-user limit.
import { expect, test } from "vitest";
import { api } from "../convex/_generated/api";
import { busiestWindow, newConvex, useLocalClerk } from "./setup";

// A tight instance window on both sides (the example's ClerkConvex reads this variable).
process.env.CLERK_INSTANCE_LIMIT = "20";
const others = Array.from({ length: 12 }, (_, i) => `user_other_${i}`);
const clerk = useLocalClerk(
  { user_hot: {}, ...Object.fromEntries(others.map((id) => [id, {}])) },
  { instanceLimit: { requests: 20, windowMs: 10_000 } },
);


test(
  "12 writes to one user and 12 to others behind a 20-per-10-s instance limit: neither limit is passed, no 429, nothing lost",
  async () => {
    const t = newConvex();
    await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => t.action(api.scale.grantPermission, { userId: "user_hot", permission: `p${i}` })),
      ...others.map((userId) => t.action(api.scale.grantPermission, { userId, permission: "read" })),
    ]);
    const requests = clerk.server.requests;
    expect(requests.filter((r) => r.status === 429)).toEqual([]);
    expect(busiestWindow(requests.map((r) => r.at), 10_000)).toBeLessThanOrEqual(20);
    const hot = requests.filter((r) => r.path === "/v1/users/user_hot/metadata");
    expect(hot).toHaveLength(12);
    expect(busiestWindow(hot.map((r) => r.at), 10_000)).toBeLessThanOrEqual(10);
    const stored = clerk.server.getUser("user_hot")?.public_metadata ?? {};
    for (let i = 0; i < 12; i++) expect(stored[`can_p${i}`]).toBe(true);
  },
  90_000,
);
