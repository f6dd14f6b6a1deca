// The Convex components the app uses: clerk-metadata-wasm/convex shares Clerk's rate limits
// across every action through the rate limiter, and runs bulk jobs on the workpool.
import { defineApp } from "convex/server";
import rateLimiter from "@convex-dev/rate-limiter/convex.config";
import workpool from "@convex-dev/workpool/convex.config";

const app = defineApp();
app.use(rateLimiter, { name: "clerkRateLimiter" });
app.use(workpool, { name: "clerkWorkpool" });
export default app;
