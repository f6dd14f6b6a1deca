// The mirror of Clerk users (clerk-metadata-wasm/convex): its internal functions (exported here,
// as `functions` names them), and a ClerkConvex whose clients feed it (read-your-writes).
import { ClerkConvex, ClerkUserMirror } from "clerk-metadata-wasm/convex";
import { components, internal } from "./_generated/api";

export const mirror = new ClerkUserMirror({
  functions: () => internal.clerkMirror,
  workpool: components.clerkWorkpool,
  // The backfill's list requests share the deployment's instance limit with every action.
  limiter: (ctx) => clerk.limiter(ctx),
});

export const clerk = new ClerkConvex({
  rateLimiter: components.clerkRateLimiter,
  workpool: components.clerkWorkpool,
  mirror,
});

export const { receive, applyUser, backfillPage, applyPage, backfillFinished } = mirror.functions();
