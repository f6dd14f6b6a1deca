#!/usr/bin/env node
// `npm run demo`: all eight functions, as a Convex action would call them.
//
// Without CLERK_SECRET_KEY it starts the embedded local Clerk-compatible server and runs there.
// With CLERK_SECRET_KEY (and CLERK_DEMO_USER_ID, a user of that instance) it runs against real
// Clerk, saving the user's public metadata first and restoring it at the end.
import * as clerk from "../dist/index.mjs";
import { startLocalClerkServer, LOCAL_SECRET_KEY } from "../dist/testing.mjs";

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const show = (value) => (value === undefined ? "undefined" : JSON.stringify(value));

let server;
let userId;
if (process.env.CLERK_SECRET_KEY) {
  userId = process.env.CLERK_DEMO_USER_ID;
  if (!userId) {
    console.error(
      "demo: CLERK_SECRET_KEY is set, so the demo runs against real Clerk and needs a user to work on:\n" +
        "      set CLERK_DEMO_USER_ID=user_... (its public metadata is saved first and restored at the end),\n" +
        "      or unset CLERK_SECRET_KEY to use the embedded local server.",
    );
    process.exit(2);
  }
  console.log(bold(`Against ${process.env.CLERK_API_URL ?? "https://api.clerk.com"} (CLERK_SECRET_KEY is set), user ${userId}`));
} else {
  userId = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
  server = await startLocalClerkServer({
    users: { [userId]: { public_metadata: { role: "customer", preferences: { theme: "dark" } } } },
  });
  process.env.CLERK_SECRET_KEY = LOCAL_SECRET_KEY;
  process.env.CLERK_API_URL = server.url;
  console.log(bold(`Against the embedded local Clerk-compatible server at ${server.url}`));
}

const saved = await clerk.getUserPublicMetadata(userId);
let failed = false;
async function step(title, call, check) {
  try {
    const result = await call();
    const verdict = check ? check(result) : true;
    console.log(`${verdict ? "✓" : "✗"} ${title}${result === undefined ? "" : ` → ${show(result)}`}`);
    if (!verdict) failed = true;
  } catch (error) {
    console.log(`✗ ${title} → ${error.message}`);
    failed = true;
  }
}

try {
  await step("getUserPublicMetadata", () => clerk.getUserPublicMetadata(userId));
  await step("updateUserPublicMetadata (replace all)", () =>
    clerk.updateUserPublicMetadata(userId, { role: "store_owner", storeId: "store_42", updatedAt: Date.now() }),
  );
  await step("mergeUserPublicMetadata (one PATCH, Clerk deep-merges)", () =>
    clerk.mergeUserPublicMetadata(userId, { preferences: { notifications: true, theme: "dark" }, verified: true }),
  );
  await step("setUserPublicMetadataKey('preferences', {theme:'light'}) (replaces that key only)", () =>
    clerk.setUserPublicMetadataKey(userId, "preferences", { theme: "light" }),
  );
  await step("getUserPublicMetadataKey('preferences')", () => clerk.getUserPublicMetadataKey(userId, "preferences"),
    (value) => show(value) === '{"theme":"light"}');
  await step("hasUserPublicMetadataKey('storeId')", () => clerk.hasUserPublicMetadataKey(userId, "storeId"), (v) => v === true);
  await step("removeUserPublicMetadataKeys(['verified', 'updatedAt'])", () =>
    clerk.removeUserPublicMetadataKeys(userId, ["verified", "updatedAt"]),
  );
  await step("getUserPublicMetadata", () => clerk.getUserPublicMetadata(userId),
    (m) => m.role === "store_owner" && m.verified === undefined && show(m.preferences) === '{"theme":"light"}');
  await step("clearUserPublicMetadata", () => clerk.clearUserPublicMetadata(userId));
  await step("getUserPublicMetadata after clear", () => clerk.getUserPublicMetadata(userId), (m) => show(m) === "{}");

  console.log(bold("\nErrors are ClerkMetadataError with Clerk's fields:"));
  try {
    await clerk.getUserPublicMetadata("user_does_not_exist");
    failed = true;
  } catch (error) {
    console.log(`  ${error.message}`);
    console.log(`  code=${error.code} status=${error.status} clerkTraceId=${error.clerkTraceId}`);
  }
  try {
    await clerk.mergeUserPublicMetadata(userId, { score: NaN });
    failed = true;
  } catch (error) {
    console.log(`  ${error.message} (nothing was sent)`);
  }
} finally {
  await clerk.updateUserPublicMetadata(userId, saved);
  if (server) {
    const summary = server.requests.map((r) => `${r.method} ${r.path} → ${r.status}`);
    console.log(bold(`\nThe server received ${summary.length} requests:`));
    console.log(`  ${summary.join("\n  ")}`);
    await server.close();
  } else {
    console.log(bold(`\nRestored the user's public metadata to ${show(saved)}`));
  }
}
process.exit(failed ? 1 : 0);
