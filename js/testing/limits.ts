/**
 * The local server's rate limits: Clerk's per-user write limit and its instance-wide limit, both
 * sliding windows. Only the counting lives here; the 429 answer is built by the routes.
 */

export interface Limit {
  requests: number;
  windowMs: number;
}

/**
 * Sliding-window log limiter: remembers the arrival time of each request it ACCEPTED and refuses
 * when `requests` of them fall inside the last `windowMs`. Refused requests are not logged, so a
 * client that waits the announced Retry-After always gets through (no lock-out by retrying).
 */
export class SlidingWindow {
  private readonly log = new Map<string, number[]>();
  private readonly limit: Limit;
  constructor(limit: Limit) {
    this.limit = limit;
  }

  /** Seconds to wait (integer ≥ 1) if `key` is over the limit at `t`, else null. */
  check(key: string, t: number): number | null {
    const hits = this.prune(key, t);
    if (hits.length < this.limit.requests) return null;
    const oldest = hits[hits.length - this.limit.requests] ?? t;
    return Math.max(1, Math.ceil((oldest + this.limit.windowMs - t) / 1000));
  }

  /** Count an accepted request. */
  hit(key: string, t: number): void {
    this.prune(key, t).push(t);
  }

  clear(): void {
    this.log.clear();
  }

  private prune(key: string, t: number): number[] {
    const hits = (this.log.get(key) ?? []).filter((h) => h > t - this.limit.windowMs);
    this.log.set(key, hits);
    return hits;
  }
}

/** Both limiters of one server; null where the option turned the limit off. */
export interface ServerLimits {
  /** Per user id, counting committed writes. */
  readonly userWrites: SlidingWindow | null;
  /** Per secret key, counting every authenticated request. */
  readonly instance: SlidingWindow | null;
  clear(): void;
}

export function createLimits(userWrites: Limit | false, instance: Limit | false): ServerLimits {
  const writes = userWrites === false ? null : new SlidingWindow(userWrites);
  const all = instance === false ? null : new SlidingWindow(instance);
  return {
    userWrites: writes,
    instance: all,
    clear() {
      writes?.clear();
      all?.clear();
    },
  };
}
