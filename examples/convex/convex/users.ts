"use node";
// The Clerk Utilities API's "Complete User Management Example", unchanged except for the import
// path: ./utils/clerk now re-exports clerk-metadata-wasm.
import { v } from "convex/values";
import { action } from "./_generated/server";
import {
  getUserPublicMetadata,
  setUserPublicMetadataKey,
  hasUserPublicMetadataKey,
  mergeUserPublicMetadata,
} from "./utils/clerk";

// Set user role
export const setUserRole = action({
  args: {
    userId: v.string(),
    role: v.union(v.literal("customer"), v.literal("store_owner"), v.literal("admin")),
  },
  handler: async (ctx, args) => {
    await setUserPublicMetadataKey(args.userId, "role", args.role);

    // Set role-specific metadata
    if (args.role === "store_owner") {
      await mergeUserPublicMetadata(args.userId, {
        permissions: ["manage_store", "view_analytics"],
        roleAssignedAt: Date.now(),
      });
    } else if (args.role === "admin") {
      await mergeUserPublicMetadata(args.userId, {
        permissions: ["manage_platform", "view_all_data", "manage_users"],
        roleAssignedAt: Date.now(),
      });
    }
  },
});

// Check user permissions
export const checkUserPermissions = action({
  args: { userId: v.string(), requiredPermission: v.string() },
  handler: async (ctx, args) => {
    const metadata = await getUserPublicMetadata(args.userId);
    const permissions = metadata?.permissions || [];

    return {
      hasPermission: permissions.includes(args.requiredPermission),
      userRole: metadata?.role || "customer",
      allPermissions: permissions,
    };
  },
});

// Verify store owner
export const verifyStoreOwner = action({
  args: { userId: v.string(), storeId: v.string() },
  handler: async (ctx, args) => {
    const isStoreOwner = await hasUserPublicMetadataKey(args.userId, "storeId");
    const metadata = await getUserPublicMetadata(args.userId);

    if (!isStoreOwner) {
      throw new Error("User is not a store owner");
    }

    const userStoreId = metadata?.storeId;
    if (userStoreId !== args.storeId) {
      throw new Error("User does not own this store");
    }

    return {
      verified: true,
      storeId: userStoreId,
      role: metadata?.role,
    };
  },
});
