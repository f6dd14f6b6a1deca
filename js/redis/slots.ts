/**
 * The slot rule shared by the Redis script and the in-memory fallback, and the in-memory
 * fallback itself.
 *
 * A slot counts from when it is taken until its release plus one window (until `leaseMs` plus a
 * window if it is never released: its process died). Clerk counts arrivals, which fall between
 * taking and releasing, so at most `requests` arrivals land in any window, whatever the
 * latencies. This is the rule of the built-in limiter (src/core/limiter.rs).
 */

/** One counter a request needs room in: the instance's, or a user's writes. */
export interface SlotKey {
  /** The Redis key (also the in-memory map key). */
  key: string;
  requests: number;
  windowMs: number;
}

/** How often a sweep of idle in-memory keys may run, in ms. */
const SWEEP_EVERY_MS = 10_000;

/**
 * Clerk's limits within this process, for when Redis cannot be reached: a sliding window of
 * slots per key, each slot with its expiry time (Infinity-free: an unreleased slot expires by
 * its lease, as in Redis, so a lost release function cannot wedge a key).
 */
export class LocalSlots {
  private readonly keys = new Map<string, Map<string, number>>();
  private lastSweep = 0;

  /** 0 when granted (every key took the slot), else the ms until one would have room. */
  take(keys: readonly SlotKey[], id: string, now: number, leaseMs: number): number {
    this.sweep(now);
    let wait = 0;
    for (const { key, requests } of keys) {
      const expiries = [...this.live(key, now).values()].sort((a, b) => a - b);
      // Room frees when the (count - requests + 1)-th earliest slot expires.
      const freeing = expiries[expiries.length - requests];
      if (freeing !== undefined) wait = Math.max(wait, freeing - now);
    }
    if (wait > 0) return wait;
    // Both keys at once, so a request never holds one slot while it waits for the other.
    for (const { key, windowMs } of keys) this.live(key, now).set(id, now + leaseMs + windowMs);
    return 0;
  }

  /** The answer is in: the slot frees one window from now. */
  release(keys: readonly SlotKey[], id: string, now: number): void {
    for (const { key, windowMs } of keys) {
      const slots = this.keys.get(key);
      if (slots?.has(id)) slots.set(id, now + windowMs);
    }
  }

  /** The unexpired slots of `key` (expired ones dropped). */
  private live(key: string, now: number): Map<string, number> {
    let slots = this.keys.get(key);
    if (!slots) {
      slots = new Map();
      this.keys.set(key, slots);
    }
    for (const [id, expiry] of slots) if (expiry <= now) slots.delete(id);
    return slots;
  }

  /** Forgets keys whose slots all expired, so a long outage over many users does not grow memory. */
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [key, slots] of this.keys) {
      for (const [id, expiry] of slots) if (expiry <= now) slots.delete(id);
      if (slots.size === 0) this.keys.delete(key);
    }
  }
}

/**
 * Takes a slot for both keys at once: drops expired members (score ≤ now), and when every key has
 * room adds the slot id with score now + lease + window (the slot is in flight). Returns 0 when
 * granted, else the ms until the earliest expiry that would make room in every key. The time is
 * Redis's own (TIME), so every process shares one clock; Redis 7 replicates a script's effects,
 * not the script, so reading TIME is allowed. PEXPIRE lets idle keys vanish.
 * KEYS: the keys. ARGV: slot id, leaseMs, then requests and windowMs per key.
 */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local requests = tonumber(ARGV[1 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local count = redis.call('ZCARD', key)
  if count >= requests then
    local freeing = redis.call('ZRANGE', key, count - requests, count - requests, 'WITHSCORES')
    wait = math.max(wait, tonumber(freeing[2]) - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', key, now + lease + window, ARGV[1])
  redis.call('PEXPIRE', key, lease + window)
end
return 0
`;

/**
 * Releases a slot: its score becomes now + window, only if it is still there (XX: a slot whose
 * lease ran out is not brought back). KEYS: the keys. ARGV: slot id, then windowMs per key.
 */
export const RELEASE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + tonumber(ARGV[1 + i]), ARGV[1])
end
return 0
`;

/** Deletes a lock only if it still holds our token (a lock whose lease ran out may be another's now). */
export const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
