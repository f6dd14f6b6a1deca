/**
 * `clerk-metadata-wasm/testing`: a local, offline, Clerk-compatible Backend API (BAPI) server.
 *
 * Why it exists: the package's own tests, its demo and users' tests must exercise the real HTTP
 * path (auth header, API-version header, JSON bodies, error envelopes, 429s, broken networks)
 * without reaching api.clerk.com. The server mirrors Clerk's documented behaviour for API version
 * 2026-05-12 on the three user/metadata routes only, records every request so tests can assert
 * what the client sent, and can inject faults (resets, truncated bodies, 5xx pages…) on demand.
 *
 * It depends on Node built-ins only, so shipping it adds no dependency for users.
 *
 * This file is the public entry: the server, its options and the types of its public surface.
 * The parts live in js/testing/: store.ts (users, metadata, merge-patch, User JSON), routes.ts
 * (Clerk's checks, routes and error answers), faults.ts (fault rules and how each is produced),
 * limits.ts (sliding-window rate limits), webhooks.ts (signed Clerk events), list.ts (the user
 * list) and use-local.ts (`useLocalClerk`, one line of test set-up).
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { FaultQueue, FaultTimers, produceFault } from "./testing/faults.js";
import { createLimits } from "./testing/limits.js";
import { ClerkRoutes, corsHeaders, internalErrorReply, preflight, readBody, recordRequest, sendReply } from "./testing/routes.js";
import { UserStore, userBody } from "./testing/store.js";
import { Webhooks, newWebhookSecret as newSecret, signWebhook as sign } from "./testing/webhooks.js";

/**
 * The secret key the server accepts when no `secretKey` option is given. It has the `sk_test_`
 * shape of a real development key so client-side key validation passes, but is obviously fake.
 */
export const LOCAL_SECRET_KEY = "sk_test_local_clerk_metadata_wasm_000000000000";

/**
 * The Standard Webhooks (Svix) signature header value, `v1,<base64 HMAC-SHA256>`, of a message
 * `id`, its `svix-timestamp` (Unix seconds) and its exact body, under a `whsec_` secret: for tests
 * that craft their own deliveries. Throws a TypeError for a malformed secret (never quoting it).
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  return sign(secret, id, timestampSeconds, body);
}

/** A fresh random signing secret, `whsec_<base64 of 24 bytes>`, as Clerk's dashboard shows one. */
export function newWebhookSecret(): string {
  return newSecret();
}

/** Any JSON value, as stored in Clerk metadata. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object: the only shape Clerk accepts for a metadata field. */
export type JsonObject = { [key: string]: Json };

/** Initial metadata for a user; omitted fields start as `{}` (Clerk never returns null metadata). */
export interface LocalUserSeed {
  public_metadata?: JsonObject;
  private_metadata?: JsonObject;
  unsafe_metadata?: JsonObject;
}

/** Options for {@link startLocalClerkServer}. Every option has a Clerk-like default. */
export interface LocalClerkServerOptions {
  /** Interface to bind; default "127.0.0.1" (loopback only: the server accepts a known key). */
  host?: string;
  /** Port to bind; default 0 (ephemeral, so parallel test files never collide). */
  port?: number;
  /** The one accepted bearer token; default {@link LOCAL_SECRET_KEY}. */
  secretKey?: string;
  /** Users present at start, keyed by user id. */
  users?: Record<string, LocalUserSeed>;
  /** Limit per metadata field, in UTF-8 bytes of its serialized JSON; default 8192 (Clerk: "8KB"). */
  maxMetadataBytes?: number;
  /**
   * Per-user write limit (Clerk: 10 writes / 10 s per user, shared by PATCH and PUT
   * `/users/{id}/metadata` and `PATCH /users/{id}`); `false` disables it.
   * Default `{ requests: 10, windowMs: 10_000 }`.
   */
  userWriteLimit?: { requests: number; windowMs: number } | false;
  /**
   * Instance-wide limit counting every authenticated request (Clerk: 100 / 10 s for `sk_test_`,
   * 1000 / 10 s for `sk_live_`). Default `false`, so ordinary test suites are never throttled.
   */
  instanceLimit?: { requests: number; windowMs: number } | false;
  /** Answer CORS preflights and add `access-control-allow-origin: *`; default true (browser tests). */
  cors?: boolean;
  /** Clock (ms) for the rate limiters, timestamps and `RecordedRequest.at`; default `Date.now`. */
  now?: () => number;
  /**
   * Send Clerk's signed webhooks (`user.created`, `user.updated`, `user.deleted`) for every change
   * the server makes after it starts (API writes, `createUser`, `deleteUser`; not the seed users
   * nor `reset`). Off by default; `server.webhooks.configure(…)` sets it later.
   */
  webhooks?: LocalWebhookOptions;
}

/** Where and how the local server sends webhooks. */
export interface LocalWebhookOptions {
  /** The signing secret, `whsec_<base64>` (Clerk's dashboard shows it; see {@link newWebhookSecret}). */
  secret: string;
  /** The endpoint to POST to (the global `fetch` is used). Give this or `send`. */
  url?: string;
  /**
   * Delivers one signed request instead of `fetch(url)`, e.g. convex-test's
   * `(req) => t.fetch("/clerk-users-webhook", { method: "POST", headers: req.headers, body: req.body })`.
   */
  send?: (request: Request) => Promise<Response>;
  /** Queue deliveries instead of sending them (send them with `webhooks.send` or `webhooks.flush`); default false. */
  hold?: boolean;
}

/** One webhook message: the event of one change, and every attempt to deliver it. */
export interface LocalWebhookDelivery {
  /** The Svix message id (`svix-id`), the same on every attempt. */
  readonly id: string;
  readonly type: "user.created" | "user.updated" | "user.deleted";
  readonly userId: string;
  /** The exact body that is signed and sent: `{ data, object: "event", type, timestamp, instance_id }`. */
  readonly body: string;
  /** Each attempt: when, and the status answered (0 while waiting, -1 when the request failed). */
  readonly attempts: { at: number; status: number }[];
}

/** How one attempt is made differently from Svix's normal delivery (to test the receiver's refusals). */
export interface LocalWebhookSendOptions {
  /** Sign with this secret instead (a wrong signature). */
  secret?: string;
  /** Shift the `svix-timestamp` by this many ms (e.g. `-10 * 60_000` for a stale one). */
  timestampOffsetMs?: number;
}

/** The server's webhook outbox (see {@link LocalClerkServerOptions.webhooks}). */
export interface LocalWebhooks {
  /** Every event since the start (or `reset`), in the order of the changes; the same array throughout. */
  readonly deliveries: LocalWebhookDelivery[];
  /** Set, replace or (with `null`) turn off the destination. Throws a TypeError for a malformed secret or URL. */
  configure(options: LocalWebhookOptions | null): void;
  /** Hold new deliveries (`true`) or send them at once again (`false`; what is held stays queued). */
  hold(on: boolean): void;
  /** The deliveries never attempted yet, in the order of the changes. */
  pending(): LocalWebhookDelivery[];
  /** Make one attempt (again: same `svix-id`, fresh timestamp and signature); resolves with the status, -1 on a network error. */
  send(delivery: LocalWebhookDelivery, options?: LocalWebhookSendOptions): Promise<number>;
  /** Send every pending delivery one after another, oldest first or newest first; resolves with their statuses. */
  flush(order?: "oldest-first" | "newest-first"): Promise<number[]>;
  /** Resolves once every attempt under way has been answered. */
  settle(): Promise<void>;
}

/** One request as the server received it, kept so tests can assert what a client sent. */
export interface RecordedRequest {
  /** Upper-case HTTP method. */
  method: string;
  /** Path without the query string, e.g. "/v1/users/user_1/metadata" (still percent-encoded). */
  path: string;
  /** Query string without the leading "?" ("" when none). */
  query: string;
  /**
   * Request headers, lower-case names, repeated headers joined with ", ". `authorization` is
   * redacted to its scheme plus the first 8 characters of the token and "…" (at most half of a
   * short token), so a recorded request can be logged or snapshotted without leaking the key.
   */
  headers: Record<string, string>;
  /** How the Authorization header compared with the server's key. */
  authorization: "valid" | "missing" | "malformed" | "wrong-key";
  /** Raw body text; null when the request had no body or it exceeded 1 MiB. */
  body: string | null;
  /** The body parsed as JSON, or undefined when absent or unparsable. */
  json: unknown;
  /** Status the server answered; 0 while unanswered or when the connection was reset. */
  status: number;
  /** `now()` when the request arrived. */
  at: number;
}

/** A failure the server produces instead of (or before) its normal answer. */
export type Fault =
  /** Answer with exactly this status/body/headers (e.g. an HTML 502 page, a 429 with retry-after).
   * Without `body`, a Clerk error envelope fitting the status is sent. */
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** Wait `ms`, then handle the request normally (timeouts, ordering races). */
  | { kind: "delay"; ms: number }
  /** Destroy the socket (TCP RST) without answering. */
  | { kind: "reset" }
  /** Send 200 headers announcing a full body, part of that body, then close the socket. */
  | { kind: "reset-mid-body" }
  /** A complete 200 `application/json` response whose body is cut-off JSON. */
  | { kind: "truncated-json" }
  /** A response with no body at all (default status 200, content-type application/json). */
  | { kind: "empty-body"; status?: number }
  /** A 200 `application/json` response of exactly `bytes` bytes of valid JSON (size-guard tests). */
  | { kind: "huge-body"; bytes: number }
  /**
   * A request that reached Clerk but lands late. The body is read in full, then the request is
   * handled `applyAfterMs` after arrival EVEN IF the client has aborted or closed the connection
   * meanwhile: a write is applied then (and logged in `applied`), with every check (unknown user,
   * bad body, write limit) made at that moment, as for any write. The answer (for a write that
   * passes, 200 and the user after it) is sent at `respondAfterMs` (default `applyAfterMs`, never
   * less) if the connection is still open; `RecordedRequest.status` stays 0 when it is not.
   * `close()` drops a request that has not been applied yet.
   */
  | { kind: "apply-late"; applyAfterMs: number; respondAfterMs?: number }
  /**
   * Handle the request normally and at once (a write is applied on arrival), but hold the answer
   * for `ms` before sending it, so overlapping requests can get their answers out of order.
   */
  | { kind: "respond-late"; ms: number }
  /**
   * Answer with this redirect status and `Location` header, and an empty body; nothing is applied.
   * `location` may be any URL (another origin, or another path of this server).
   */
  | { kind: "redirect"; status: 301 | 302 | 303 | 307 | 308; location: string }
  /**
   * 200 `application/json` headers, then a body that never ends: a small chunk every
   * `chunkIntervalMs` (default 50) until the client closes the connection (or `close()`), at
   * which point the writes and their timer stop.
   */
  | { kind: "endless-body"; chunkIntervalMs?: number };

/** A write the server committed (it changed the stored state), kept so tests can see when it landed. */
export interface AppliedWrite {
  /** Upper-case HTTP method ("PATCH" or "PUT"). */
  method: string;
  /** Path without the query string, as in {@link RecordedRequest.path}. */
  path: string;
  /** `now()` when the write was applied: its arrival, or later for an `apply-late` fault. */
  at: number;
  /** The request body as applied (parsed JSON). */
  body: JsonObject;
}

/** When to apply a fault: the first rule (in insertion order) matching method and path is used. */
export interface FaultRule {
  /** What to do. */
  fault: Fault;
  /** Only requests with this method (case-insensitive); default any. */
  method?: string;
  /** Only requests whose path (no query) contains this substring; default any. */
  pathIncludes?: string;
  /** How many matching requests consume this rule before it disappears; default 1. */
  times?: number;
}

/** A running local server. All state lives in memory and is dropped by `close()`. */
export interface LocalClerkServer {
  /** Base URL without trailing slash, e.g. "http://127.0.0.1:53011"; BAPI paths start with /v1. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** The accepted secret key. */
  readonly secretKey: string;
  /** Every non-preflight request, in order of full receipt; the same array for the server's life. */
  readonly requests: RecordedRequest[];
  /**
   * Every committed write, in the order it was applied; the same array for the server's life.
   * Emptied by `reset()` (not by `clearRequests()`).
   */
  readonly applied: AppliedWrite[];
  /** Create (or replace, with fresh timestamps) a user. Throws on an empty id or a non-object seed field. */
  createUser(id: string, seed?: LocalUserSeed): void;
  /** A deep copy of the user's stored metadata, or undefined if there is no such user. */
  getUser(
    id: string,
  ):
    | { id: string; public_metadata: JsonObject; private_metadata: JsonObject; unsafe_metadata: JsonObject }
    | undefined;
  /** Remove a user (later requests for it get 404). No-op for an unknown id. */
  deleteUser(id: string): void;
  /** Clerk's webhooks for the changes the server makes (off until configured). */
  readonly webhooks: LocalWebhooks;
  /**
   * Queue a fault rule; rules are consumed in insertion order, the first matching rule wins.
   * Throws a RangeError for `times` < 1 and for timings or statuses a fault cannot have.
   */
  injectFault(rule: FaultRule): void;
  /** Drop every pending fault rule. */
  clearFaults(): void;
  /** Empty `requests` (in place, so held references see it). */
  clearRequests(): void;
  /** Back to a fresh state: users (replaced by `users`, default none), requests, applied, faults, limiters. */
  reset(users?: Record<string, LocalUserSeed>): void;
  /**
   * Stop listening and destroy every socket, idle keep-alive ones included, and cancel every
   * fault timer (late answers, late writes not yet applied, endless bodies), so tests exit.
   */
  close(): Promise<void>;
}

/** The server's parts, as `handle` and the returned object use them. */
interface Parts {
  secretKey: string;
  cors: boolean;
  now: () => number;
  routes: ClerkRoutes;
  faults: FaultQueue;
  timers: FaultTimers;
  requests: RecordedRequest[];
}

/** One request: preflight, or read it whole, record it, then a fault or Clerk's answer. */
async function handle(parts: Parts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const at = parts.now();
  if (parts.cors && (req.method ?? "GET").toUpperCase() === "OPTIONS") {
    req.resume();
    preflight(res);
    return;
  }
  const { text, tooLarge } = await readBody(req);
  const rec = recordRequest(req, text, at, parts.secretKey);
  parts.requests.push(rec);
  const answer = (t: number) => parts.routes.answer(rec, t, tooLarge);
  const fault = parts.faults.take(rec.method, rec.path);
  if (fault) {
    await produceFault(fault, { req, res, rec, cors: parts.cors, timers: parts.timers, now: parts.now, answer });
    return;
  }
  sendReply(res, rec, answer(at), parts.cors);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("local Clerk server: no TCP address"));
      else resolve(address.port);
    });
  });
}

/** An HTTP server for `parts` that tracks its sockets, so close() can end idle keep-alive ones. */
function httpServer(parts: Parts, sockets: Set<Socket>): Server {
  const server: Server = createServer({ keepAlive: true }, (req, res) => {
    handle(parts, req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const reply = internalErrorReply(err);
      res.writeHead(reply.status, { "content-type": "application/json", ...corsHeaders(parts.cors) });
      res.end(reply.body);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // Client-side garbage (bad HTTP) must not crash the process hosting the tests.
  server.on("clientError", (_err, socket: Socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });
  return server;
}

/**
 * Start a local Clerk-compatible BAPI server. Resolves once it is listening.
 *
 * Checks run in this order (first failure answers): fault rules (an `apply-late` one defers the
 * rest) → auth (401) → Clerk-API-Version
 * (400) → instance limit (429) → route (404/405) → user exists (404) → body size (413) → JSON
 * parse (400) → body keys (422 form_param_unknown) → field types (422 form_param_value_invalid)
 * → result size (422 form_param_exceeds_allowed_size) → per-user write limit (429) → commit.
 * Requests refused by a limiter, and writes refused with 4xx, change no state and use up no quota.
 */
export async function startLocalClerkServer(options: LocalClerkServerOptions = {}): Promise<LocalClerkServer> {
  const host = options.host ?? "127.0.0.1";
  const secretKey = options.secretKey ?? LOCAL_SECRET_KEY;
  if (secretKey.length === 0 || /\s/.test(secretKey)) throw new TypeError("secretKey must be non-empty and contain no whitespace");
  const now = options.now ?? Date.now;
  const limits = createLimits(options.userWriteLimit ?? { requests: 10, windowMs: 10_000 }, options.instanceLimit || false);
  const users = new UserStore(now);
  const applied: AppliedWrite[] = [];
  const outbox = new Webhooks(now);
  outbox.configure(options.webhooks);
  const changed = (type: "user.created" | "user.updated", id: string): void => {
    const user = users.get(id);
    if (user) outbox.emit(type, JSON.parse(userBody(user)) as Record<string, unknown>);
  };
  const routes = new ClerkRoutes({
    users, limits, secretKey, maxMetadataBytes: options.maxMetadataBytes ?? 8192, applied,
    changed: (user) => changed("user.updated", user.id),
  });
  const faults = new FaultQueue();
  const timers = new FaultTimers();
  const requests: RecordedRequest[] = [];
  const parts: Parts = { secretKey, cors: options.cors ?? true, now, routes, faults, timers, requests };
  const sockets = new Set<Socket>();
  const server = httpServer(parts, sockets);
  users.seed(options.users);
  const port = await listen(server, options.port ?? 0, host);
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    secretKey,
    requests,
    applied,
    createUser(id, seed) {
      const existed = users.get(id) !== undefined;
      users.create(id, seed);
      changed(existed ? "user.updated" : "user.created", id);
    },
    getUser: (id) => users.snapshot(id),
    deleteUser(id) {
      if (users.delete(id)) outbox.emit("user.deleted", { id, object: "user", deleted: true });
    },
    webhooks: {
      deliveries: outbox.deliveries,
      configure: (webhookOptions) => outbox.configure(webhookOptions),
      hold: (on) => outbox.hold(on),
      pending: () => outbox.pending(),
      send: (delivery, sendOptions) => outbox.send(delivery, sendOptions),
      flush: (order) => outbox.flush(order),
      settle: () => outbox.settle(),
    },
    injectFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    clearRequests() {
      requests.length = 0;
    },
    reset(seeds) {
      users.clear();
      requests.length = 0;
      applied.length = 0;
      outbox.clear();
      faults.clear();
      limits.clear();
      users.seed(seeds);
    },
    close() {
      timers.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

export * from "./testing/use-local.js";
