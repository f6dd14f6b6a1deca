/**
 * Clerk's rate limits on `@convex-dev/rate-limiter`, shared by every action of a deployment.
 *
 * The component's limiters are token buckets, which remember a level, not each request. Clerk
 * (and the local test server) count requests in a sliding window, and a bucket of rate r and
 * capacity c can let c + r − 1 requests into one window. So a window of N requests becomes a
 * bucket of 90 % of N per window with a burst of 5 % (at least 1): under 95 % of N in any window
 * (94 of 100), and the rest is room for requests that arrive up to about half a second apart
 * from when they were sent (a whole second for a user's 10 writes). Clerk's own 429s are still retried.
 */
import { RateLimiter } from "@convex-dev/rate-limiter";
import type { RateLimitConfig } from "@convex-dev/rate-limiter";

import type { ClerkRateLimiter, RateLimitWindow } from "../index.js";
import type { ClerkActionCtx } from "../convex.js";




export interface SharedLimits {
  userWrites: RateLimitWindow;
  /** Undefined: Clerk's, chosen by the secret key at each request (1000 for sk_live_, else 100). */
  instance: RateLimitWindow | undefined;
  /** How long an exact set may hold its user before the hold lapses on its own. */
  lockLeaseMs: number;
}

const USER_WRITES = "clerkUserWrites";
const INSTANCE = "clerkInstance";
const USER_LOCK = "clerkUserLock";
/** How often a held user lock is asked for again. */
const LOCK_POLL_MS = 200;

/** Clerk's per-user write limit (FACTS: 10 writes / 10 s) and instance limits by key kind. */
export const CLERK_USER_WRITES: RateLimitWindow = { requests: 10, windowMs: 10_000 };
const CLERK_INSTANCE_LIVE: RateLimitWindow = { requests: 1000, windowMs: 10_000 };
const CLERK_INSTANCE_TEST: RateLimitWindow = { requests: 100, windowMs: 10_000 };

/** The token bucket that keeps a sliding window of `window` (see the module comment). */
export function bucketFor(window: RateLimitWindow, name: string): RateLimitConfig {
  const { requests, windowMs } = window;
  if (!Number.isInteger(requests) || requests < 2 || !Number.isFinite(windowMs) || windowMs <= 0) {
    throw new TypeError(`limits.${name} must be { requests: an integer ≥ 2, windowMs: a positive number }`);
  }
  const capacity = Math.max(1, Math.floor(requests * 0.05));
  const rate = Math.max(1, Math.min(Math.floor(requests * 0.9), requests - capacity));
  // Every slot is a mutation of the bucket's document; past ~50 a second, concurrent actions
  // would keep conflicting on one document, so busy windows are split over shards (each a bucket
  // of its share: the window's bound is the same sum).
  const shards = requests >= 500 ? Math.min(10, capacity) : 1;
  return { kind: "token bucket", rate, period: windowMs, capacity, shards };
}

function instanceWindow(limits: SharedLimits, live: boolean | undefined): { key: string; window: RateLimitWindow } {
  if (limits.instance !== undefined) return { key: "configured", window: limits.instance };
  // The client says which kind of key it sends (sk_live_ or not); the key never reaches here.
  return live === true ? { key: "live", window: CLERK_INSTANCE_LIVE } : { key: "test", window: CLERK_INSTANCE_TEST };
}

function sleep(ms: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, Math.max(ms ?? LOCK_POLL_MS, 1));
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/**
 * A `ClerkRateLimiter` for one action's `ctx`. A request waits (it never fails for the limit)
 * until its user's write slot, for a write, and an instance slot are both free, then takes them
 * together and is sent at once. The component's `reserve` is not used: a reserved slot counts when
 * it falls due, and a request that then also waited for its other slot would be sent later than
 * counted, so a user's writes could bunch past Clerk's limit behind a busy instance queue.
 */
export function convexLimiter(
  component: ConstructorParameters<typeof RateLimiter>[0],
  ctx: ClerkActionCtx,
  limits: SharedLimits,
): ClerkRateLimiter {
  const limiter = new RateLimiter(component);
  const userBucket = bucketFor(limits.userWrites, "userWrites");
  const lockBucket: RateLimitConfig = { kind: "token bucket", rate: 1, period: limits.lockLeaseMs, capacity: 1 };
  return {
    async acquire({ userId, write, signal, live }) {
      const instance = instanceWindow(limits, live);
      const instanceSlot = { key: instance.key, config: bucketFor(instance.window, "instance") };
      const userSlot = { key: userId, config: userBucket };
      for (;;) {
        if (write) {
          // Look first (a query), so that the user's slot is spent only when the instance's is
          // likely free too. A read takes one slot, so it goes straight to taking it.
          const free = await limiter.check(ctx, INSTANCE, instanceSlot);
          if (!free.ok) {
            await sleep(free.retryAfter, signal);
            continue;
          }
          const user = await limiter.limit(ctx, USER_WRITES, userSlot);
          if (!user.ok) {
            await sleep(user.retryAfter, signal);
            continue;
          }
        }
        const taken = await limiter.limit(ctx, INSTANCE, instanceSlot);
        if (taken.ok) return;
        // Another action took the instance slot first: the user slot just taken stays spent
        // (counted, never used), which only makes the user's window stricter.
        await sleep(taken.retryAfter, signal);
      }
    },
    async lockUser({ userId, signal }) {
      // A bucket of one token refilled once per lease: taking it holds the user, resetting it
      // lets go, and a holder that died lets go when the token refills. A holder past its lease
      // may no longer hold the user (another may), so it lets the token refill instead.
      for (;;) {
        const { ok, retryAfter } = await limiter.limit(ctx, USER_LOCK, { key: userId, config: lockBucket });
        const takenAt = Date.now();
        if (ok) {
          return async () => {
            if (Date.now() - takenAt < limits.lockLeaseMs - LOCK_POLL_MS) await limiter.reset(ctx, USER_LOCK, { key: userId });
          };
        }
        await sleep(Math.min(retryAfter, LOCK_POLL_MS), signal);
      }
    },
  };
}
