// One ClerkConvex for the deployment: every action's requests share Clerk's limits through the
// rate limiter component, and bulk jobs run on the workpool. Its four job functions must be
// exported from the module `jobs` names (this one).
import { ClerkConvex } from "clerk-metadata-wasm/convex";
import { components, internal } from "./_generated/api";

export const clerk = new ClerkConvex({
  rateLimiter: components.clerkRateLimiter,
  workpool: components.clerkWorkpool,
  jobs: () => internal.clerkJobs,
  // Tests shorten the instance window to run thousands of requests quickly; an app leaves this
  // out and gets Clerk's own limits (chosen by the secret key).
  limits: process.env.CLERK_INSTANCE_LIMIT === undefined ? undefined : { instance: { requests: Number(process.env.CLERK_INSTANCE_LIMIT), windowMs: 10_000 } },
});

export const { runBatch, pendingItems, recordResults, batchFinished } = clerk.jobFunctions();
