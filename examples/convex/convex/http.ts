// Clerk's webhooks (user.created, user.updated, user.deleted) keep the mirror fresh. In Clerk's
// dashboard: Webhooks → Add endpoint → https://<deployment>.convex.site/clerk-users-webhook, with
// those three events; then `npx convex env set CLERK_WEBHOOK_SIGNING_SECRET whsec_…`.
import { httpRouter } from "convex/server";
import { mirror } from "./clerkJobs";

const http = httpRouter();
http.route({ path: "/clerk-users-webhook", method: "POST", handler: mirror.webhook() });
export default http;
