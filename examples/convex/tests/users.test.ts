// convex/users.ts (the "Complete User Management Example") through convex-test, against the
// local Clerk-compatible server.
import { convexTest } from "convex-test";
import { describe, expect, test } from "vitest";
import { api } from "../convex/_generated/api";
import { modules, useLocalClerk } from "./setup";

// One user per test that writes: the package paces writes per user (Clerk allows 10 per 10 s).
const clerk = useLocalClerk({
  user_new_owner: { public_metadata: { onboarding: "done" }, private_metadata: { stripeCustomerId: "cus_1" } },
  user_new_admin: { public_metadata: {} },
  user_customer: { public_metadata: { role: "customer" } },
  user_owner: {
    public_metadata: { role: "store_owner", storeId: "store_1", permissions: ["manage_store", "view_analytics"] },
  },
  user_blank: {},
  user_flow: {},
});

const STORE_OWNER_PERMISSIONS = ["manage_store", "view_analytics"];
const ADMIN_PERMISSIONS = ["manage_platform", "view_all_data", "manage_users"];

describe("setUserRole", () => {
  test("store_owner: sets the role, then merges the store owner's permissions", async () => {
    const t = convexTest({ modules });
    const before = Date.now();
    await t.action(api.users.setUserRole, { userId: "user_new_owner", role: "store_owner" });

    const stored = clerk.server.getUser("user_new_owner");
    expect(stored?.public_metadata).toEqual({
      onboarding: "done", // merged, not replaced
      role: "store_owner",
      permissions: STORE_OWNER_PERMISSIONS,
      roleAssignedAt: expect.any(Number),
    });
    expect(stored?.public_metadata.roleAssignedAt).toBeGreaterThanOrEqual(before);
    expect(stored?.private_metadata).toEqual({ stripeCustomerId: "cus_1" });

    // setUserPublicMetadataKey, then mergeUserPublicMetadata: two PATCHes with the env's key.
    expect(clerk.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "PATCH /v1/users/user_new_owner/metadata",
      "PATCH /v1/users/user_new_owner/metadata",
    ]);
    expect(clerk.server.requests.every((r) => r.authorization === "valid")).toBe(true);
    expect(clerk.server.requests[0]?.json).toEqual({ public_metadata: { role: "store_owner" } });
  });

  test("admin: gets the platform permissions", async () => {
    const t = convexTest({ modules });
    await t.action(api.users.setUserRole, { userId: "user_new_admin", role: "admin" });
    expect(clerk.server.getUser("user_new_admin")?.public_metadata).toEqual({
      role: "admin",
      permissions: ADMIN_PERMISSIONS,
      roleAssignedAt: expect.any(Number),
    });
  });

  test("customer: sets the role only", async () => {
    const t = convexTest({ modules });
    await t.action(api.users.setUserRole, { userId: "user_blank", role: "customer" });
    expect(clerk.server.getUser("user_blank")?.public_metadata).toEqual({ role: "customer" });
    expect(clerk.server.requests).toHaveLength(1);
  });

  test("a role outside the union is refused by the validator before any request", async () => {
    const t = convexTest({ modules });
    await expect(
      // @ts-expect-error: "superuser" is not one of the roles
      t.action(api.users.setUserRole, { userId: "user_blank", role: "superuser" }),
    ).rejects.toThrow(/superuser/);
    expect(clerk.server.requests).toEqual([]);
  });

  test("an unknown user fails with the package's error", async () => {
    const t = convexTest({ modules });
    await expect(t.action(api.users.setUserRole, { userId: "user_missing", role: "admin" })).rejects.toThrow(
      "Failed to set key in user metadata: User not found",
    );
    expect(clerk.server.getUser("user_missing")).toBeUndefined();
  });
});

describe("checkUserPermissions", () => {
  test("a store owner has the store permissions, not the admin ones", async () => {
    const t = convexTest({ modules });
    expect(await t.action(api.users.checkUserPermissions, { userId: "user_owner", requiredPermission: "manage_store" })).toEqual({
      hasPermission: true,
      userRole: "store_owner",
      allPermissions: STORE_OWNER_PERMISSIONS,
    });
    const denied = await t.action(api.users.checkUserPermissions, { userId: "user_owner", requiredPermission: "manage_users" });
    expect(denied.hasPermission).toBe(false);
    // Reads only.
    expect(clerk.server.requests.map((r) => r.method)).toEqual(["GET", "GET"]);
  });

  test("a user without metadata is a customer with no permissions", async () => {
    const t = convexTest({ modules });
    expect(await t.action(api.users.checkUserPermissions, { userId: "user_blank", requiredPermission: "manage_store" })).toEqual({
      hasPermission: false,
      userRole: "customer",
      allPermissions: [],
    });
  });

  test("an unknown user fails with the package's error", async () => {
    const t = convexTest({ modules });
    await expect(
      t.action(api.users.checkUserPermissions, { userId: "user_missing", requiredPermission: "manage_store" }),
    ).rejects.toThrow("Failed to get user metadata: User not found");
  });
});

describe("verifyStoreOwner", () => {
  test("the owner of the store is verified", async () => {
    const t = convexTest({ modules });
    expect(await t.action(api.users.verifyStoreOwner, { userId: "user_owner", storeId: "store_1" })).toEqual({
      verified: true,
      storeId: "store_1",
      role: "store_owner",
    });
  });

  test("another store: User does not own this store", async () => {
    const t = convexTest({ modules });
    await expect(t.action(api.users.verifyStoreOwner, { userId: "user_owner", storeId: "store_2" })).rejects.toThrow(
      "User does not own this store",
    );
  });

  test("no storeId: User is not a store owner", async () => {
    const t = convexTest({ modules });
    await expect(t.action(api.users.verifyStoreOwner, { userId: "user_customer", storeId: "store_1" })).rejects.toThrow(
      "User is not a store owner",
    );
  });

  test("an unknown user fails with the package's error, not the store checks", async () => {
    const t = convexTest({ modules });
    const failure = t.action(api.users.verifyStoreOwner, { userId: "user_missing", storeId: "store_1" });
    await expect(failure).rejects.toThrow(/^Failed to .+ user metadata: User not found$/);
    await expect(failure).rejects.toThrow("Failed to check key in user metadata: User not found");
  });
});

test("the whole flow: a customer becomes a store owner with a store, then an admin", async () => {
  const t = convexTest({ modules });
  const userId = "user_flow";
  await t.action(api.users.setUserRole, { userId, role: "customer" });
  await expect(t.action(api.users.verifyStoreOwner, { userId, storeId: "store_9" })).rejects.toThrow("User is not a store owner");

  await t.action(api.users.setUserRole, { userId, role: "store_owner" });
  await t.action(api.examples.updateUserPreferences, { userId, preferences: { theme: "dark" } });
  // The store itself would be created elsewhere in the app; record its id on the user.
  clerk.server.createUser(userId, { public_metadata: { ...clerk.server.getUser(userId)?.public_metadata, storeId: "store_9" } });
  expect(await t.action(api.users.verifyStoreOwner, { userId, storeId: "store_9" })).toEqual({
    verified: true,
    storeId: "store_9",
    role: "store_owner",
  });
  expect(await t.action(api.users.checkUserPermissions, { userId, requiredPermission: "view_analytics" })).toMatchObject({
    hasPermission: true,
    userRole: "store_owner",
  });

  await t.action(api.users.setUserRole, { userId, role: "admin" });
  const asAdmin = await t.action(api.users.checkUserPermissions, { userId, requiredPermission: "manage_users" });
  expect(asAdmin).toEqual({ hasPermission: true, userRole: "admin", allPermissions: ADMIN_PERMISSIONS });
  // Every request carried the key from process.env.
  expect(clerk.server.requests.length).toBeGreaterThan(0);
  expect(clerk.server.requests.every((r) => r.authorization === "valid")).toBe(true);
});
