/**
 * The limiter behind createRedisLimiter: slots and user locks in Redis, and the in-memory
 * fallback for when Redis cannot be reached.
 */
import { randomBytes } from "node:crypto";
import { LocalSlots, RELEASE_SCRIPT, TAKE_SCRIPT, UNLOCK_SCRIPT } from "./slots.js";
import type { SlotKey } from "./slots.js";
import { RedisUnavailableError, script } from "./store.js";
import type { RedisStore } from "./store.js";

interface Window {
  requests: number;
  windowMs: number;
}

export interface SharedLimiterOptions {
  store: RedisStore;
  prefix: string;
  userWrites: Window;
  /** The configured instance window, else Clerk's for the kind of key the client says it sends. */
  instance: { configured: Window | undefined; live: Window; test: Window };
  leaseMs: number;
  /** onUnavailable: "fail". */
  fail: boolean;
  onFallback: (error: Error) => void;
}

/** Longest sleep between two looks at a full window or a held lock, in ms (a slot may free early). */
const SLOT_POLL_MS = 250;
/** A user lock is held for one read and one patch: look again sooner. */
const LOCK_POLL_MS = 50;

/**
 * What acquire and lockUser resolve with once the caller's signal has aborted: the client listens
 * to the same signal and has already failed the call with `aborted`, so there is nothing to hold.
 */
const ABANDONED = (): void => {};

const take = script(TAKE_SCRIPT);
const release = script(RELEASE_SCRIPT);
const unlock = script(UNLOCK_SCRIPT);

export class SharedLimiter {
  private readonly options: SharedLimiterOptions;
  private readonly local = new LocalSlots();
  /** Unique per process, so slot ids and lock tokens of two processes never meet. */
  private readonly owner = randomBytes(9).toString("base64url");
  private counter = 0;
  /** Whether we are in an outage already reported through onFallback. */
  private fallingBack = false;

  constructor(options: SharedLimiterOptions) {
    this.options = options;
  }

  async acquire(request: { userId: string; write: boolean; signal?: AbortSignal | undefined; live?: boolean | undefined }): Promise<() => void | Promise<void>> {
    const { signal } = request;
    if (signal?.aborted) return ABANDONED;
    const keys = this.slotKeys(request.userId, request.write, request.live === true);
    const id = this.nextId();
    const args = [id, String(this.options.leaseMs), ...keys.flatMap((k) => [String(k.requests), String(k.windowMs)])];
    for (;;) {
      let wait: number;
      try {
        wait = Number(await this.options.store.eval(take, keys.map((k) => k.key), args));
      } catch (error) {
        this.unavailable(error);
        return this.acquireLocal(keys, id, signal);
      }
      this.fallingBack = false;
      if (wait === 0) {
        const freed = once(() => this.releaseRedis(keys, id));
        if (!signal?.aborted) return freed;
        // Granted after the caller gave up: give the slot back at once.
        void freed();
        return ABANDONED;
      }
      if (!(await sleep(pollDelay(wait, SLOT_POLL_MS), signal))) return ABANDONED;
    }
  }

  async lockUser(request: { userId: string; signal?: AbortSignal | undefined }): Promise<void | (() => void | Promise<void>)> {
    const { signal } = request;
    if (signal?.aborted) return ABANDONED;
    const key = `${this.tag()}:lock:${encodeURIComponent(request.userId)}`;
    const token = this.nextId();
    for (;;) {
      let answer: unknown;
      try {
        answer = await this.options.store.command(["SET", key, token, "NX", "PX", String(this.options.leaseMs)]);
      } catch (error) {
        this.unavailable(error);
        // No lock to be had: the exact set runs as it would without this limiter, serialised
        // only within this process (by the client's lane for the user).
        return undefined;
      }
      this.fallingBack = false;
      if (answer === "OK") {
        const unlocked = once(() => this.options.store.eval(unlock, [key], [token]).then(() => undefined, () => undefined));
        if (!signal?.aborted) return unlocked;
        void unlocked();
        return ABANDONED;
      }
      if (!(await sleep(pollDelay(LOCK_POLL_MS, LOCK_POLL_MS), signal))) return ABANDONED;
    }
  }

  /** Rethrows under "fail"; under "local", reports the start of an outage once. */
  private unavailable(error: unknown): void {
    if (!(error instanceof RedisUnavailableError) || this.options.fail) throw error;
    if (this.fallingBack) return;
    this.fallingBack = true;
    try {
      this.options.onFallback(error);
    } catch {
      // A notice must not break the call.
    }
  }

  /** The in-memory fallback: the same slots, counted in this process. */
  private async acquireLocal(keys: readonly SlotKey[], id: string, signal: AbortSignal | undefined): Promise<() => void | Promise<void>> {
    for (;;) {
      if (signal?.aborted) return ABANDONED;
      const wait = this.local.take(keys, id, Date.now(), this.options.leaseMs);
      if (wait === 0) return once(() => this.local.release(keys, id, Date.now()));
      if (!(await sleep(pollDelay(wait, SLOT_POLL_MS), signal))) return ABANDONED;
    }
  }

  private releaseRedis(keys: readonly SlotKey[], id: string): Promise<void> {
    const windows = keys.map((k) => String(k.windowMs));
    // The client awaits it (within the call's deadline); a failure is dropped: an unreleased
    // slot frees by its lease.
    return this.options.store.eval(release, keys.map((k) => k.key), [id, ...windows]).then(() => undefined, () => undefined);
  }

  /** The instance key always; the user's write key for a write. */
  private slotKeys(userId: string, write: boolean, live: boolean): SlotKey[] {
    const { instance, userWrites } = this.options;
    const [kind, window] = instance.configured !== undefined ? ["configured", instance.configured] : live ? ["live", instance.live] : ["test", instance.test];
    const keys: SlotKey[] = [{ key: `${this.tag()}:instance:${kind}`, ...window }];
    // encodeURIComponent leaves no ':' in the id, so no user's key can spell another prefix's key.
    if (write) keys.push({ key: `${this.tag()}:user:${encodeURIComponent(userId)}`, ...userWrites });
    return keys;
  }

  /** `{prefix}`: a Redis Cluster hash tag, so the keys of one script live in one slot. */
  private tag(): string {
    return `{${this.options.prefix}}`;
  }

  private nextId(): string {
    this.counter += 1;
    return `${this.owner}:${this.counter}`;
  }
}

/** Sleep for a look again: at most `poll` ms, with jitter so a fleet does not poll in step. */
function pollDelay(wait: number, poll: number): number {
  return Math.min(wait, poll) + Math.random() * poll * 0.2;
}

/** `fn`, callable once (the client calls a release once, but a stray second call must not double-release). */
function once(fn: () => void | Promise<void>): () => void | Promise<void> {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    return fn();
  };
}

/** Resolves with true after `ms`, or with false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
