"use node";
// The Clerk Utilities API's per-function examples (setUserRole, the setUserPublicMetadataKey
// example, lives in users.ts), unchanged except for the import path and updateUserRole's `role`
// validator (a union of the app's roles, as the typed metadata requires).
import { v } from "convex/values";
import { action } from "./_generated/server";
import {
  updateUserPublicMetadata,
  getUserPublicMetadata,
  mergeUserPublicMetadata,
  removeUserPublicMetadataKeys,
  getUserPublicMetadataKey,
  hasUserPublicMetadataKey,
  clearUserPublicMetadata,
} from "./utils/clerk";

// Update User Public Metadata (replaces existing metadata)
export const updateUserRole = action({
  // The seed took any string; the typed metadata (clerkMetadata.d.ts) takes only the app's roles.
  args: { userId: v.string(), role: v.union(v.literal("customer"), v.literal("store_owner"), v.literal("admin")) },
  handler: async (ctx, args) => {
    await updateUserPublicMetadata(args.userId, {
      role: args.role,
      updatedAt: Date.now(),
    });
  },
});

// Get User Public Metadata
export const getUserInfo = action({
  args: { userId: v.string() },
  handler: async (ctx, args) => {
    const metadata = await getUserPublicMetadata(args.userId);
    return {
      role: metadata?.role || "customer",
      preferences: metadata?.preferences || {},
      updatedAt: metadata?.updatedAt,
    };
  },
});

// Merge User Public Metadata (preserves existing values)
export const updateUserPreferences = action({
  args: { userId: v.string(), preferences: v.any() },
  handler: async (ctx, args) => {
    await mergeUserPublicMetadata(args.userId, {
      preferences: args.preferences,
      lastPreferencesUpdate: Date.now(),
    });
  },
});

// Remove User Public Metadata Keys
export const cleanupUserMetadata = action({
  args: { userId: v.string() },
  handler: async (ctx, args) => {
    await removeUserPublicMetadataKeys(args.userId, ["temporaryData", "oldPreferences", "debugInfo"]);
  },
});

// Get User Public Metadata Key
export const getUserRole = action({
  args: { userId: v.string() },
  handler: async (ctx, args) => {
    const role = await getUserPublicMetadataKey(args.userId, "role");
    return role || "customer";
  },
});

// Has User Public Metadata Key
export const checkUserVerification = action({
  args: { userId: v.string() },
  handler: async (ctx, args) => {
    const isVerified = await hasUserPublicMetadataKey(args.userId, "verified");
    const isStoreOwner = await hasUserPublicMetadataKey(args.userId, "storeId");

    return {
      isVerified,
      isStoreOwner,
      canAccessStoreFeatures: isVerified && isStoreOwner,
    };
  },
});

// Clear User Public Metadata
export const resetUserMetadata = action({
  args: { userId: v.string() },
  handler: async (ctx, args) => {
    await clearUserPublicMetadata(args.userId);
    console.log(`Cleared metadata for user ${args.userId}`);
  },
});
