// One ClerkConvex for the deployment: every action's requests share Clerk's limits through the
// rate limiter component, and bulk jobs run on the workpool. Its four job functions must be
// exported from the module `jobs` names (this one). Its clients also keep the mirror of Clerk
// users fresh (read-your-writes); the mirror's own functions are exported from clerkMirror.ts.
import { ClerkConvex, ClerkUserMirror } from "clerk-metadata-wasm/convex";
import { components, internal } from "./_generated/api";

export const mirror = new ClerkUserMirror({
  functions: () => internal.clerkMirror,
  workpool: components.clerkWorkpool,
  // The backfill's list requests share the deployment's limits with every action.
  client: (ctx) => clerk.client(ctx),
});

export const clerk = new ClerkConvex({
  mirror,
  rateLimiter: components.clerkRateLimiter,
  workpool: components.clerkWorkpool,
  jobs: () => internal.clerkJobs,
  // Tests shorten the instance window to run thousands of requests quickly; an app leaves this
  // out and gets Clerk's own limits (chosen by the secret key).
  limits: process.env.CLERK_INSTANCE_LIMIT === undefined ? undefined : { instance: { requests: Number(process.env.CLERK_INSTANCE_LIMIT), windowMs: 10_000 } },
});

export const { runBatch, pendingItems, recordResults, batchFinished } = clerk.jobFunctions();
