// Beyond one action: writes that share Clerk's limits with every other action of the deployment,
// and a bulk job that backfills a role, with its progress for a dashboard.
import { v } from "convex/values";
import { action, mutation, query } from "./_generated/server";
import { clerk } from "./clerkJobs";

const role = v.union(v.literal("customer"), v.literal("store_owner"), v.literal("admin"));

// Grant a permission: the merge waits for a slot shared by every action, instead of meeting a 429.
export const grantPermission = action({
  args: { userId: v.string(), permission: v.string() },
  handler: async (ctx, args) => {
    await clerk.client(ctx).mergeUserPublicMetadata(args.userId, { [`can_${args.permission}`]: true });
  },
});

// Set a user's preferences exactly: the read and the patch hold the user against other actions.
export const setPreferences = action({
  args: { userId: v.string(), preferences: v.record(v.string(), v.string()) },
  handler: async (ctx, args) => {
    await clerk.client(ctx).setUserPublicMetadataKey(args.userId, "preferences", args.preferences);
  },
});

// Backfill a role for every user the app lists: starts a job and returns its id at once.
export const backfillRole = mutation({
  args: { userIds: v.array(v.string()), role },
  handler: async (ctx, args) => {
    return await clerk.startJob(ctx, { change: { kind: "merge", metadata: { role: args.role } }, userIds: args.userIds });
  },
});

// More users for a running job (a start call takes at most 4000).
export const addToBackfill = mutation({
  args: { jobId: v.string(), userIds: v.array(v.string()) },
  handler: async (ctx, args) => {
    await clerk.addToJob(ctx, args.jobId, args.userIds);
  },
});

export const cancelBackfill = mutation({
  args: { jobId: v.string() },
  handler: async (ctx, args) => {
    await clerk.cancelJob(ctx, args.jobId);
  },
});

// { status, total, done, failed }: a progress bar is done / total.
export const backfillProgress = query({
  args: { jobId: v.string() },
  handler: async (ctx, args) => await clerk.jobProgress(ctx, args.jobId),
});

// The failed items of a job, with Clerk's error code, status and message.
export const backfillFailures = query({
  args: { jobId: v.string() },
  handler: async (ctx, args) => {
    const jobId = ctx.db.normalizeId("clerkMetadataJobs", args.jobId);
    if (jobId === null) return [];
    return await ctx.db
      .query("clerkMetadataJobItems")
      .withIndex("by_job_status", (q) => q.eq("jobId", jobId).eq("status", "error"))
      .collect();
  },
});
