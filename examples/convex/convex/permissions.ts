// The seed's role-based access control (checkUserPermissions, verifyStoreOwner) as queries over
// the mirror: reactive, no request to Clerk, usable inside a mutation's transaction. Next to them,
// the action that writes roles through a client that updates the mirror before it returns.
import { v } from "convex/values";
import { action, internalMutation, mutation, query } from "./_generated/server";
import {
  getUserPublicMetadata,
  getUserPublicMetadataKey,
  hasUserPublicMetadataKey,
  getMirroredUser,
} from "clerk-metadata-wasm/convex";
import { clerk, mirror } from "./clerkJobs";

export const checkUserPermissions = query({
  args: { userId: v.string(), requiredPermission: v.string() },
  handler: async (ctx, args) => {
    const metadata = await getUserPublicMetadata(ctx, args.userId);
    const permissions = metadata?.permissions || [];
    return {
      hasPermission: permissions.includes(args.requiredPermission),
      userRole: metadata?.role || "customer",
      allPermissions: permissions,
    };
  },
});

export const verifyStoreOwner = query({
  args: { userId: v.string(), storeId: v.string() },
  handler: async (ctx, args) => {
    const role = await getUserPublicMetadataKey(ctx, args.userId, "role");
    const storeId = await getUserPublicMetadataKey(ctx, args.userId, "storeId");
    return { isOwner: role === "store_owner" && storeId === args.storeId, role: role ?? null };
  },
});

export const isVerified = query({
  args: { userId: v.string() },
  handler: (ctx, args) => hasUserPublicMetadataKey(ctx, args.userId, "verified"),
});

export const mirroredUser = query({
  args: { userId: v.string() },
  handler: (ctx, args) => getMirroredUser(ctx, args.userId),
});

/** A permission checked inside the transaction that depends on it: no window between check and write. */
export const addProduct = mutation({
  args: { userId: v.string(), storeId: v.string(), name: v.string() },
  handler: async (ctx, args) => {
    const metadata = await getUserPublicMetadata(ctx, args.userId);
    if (!metadata?.permissions?.includes("manage_store") || metadata.storeId !== args.storeId) {
      throw new Error(`user ${args.userId} may not manage store ${args.storeId}`);
    }
    return await ctx.db.insert("products", { storeId: args.storeId, name: args.name, createdBy: args.userId });
  },
});

export const productCount = query({
  args: { storeId: v.string() },
  handler: async (ctx, args) => (await ctx.db.query("products").withIndex("by_store", (q) => q.eq("storeId", args.storeId)).collect()).length,
});

/** The seed's setUserRole for a store owner, through the mirror-fed client: a query run after it sees the role. */
export const makeStoreOwner = action({
  args: { userId: v.string(), storeId: v.string() },
  handler: async (ctx, args) => {
    await clerk.client(ctx).mergeUserPublicMetadata(args.userId, {
      role: "store_owner",
      storeId: args.storeId,
      permissions: ["manage_store", "view_analytics"],
      roleAssignedAt: Date.now(),
    });
  },
});

export const startBackfill = internalMutation({
  args: { pageSize: v.optional(v.number()) },
  handler: (ctx, args) => mirror.startBackfill(ctx, args.pageSize === undefined ? {} : { pageSize: args.pageSize }),
});

export const backfillProgress = query({
  args: { backfillId: v.string() },
  handler: (ctx, args) => mirror.backfillProgress(ctx, args.backfillId),
});
