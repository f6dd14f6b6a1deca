// convex/examples.ts (the per-function examples of the Clerk Utilities API) through convex-test,
// against the local Clerk-compatible server.
import { convexTest } from "convex-test";
import { describe, expect, test, vi } from "vitest";
import { api } from "../convex/_generated/api";
import { modules, useLocalClerk } from "./setup";

// The documented example response of getUserPublicMetadata.
const DOCUMENTED = {
  role: "store_owner",
  preferences: { notifications: true, theme: "dark" },
  updatedAt: 1640995200000,
} as const;

const clerk = useLocalClerk({
  user_documented: { public_metadata: DOCUMENTED, private_metadata: { internal: "kept" } },
  user_verified_owner: { public_metadata: { verified: true, storeId: "store_1" } },
  user_verified: { public_metadata: { verified: false } },
  user_messy: {
    public_metadata: { role: "customer", temporaryData: { step: 2 }, oldPreferences: { theme: "light" }, debugInfo: null },
  },
  user_blank: {},
});

describe("updateUserRole (updateUserPublicMetadata)", () => {
  test("replaces the whole public metadata in one PUT", async () => {
    const t = convexTest({ modules });
    await t.action(api.examples.updateUserRole, { userId: "user_documented", role: "admin" });
    const stored = clerk.server.getUser("user_documented");
    expect(stored?.public_metadata).toEqual({ role: "admin", updatedAt: expect.any(Number) });
    expect(stored?.private_metadata).toEqual({ internal: "kept" });
    expect(clerk.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /v1/users/user_documented/metadata"]);
  });

  test("an unknown user: the documented 'Failed to update user metadata: User not found'", async () => {
    const t = convexTest({ modules });
    await expect(t.action(api.examples.updateUserRole, { userId: "user_missing", role: "admin" })).rejects.toThrow(
      "Failed to update user metadata: User not found",
    );
  });
});

describe("getUserInfo (getUserPublicMetadata)", () => {
  test("returns the documented metadata", async () => {
    const t = convexTest({ modules });
    expect(await t.action(api.examples.getUserInfo, { userId: "user_documented" })).toEqual(DOCUMENTED);
  });

  test("defaults for a user without metadata", async () => {
    const t = convexTest({ modules });
    const info = await t.action(api.examples.getUserInfo, { userId: "user_blank" });
    expect(info.role).toBe("customer");
    expect(info.preferences).toEqual({});
    expect(info.updatedAt).toBeUndefined();
  });
});

describe("updateUserPreferences (mergeUserPublicMetadata)", () => {
  test("merges: other keys stay, nested preferences merge", async () => {
    const t = convexTest({ modules });
    await t.action(api.examples.updateUserPreferences, { userId: "user_documented", preferences: { theme: "light", language: "fr" } });
    expect(clerk.server.getUser("user_documented")?.public_metadata).toEqual({
      role: "store_owner",
      updatedAt: 1640995200000,
      preferences: { notifications: true, theme: "light", language: "fr" },
      lastPreferencesUpdate: expect.any(Number),
    });
    expect(clerk.server.requests.map((r) => r.method)).toEqual(["PATCH"]);
  });
});

describe("cleanupUserMetadata (removeUserPublicMetadataKeys)", () => {
  test("removes the three keys in one request and keeps the rest", async () => {
    const t = convexTest({ modules });
    await t.action(api.examples.cleanupUserMetadata, { userId: "user_messy" });
    expect(clerk.server.getUser("user_messy")?.public_metadata).toEqual({ role: "customer" });
    expect(clerk.server.requests).toHaveLength(1);
  });

  test("keys that are absent are no error", async () => {
    const t = convexTest({ modules });
    await t.action(api.examples.cleanupUserMetadata, { userId: "user_documented" });
    expect(clerk.server.getUser("user_documented")?.public_metadata).toEqual(DOCUMENTED);
  });
});

describe("getUserRole (getUserPublicMetadataKey)", () => {
  test("the stored role, else customer", async () => {
    const t = convexTest({ modules });
    expect(await t.action(api.examples.getUserRole, { userId: "user_documented" })).toBe("store_owner");
    expect(await t.action(api.examples.getUserRole, { userId: "user_blank" })).toBe("customer");
  });

  test("an unknown user fails with the package's error", async () => {
    const t = convexTest({ modules });
    await expect(t.action(api.examples.getUserRole, { userId: "user_missing" })).rejects.toThrow(
      /^Failed to .+ user metadata: User not found$/,
    );
  });
});

describe("checkUserVerification (hasUserPublicMetadataKey)", () => {
  test("both keys present", async () => {
    const t = convexTest({ modules });
    expect(await t.action(api.examples.checkUserVerification, { userId: "user_verified_owner" })).toEqual({
      isVerified: true,
      isStoreOwner: true,
      canAccessStoreFeatures: true,
    });
  });

  test("presence, not truthiness: verified: false still counts as present", async () => {
    const t = convexTest({ modules });
    expect(await t.action(api.examples.checkUserVerification, { userId: "user_verified" })).toEqual({
      isVerified: true,
      isStoreOwner: false,
      canAccessStoreFeatures: false,
    });
  });
});

describe("resetUserMetadata (clearUserPublicMetadata)", () => {
  test("empties the public metadata and logs", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const t = convexTest({ modules });
      await t.action(api.examples.resetUserMetadata, { userId: "user_documented" });
      expect(clerk.server.getUser("user_documented")?.public_metadata).toEqual({});
      expect(clerk.server.getUser("user_documented")?.private_metadata).toEqual({ internal: "kept" });
      expect(log).toHaveBeenCalledWith("Cleared metadata for user user_documented");
    } finally {
      log.mockRestore();
    }
  });
});

describe("configuration comes from the environment at call time", () => {
  test("without CLERK_SECRET_KEY: the documented 'Missing CLERK_SECRET_KEY', nothing sent", async () => {
    const saved = process.env.CLERK_SECRET_KEY;
    delete process.env.CLERK_SECRET_KEY;
    try {
      const t = convexTest({ modules });
      await expect(t.action(api.examples.updateUserRole, { userId: "user_documented", role: "admin" })).rejects.toThrow(
        "Failed to update user metadata: Missing CLERK_SECRET_KEY",
      );
      expect(clerk.server.requests).toEqual([]);
    } finally {
      process.env.CLERK_SECRET_KEY = saved;
    }
    // Set again, the next call works without re-importing anything.
    const t = convexTest({ modules });
    expect(await t.action(api.examples.getUserRole, { userId: "user_documented" })).toBe("store_owner");
  });
});
