/**
 * Shared by the mirror tests: a convex-test instance with the app's schema and both components,
 * and a local Clerk server whose signed webhooks go to the app's HTTP endpoint as convex-test
 * serves it (`t.fetch`: convex-test runs the http router in-process, it does not listen on a port).
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import { createClerkMetadataClient } from "clerk-metadata-wasm";
import { newWebhookSecret, startLocalClerkServer } from "clerk-metadata-wasm/testing";
import type { LocalClerkServer, LocalUserSeed } from "clerk-metadata-wasm/testing";
import { newConvex } from "./setup";

export { newConvex };

export const WEBHOOK_PATH = "/clerk-users-webhook";

export type TestConvex = ReturnType<typeof newConvex>;

/** Hands one signed request from the local server to the app's endpoint, as Svix would POST it. */
export function deliverTo(t: TestConvex) {
  return async (request: Request): Promise<Response> =>
    t.fetch(WEBHOOK_PATH, { method: "POST", headers: Object.fromEntries(request.headers), body: await request.text() });
}

/**
 * A local Clerk server for the file, with CLERK_SECRET_KEY, CLERK_API_URL and
 * CLERK_WEBHOOK_SIGNING_SECRET pointing at it; each test starts from `users`, no deliveries.
 */
export function useClerkWithWebhooks(users: Record<string, LocalUserSeed>) {
  const handle: { server?: LocalClerkServer; secret: string } = { secret: newWebhookSecret() };
  const names = ["CLERK_SECRET_KEY", "CLERK_API_URL", "CLERK_WEBHOOK_SIGNING_SECRET"] as const;
  const saved = names.map((name) => process.env[name]);
  beforeAll(async () => {
    handle.server = await startLocalClerkServer({ users, userWriteLimit: false });
    process.env.CLERK_SECRET_KEY = handle.server.secretKey;
    process.env.CLERK_API_URL = handle.server.url;
    process.env.CLERK_WEBHOOK_SIGNING_SECRET = handle.secret;
  });
  beforeEach(() => {
    handle.server?.reset(users);
    handle.server?.webhooks.configure(null);
  });
  afterAll(async () => {
    await handle.server?.close();
    names.forEach((name, i) => {
      const value = saved[i];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    });
  });
  return {
    get server(): LocalClerkServer {
      if (handle.server === undefined) throw new Error("the local Clerk server is not running (use it inside a test)");
      return handle.server;
    },
    secret: handle.secret,
    /** A client of the server, as another backend (or Clerk's dashboard) would change users. */
    client: () => createClerkMetadataClient({ secretKey: handle.server?.secretKey, apiUrl: handle.server?.url, rateLimit: false, maxRetries: 0 }),
  };
}
