/**
 * The Redis client the limiter makes for itself when given a URL (node-redis's createClient),
 * set up so that an unreachable Redis shows at once instead of queueing commands.
 */
import { createClient } from "redis";
import type { CommandClient } from "./store.js";

export interface OwnClient {
  client: CommandClient;
  /** Resolves when the first connection attempt has ended, connected or not. */
  firstAttempt: Promise<void>;
  /** Why the last connection attempt failed (for messages), if it did. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/** The longest pause between reconnection attempts, in ms: a Redis that comes back is used again this soon. */
const MAX_RECONNECT_DELAY_MS = 1000;

export function connectOwnClient(url: string, unavailableAfterMs: number): OwnClient {
  const client = createClient({
    url,
    // Commands sent while disconnected fail at once (ClientOfflineError) rather than wait in a
    // queue: the limiter then falls back, or fails, within unavailableAfterMs.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: unavailableAfterMs,
      // Keep trying for as long as the limiter lives, so a Redis that comes back is used again.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), MAX_RECONNECT_DELAY_MS) + Math.random() * 50,
    },
  });
  let settle: () => void = () => {};
  const firstAttempt = new Promise<void>((resolve) => (settle = resolve));
  // node-redis emits 'error' on every failed (re)connection; an EventEmitter 'error' without a
  // listener would crash the process. The failure itself surfaces through the commands.
  let lastError: string | undefined;
  client.on("error", (error: unknown) => {
    lastError = error instanceof Error ? error.message : String(error);
    settle();
  });
  client.on("ready", () => {
    lastError = undefined;
    settle();
  });
  // connect() settles only once connected (it retries meanwhile), or rejects when closed.
  client.connect().catch(() => settle());
  let closed = false;
  return {
    client: client as unknown as CommandClient,
    firstAttempt,
    lastError: () => lastError,
    async close() {
      if (closed) return;
      closed = true;
      // destroy, not close: nothing of ours needs draining (a release not sent frees by its lease).
      client.destroy();
    },
  };
}
