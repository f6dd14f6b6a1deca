/**
 * `useLocalClerk`: one line of test set-up over the local server (re-exported by
 * clerk-metadata-wasm/testing).
 */
import { startLocalClerkServer } from "../testing.js";
import type { LocalClerkServer, LocalClerkServerOptions } from "../testing.js";
// The package's own entry, kept external by the build (./index.mjs or ./index.cjs beside the
// bundle), so useLocalClerk configures the same copy of the package the user's tests import.
import { configureDefaults } from "../index.js";
import type { ClerkMetadataClientOptions } from "../index.js";

/**
 * Options of {@link useLocalClerk}: the server's (except that `userWriteLimit` defaults to `false`
 * here, so a test may write to one user quickly; pass Clerk's `{ requests: 10, windowMs: 10_000 }`
 * to test 429 handling), plus `defaults` for the package's top-level functions.
 */
export interface UseLocalClerkOptions extends LocalClerkServerOptions {
  /**
   * Merged over the fast test defaults `{ rateLimit: false, maxRetries: 0, timeoutMs: 2000 }` and
   * passed to the package's `configureDefaults`.
   */
  defaults?: ClerkMetadataClientOptions;
}

/** The defaults {@link useLocalClerk} gives the top-level functions before `options.defaults`. */
export const LOCAL_TEST_DEFAULTS = { rateLimit: false, maxRetries: 0, timeoutMs: 2000 } as const;

/**
 * One line of test setup: starts a local server, points `CLERK_SECRET_KEY` and `CLERK_API_URL`
 * (in `process.env`) at it, and calls the package's `configureDefaults` with fast test defaults
 * ({@link LOCAL_TEST_DEFAULTS} merged with `options.defaults`), so the top-level functions talk to
 * it without the rate limiter's waits, retries or long timeouts. The server's per-user write
 * limit is off unless `options.userWriteLimit` is given.
 *
 * Cleanup closes the server, restores both variables and calls `configureDefaults()` (the
 * built-in defaults). It is registered with `teardown` when given (vitest's `afterAll`,
 * node:test's `after`); the returned server's `close()` also runs it (once), for when no
 * `teardown` is passed.
 */
export async function useLocalClerk(
  options: UseLocalClerkOptions = {},
  teardown?: (fn: () => unknown) => void,
): Promise<LocalClerkServer> {
  const { defaults, ...serverOptions } = options;
  const server = await startLocalClerkServer({ userWriteLimit: false, ...serverOptions });
  try {
    configureDefaults({ ...LOCAL_TEST_DEFAULTS, ...defaults });
  } catch (error) {
    await server.close();
    throw error;
  }
  const names = ["CLERK_SECRET_KEY", "CLERK_API_URL"] as const;
  const saved = names.map((name) => process.env[name]);
  process.env.CLERK_SECRET_KEY = server.secretKey;
  process.env.CLERK_API_URL = server.url;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      names.forEach((name, i) => {
        const value = saved[i];
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      });
      configureDefaults();
      await server.close();
    })());
  teardown?.(close);
  return { ...server, close };
}
