/**
 * The local server's webhooks, as Clerk sends them through Svix (the Standard Webhooks protocol):
 * a `user.created`, `user.updated` or `user.deleted` event for every change the server makes,
 * signed with the configured `whsec_` secret, POSTed to a URL or handed to a `send` function.
 * Deliveries can be held, then sent in any order, sent twice, or sent with a stale timestamp, so
 * tests can reproduce what Svix's at-least-once, unordered delivery does.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { LocalWebhookDelivery, LocalWebhookOptions, LocalWebhookSendOptions } from "../testing.js";

/** The Standard Webhooks signature of one message: `v1,<base64 HMAC-SHA256>`. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = webhookKey(secret);
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/** The key bytes of a `whsec_<base64>` secret; throws a TypeError (never quoting it) otherwise. */
function webhookKey(secret: string): Buffer {
  const m = typeof secret === "string" ? /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret) : null;
  const key = m?.[1] === undefined ? undefined : Buffer.from(m[1], "base64");
  if (key === undefined || key.length < 16) {
    throw new TypeError("webhooks.secret must be a signing secret of the form whsec_<base64 of at least 16 bytes>");
  }
  return key;
}

/** A fresh `whsec_` secret (24 random bytes), as Clerk's dashboard shows one. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/** Svix message ids look like `msg_` + 27 base62-ish characters. */
function messageId(): string {
  return `msg_${randomBytes(20).toString("base64url").slice(0, 27)}`;
}

/** The user events the server emits. */
export type UserEventType = "user.created" | "user.updated" | "user.deleted";

interface Config {
  url: string | undefined;
  send: ((request: Request) => Promise<Response>) | undefined;
  key: string;
  hold: boolean;
}

/** The outbox: every event, in the order the changes were made. */
export class Webhooks {
  readonly deliveries: LocalWebhookDelivery[] = [];
  private config: Config | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly now: () => number;
  constructor(now: () => number) {
    this.now = now;
  }

  configure(options: LocalWebhookOptions | null | undefined): void {
    if (options === null || options === undefined) {
      this.config = undefined;
      return;
    }
    webhookKey(options.secret);
    if (options.url === undefined && options.send === undefined) throw new TypeError("webhooks needs a url or a send function");
    if (options.url !== undefined && !/^https?:\/\//.test(options.url)) throw new TypeError("webhooks.url must be an http(s) URL");
    this.config = { url: options.url, send: options.send, key: options.secret, hold: options.hold ?? false };
  }

  /** Hold new deliveries (or stop holding: what is pending stays pending until sent). */
  hold(on: boolean): void {
    if (this.config) this.config.hold = on;
  }

  /** Record an event for a change just made, and send it unless deliveries are held. */
  emit(type: UserEventType, data: Record<string, unknown>): void {
    if (!this.config) return;
    const body = JSON.stringify({ data, object: "event", type, timestamp: this.now(), instance_id: "ins_local_clerk_metadata_wasm" });
    const userId = typeof data.id === "string" ? data.id : "";
    const delivery: LocalWebhookDelivery = { id: messageId(), type, userId, body, attempts: [] };
    this.deliveries.push(delivery);
    if (!this.config.hold) void this.track(this.send(delivery));
  }

  pending(): LocalWebhookDelivery[] {
    return this.deliveries.filter((d) => d.attempts.length === 0);
  }

  /** Send (or send again: same svix-id, fresh timestamp and signature) one delivery; resolves with the status. */
  send(delivery: LocalWebhookDelivery, options: LocalWebhookSendOptions = {}): Promise<number> {
    const config = this.config;
    if (!config) return Promise.reject(new Error("local Clerk server: webhooks are not configured"));
    const timestamp = Math.floor(this.now() / 1000) + Math.trunc((options.timestampOffsetMs ?? 0) / 1000);
    const headers = {
      "content-type": "application/json",
      "svix-id": delivery.id,
      "svix-timestamp": String(timestamp),
      "svix-signature": signWebhook(options.secret ?? config.key, delivery.id, timestamp, delivery.body),
    };
    const attempt = { at: this.now(), status: 0 };
    delivery.attempts.push(attempt);
    const request = new Request(config.url ?? "http://local-clerk.invalid/webhook", {
      method: "POST",
      headers,
      body: delivery.body,
    });
    const sent = config.send ? config.send(request) : fetch(request);
    return this.track(
      sent.then(
        async (res) => {
          attempt.status = res.status;
          await res.body?.cancel();
          return res.status;
        },
        () => {
          attempt.status = -1;
          return -1;
        },
      ),
    );
  }

  /** Sends every held delivery, one at a time, in the order of the changes or the reverse; resolves with their statuses. */
  async flush(order: "oldest-first" | "newest-first" = "oldest-first"): Promise<number[]> {
    const queue = this.pending();
    if (order === "newest-first") queue.reverse();
    const statuses: number[] = [];
    for (const delivery of queue) statuses.push(await this.send(delivery));
    return statuses;
  }

  /** Resolves once every delivery under way has been answered. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  clear(): void {
    this.deliveries.length = 0;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = (): void => {
      this.inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }
}
