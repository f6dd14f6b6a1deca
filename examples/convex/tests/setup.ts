/**
 * Shared by the tests: the Convex modules for convex-test, and the local Clerk-compatible server
 * (from clerk-metadata-wasm/testing) that the actions reach through CLERK_API_URL.
 */
import { convexTest } from "convex-test";
import { afterAll, beforeAll, beforeEach } from "vitest";
import rateLimiter from "@convex-dev/rate-limiter/test";
import workpool from "@convex-dev/workpool/test";
import { LOCAL_SECRET_KEY, startLocalClerkServer } from "clerk-metadata-wasm/testing";
import type { LocalClerkServer, LocalClerkServerOptions, LocalUserSeed } from "clerk-metadata-wasm/testing";
import schema from "../convex/schema";

/** Every module of convex/ (the .d.ts augmentation aside), keyed as convex-test expects. */
export const modules = import.meta.glob(["../convex/**/*.*s", "!../convex/**/*.d.ts"]);

/** A convex-test backend of the app, with both components the app registers. */
export function newConvex() {
  const t = convexTest(schema, modules);
  rateLimiter.register(t, "clerkRateLimiter");
  workpool.register(t, "clerkWorkpool");
  return t;
}

/**
 * Starts the server before the file's tests and points the package at it through the same
 * environment variables a deployment sets; each test starts from `users` with no recorded requests.
 */
export function useLocalClerk(
  users: Record<string, LocalUserSeed>,
  options: Omit<LocalClerkServerOptions, "users"> = {},
): { readonly server: LocalClerkServer } {
  const handle: { server?: LocalClerkServer } = {};
  const saved = { key: process.env.CLERK_SECRET_KEY, url: process.env.CLERK_API_URL };

  beforeAll(async () => {
    handle.server = await startLocalClerkServer({ ...options, users });
    process.env.CLERK_SECRET_KEY = LOCAL_SECRET_KEY;
    process.env.CLERK_API_URL = handle.server.url;
  });

  beforeEach(() => {
    handle.server?.reset(users);
  });

  afterAll(async () => {
    await handle.server?.close();
    restore("CLERK_SECRET_KEY", saved.key);
    restore("CLERK_API_URL", saved.url);
  });

  return {
    get server() {
      if (handle.server === undefined) throw new Error("the local Clerk server is not running (use it inside a test)");
      return handle.server;
    },
  };
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** The most of these arrival times that fall within any `windowMs` (a sliding window, as Clerk counts). */
export function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while ((sorted[last] ?? 0) - (sorted[first] ?? 0) >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}
