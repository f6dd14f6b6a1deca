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
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";

/**
 * The secret key the server accepts when no `secretKey` option is given. It has the `sk_test_`
 * shape of a real development key so client-side key validation passes, but is obviously fake.
 */
export const LOCAL_SECRET_KEY = "sk_test_local_clerk_metadata_wasm_000000000000";

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
  | { kind: "huge-body"; bytes: number };

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
  /** Queue a fault rule; rules are consumed in insertion order, the first matching rule wins. */
  injectFault(rule: FaultRule): void;
  /** Drop every pending fault rule. */
  clearFaults(): void;
  /** Empty `requests` (in place, so held references see it). */
  clearRequests(): void;
  /** Back to a fresh state: users (replaced by `users`, default none), requests, faults, limiters. */
  reset(users?: Record<string, LocalUserSeed>): void;
  /** Stop listening and destroy every socket, idle keep-alive ones included, so tests exit. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

/** Clerk-API-Version values Clerk publishes; anything else present in the header is a 400. */
const API_VERSIONS: ReadonlySet<string> = new Set(["2021-02-05", "2024-10-01", "2025-04-10", "2025-11-10", "2026-05-12"]);
const METADATA_FIELDS = ["public_metadata", "private_metadata", "unsafe_metadata"] as const;
type MetadataField = (typeof METADATA_FIELDS)[number];
/** Request bodies above this are answered 413 and not buffered (protects the test process). */
const MAX_BODY_BYTES = 1024 * 1024;
/** `PATCH /users/{id}` params that are stored and echoed back (string or null). */
const STORED_USER_PARAMS = ["external_id", "first_name", "last_name", "locale", "username"] as const;
type StoredUserParam = (typeof STORED_USER_PARAMS)[number];
/** Other `PATCH /users/{id}` params from the spec: accepted (200) but not modelled. */
const IGNORED_USER_PARAMS: ReadonlySet<string> = new Set([
  "primary_email_address_id", "notify_primary_email_address_changed", "primary_phone_number_id",
  "profile_image_id", "password", "password_digest", "password_hasher", "skip_password_checks",
  "sign_out_of_other_sessions", "totp_secret", "backup_codes", "delete_self_enabled",
  "create_organization_enabled", "legal_accepted_at", "skip_legal_checks",
  "create_organizations_limit", "created_at", "bypass_client_trust",
]);

interface StoredUser {
  id: string;
  metadata: Record<MetadataField, JsonObject>;
  profile: Record<StoredUserParam, string | null>;
  createdAt: number;
  updatedAt: number;
}

interface ClerkErrorItem {
  message: string;
  long_message: string;
  code: string;
  meta?: JsonObject;
}

/** What a route handler decided; turned into bytes by `send`. */
interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

interface Limit {
  requests: number;
  windowMs: number;
}

/**
 * Sliding-window log limiter: remembers the arrival time of each request it ACCEPTED and refuses
 * when `requests` of them fall inside the last `windowMs`. Refused requests are not logged, so a
 * client that waits the announced Retry-After always gets through (no lock-out by retrying).
 */
class SlidingWindow {
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

function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Define `key` as an own data property. Plain `obj[key] = v` with key "__proto__" would change the
 * object's prototype instead of storing data, so every write into user-controlled keys goes here.
 */
function setOwn(obj: JsonObject, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

function getOwn(obj: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * Deep copy through JSON text: JSON.parse creates "__proto__" as an own data property (never a
 * prototype change), and the copy shares nothing with the caller's objects.
 */
function cloneJson<T extends Json>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * Clerk's PATCH /metadata merge (JSON merge patch, RFC 7386): objects merge recursively, `null`
 * removes a key at any depth, arrays and scalars replace. Returns a new object; inputs untouched.
 */
function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const out: JsonObject = isJsonObject(target) ? cloneJson(target) : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === undefined) continue;
    if (value === null) {
      delete out[key];
    } else {
      setOwn(out, key, mergePatch(getOwn(out, key), value));
    }
  }
  return out;
}

function byteLength(v: Json): number {
  return Buffer.byteLength(JSON.stringify(v), "utf8");
}

function traceId(): string {
  return randomBytes(16).toString("hex");
}

function errorReply(status: number, errors: ClerkErrorItem[], headers?: Record<string, string>): Reply {
  return { status, body: JSON.stringify({ errors, clerk_trace_id: traceId() }), ...(headers ? { headers } : {}) };
}

function tooManyRequests(retryAfter: number): Reply {
  return errorReply(
    429,
    [{ message: "Too many requests", long_message: "Too many requests, retry later", code: "too_many_requests" }],
    { "retry-after": String(retryAfter) },
  );
}

function notFoundRoute(): Reply {
  return errorReply(404, [{ message: "not found", long_message: "Resource not found", code: "resource_not_found" }]);
}

function userNotFound(id: string): Reply {
  return errorReply(404, [
    { message: "not found", long_message: `No user was found with id ${id}`, code: "resource_not_found" },
  ]);
}

function unknownParam(name: string, hint = ""): ClerkErrorItem {
  return {
    message: "is unknown",
    long_message: `${name} is not a valid parameter for this request.${hint}`,
    code: "form_param_unknown",
    meta: { param_name: name },
  };
}

/** Default Clerk error for a fault `status` without a body. */
function defaultErrorFor(status: number): ClerkErrorItem {
  if (status === 429) return { message: "Too many requests", long_message: "Too many requests, retry later", code: "too_many_requests" };
  if (status === 401) return { message: "Secret Key invalid", long_message: "The provided Secret Key is invalid. Make sure that your Secret Key is correct.", code: "clerk_key_invalid" };
  if (status === 403) return { message: "Unauthorized request", long_message: "You are not authorized to perform this request", code: "authorization_invalid" };
  if (status === 404) return { message: "not found", long_message: "Resource not found", code: "resource_not_found" };
  if (status >= 500) return { message: "Oops, an unexpected error occurred", long_message: "There was an internal error on our servers. We've been notified and are working on fixing it.", code: "internal_clerk_error" };
  return { message: "Request failed", long_message: `The request failed with status ${status}.`, code: "request_failed" };
}

/** Keep at most 8 characters (never more than half) of a secret, so it cannot be reconstructed. */
function redactToken(token: string): string {
  return `${token.slice(0, Math.min(8, Math.floor(token.length / 2)))}…`;
}

function redactAuthorization(value: string): string {
  const m = /^(\S+)\s+(.*)$/s.exec(value);
  return m ? `${m[1] ?? ""} ${redactToken(m[2] ?? "")}` : redactToken(value);
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}

function validateSeedField(id: string, field: MetadataField, v: unknown): JsonObject {
  if (v === undefined) return {};
  if (!isJsonObject(v)) throw new TypeError(`createUser(${JSON.stringify(id)}): ${field} must be a JSON object`);
  return cloneJson(v);
}

/** Read the whole body, buffering at most MAX_BODY_BYTES (the rest is drained and dropped). */
function readBody(req: IncomingMessage): Promise<{ text: string | null; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => {
      resolve({ text: tooLarge || size === 0 ? null : Buffer.concat(chunks).toString("utf8"), tooLarge });
    });
    req.on("error", reject);
  });
}

/** A realistic User object (a subset of the spec's required fields) as Clerk returns it. */
function userBody(u: StoredUser): string {
  // Built with JSON.stringify on stored objects whose "__proto__" keys are own data properties,
  // so such keys round-trip faithfully.
  return JSON.stringify({
    object: "user",
    id: u.id,
    external_id: u.profile.external_id,
    primary_email_address_id: null,
    primary_phone_number_id: null,
    primary_web3_wallet_id: null,
    username: u.profile.username,
    first_name: u.profile.first_name,
    last_name: u.profile.last_name,
    locale: u.profile.locale,
    image_url: "https://img.clerk.com/local-placeholder",
    has_image: false,
    public_metadata: u.metadata.public_metadata,
    private_metadata: u.metadata.private_metadata,
    unsafe_metadata: u.metadata.unsafe_metadata,
    email_addresses: [],
    phone_numbers: [],
    web3_wallets: [],
    passkeys: [],
    password_enabled: false,
    two_factor_enabled: false,
    totp_enabled: false,
    backup_code_enabled: false,
    mfa_enabled_at: null,
    mfa_disabled_at: null,
    external_accounts: [],
    saml_accounts: [],
    enterprise_accounts: [],
    last_sign_in_at: null,
    banned: false,
    locked: false,
    lockout_expires_in_seconds: null,
    verification_attempts_remaining: 100,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
    delete_self_enabled: true,
    create_organization_enabled: true,
    last_active_at: null,
    legal_accepted_at: null,
  });
}

/** A user-shaped JSON document of exactly `bytes` bytes (smaller sizes fall back to a string or 0). */
function hugeJsonParts(bytes: number): { prefix: string; padding: number; suffix: string } {
  const prefix = '{"object":"user","id":"user_huge","public_metadata":{"pad":"';
  const suffix = '"},"private_metadata":{},"unsafe_metadata":{}}';
  const fixed = prefix.length + suffix.length;
  if (bytes >= fixed) return { prefix, padding: bytes - fixed, suffix };
  if (bytes >= 2) return { prefix: '"', padding: bytes - 2, suffix: '"' };
  return { prefix: bytes === 1 ? "0" : "", padding: 0, suffix: "" };
}

const TRUNCATED_USER = (() => {
  const full = JSON.stringify({
    object: "user",
    id: "user_truncated",
    public_metadata: { plan: "pro", flags: { beta: true } },
    private_metadata: {},
    unsafe_metadata: {},
    created_at: 0,
    updated_at: 0,
  });
  return full.slice(0, Math.floor(full.length / 2));
})();

const USER_PATH = /^\/v1\/users\/([^/]+)$/;
const METADATA_PATH = /^\/v1\/users\/([^/]+)\/metadata$/;

/**
 * Start a local Clerk-compatible BAPI server. Resolves once it is listening.
 *
 * Checks run in this order (first failure answers): fault rules → auth (401) → Clerk-API-Version
 * (400) → instance limit (429) → route (404/405) → user exists (404) → body size (413) → JSON
 * parse (400) → body keys (422 form_param_unknown) → field types (422 form_param_value_invalid)
 * → result size (422 form_param_exceeds_allowed_size) → per-user write limit (429) → commit.
 * Requests refused by a limiter, and writes refused with 4xx, change no state and use up no quota.
 */
export async function startLocalClerkServer(options: LocalClerkServerOptions = {}): Promise<LocalClerkServer> {
  const host = options.host ?? "127.0.0.1";
  const secretKey = options.secretKey ?? LOCAL_SECRET_KEY;
  if (secretKey.length === 0 || /\s/.test(secretKey)) throw new TypeError("secretKey must be non-empty and contain no whitespace");
  const maxMetadataBytes = options.maxMetadataBytes ?? 8192;
  const cors = options.cors ?? true;
  const now = options.now ?? Date.now;
  const writeLimitOpt = options.userWriteLimit ?? { requests: 10, windowMs: 10_000 };
  const writeLimiter = writeLimitOpt === false ? null : new SlidingWindow(writeLimitOpt);
  const instanceLimiter = options.instanceLimit ? new SlidingWindow(options.instanceLimit) : null;

  const users = new Map<string, StoredUser>();
  const requests: RecordedRequest[] = [];
  let faults: Array<{ rule: FaultRule; left: number }> = [];
  const sockets = new Set<Socket>();
  /** Pending `delay` faults: close() cancels them and lets their handlers finish. */
  const sleepers = new Map<NodeJS.Timeout, () => void>();
  let closed = false;

  function createUser(id: string, seed: LocalUserSeed = {}): void {
    if (typeof id !== "string" || id.length === 0) throw new TypeError("createUser: id must be a non-empty string");
    const t = now();
    users.set(id, {
      id,
      metadata: {
        public_metadata: validateSeedField(id, "public_metadata", seed.public_metadata),
        private_metadata: validateSeedField(id, "private_metadata", seed.private_metadata),
        unsafe_metadata: validateSeedField(id, "unsafe_metadata", seed.unsafe_metadata),
      },
      profile: { external_id: null, first_name: null, last_name: null, locale: null, username: null },
      createdAt: t,
      updatedAt: t,
    });
  }

  function seedUsers(seeds: Record<string, LocalUserSeed> | undefined): void {
    for (const [id, seed] of Object.entries(seeds ?? {})) createUser(id, seed);
  }

  function corsHeaders(): Record<string, string> {
    return cors ? { "access-control-allow-origin": "*", "access-control-expose-headers": "retry-after" } : {};
  }

  function send(res: ServerResponse, rec: RecordedRequest, reply: Reply): void {
    rec.status = reply.status;
    const body = Buffer.from(reply.body, "utf8");
    res.writeHead(reply.status, {
      "content-type": "application/json",
      "content-length": String(body.length),
      ...corsHeaders(),
      ...reply.headers,
    });
    res.end(body);
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const i = faults.findIndex(
      ({ rule }) =>
        (rule.method === undefined || rule.method.toUpperCase() === method) &&
        (rule.pathIncludes === undefined || path.includes(rule.pathIncludes)),
    );
    const entry = faults[i];
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) faults.splice(i, 1);
    return entry.rule.fault;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sleepers.delete(timer);
        resolve();
      }, ms);
      sleepers.set(timer, resolve);
    });
  }

  function resetSocket(socket: Socket): void {
    // resetAndDestroy sends a TCP RST (client sees ECONNRESET); plain destroy is the fallback.
    if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  }

  /** Apply a non-delay fault. */
  function applyFault(fault: Exclude<Fault, { kind: "delay" }>, req: IncomingMessage, res: ServerResponse, rec: RecordedRequest): void {
    switch (fault.kind) {
      case "status": {
        const provided = fault.body;
        let body: string;
        let contentType: string;
        if (provided === undefined) {
          body = JSON.stringify({ errors: [defaultErrorFor(fault.status)], clerk_trace_id: traceId() });
          contentType = "application/json";
        } else {
          body = provided;
          // Only a guess when the rule gives no content-type header (which then wins).
          contentType = isJsonText(provided)
            ? "application/json"
            : provided.trimStart().startsWith("<")
              ? "text/html; charset=utf-8"
              : "text/plain; charset=utf-8";
        }
        const extra: Record<string, string> = {};
        for (const [k, v] of Object.entries(fault.headers ?? {})) extra[k.toLowerCase()] = v;
        send(res, rec, { status: fault.status, body, headers: { "content-type": contentType, ...extra } });
        return;
      }
      case "reset":
        rec.status = 0;
        resetSocket(req.socket);
        return;
      case "reset-mid-body": {
        rec.status = 0;
        const full = Buffer.from(TRUNCATED_USER + TRUNCATED_USER, "utf8");
        res.writeHead(200, { "content-type": "application/json", "content-length": String(full.length), ...corsHeaders() });
        // Half a body, then FIN: the client got headers but the body never completes.
        res.write(full.subarray(0, Math.floor(full.length / 2)), () => req.socket.destroy());
        return;
      }
      case "truncated-json":
        send(res, rec, { status: 200, body: TRUNCATED_USER });
        return;
      case "empty-body":
        send(res, rec, { status: fault.status ?? 200, body: "" });
        return;
      case "huge-body": {
        rec.status = 200;
        const { prefix, padding, suffix } = hugeJsonParts(Math.max(0, Math.floor(fault.bytes)));
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": String(prefix.length + padding + suffix.length),
          ...corsHeaders(),
        });
        // Streamed with back-pressure so a many-megabyte body never sits in memory at once.
        const chunk = Buffer.alloc(Math.min(padding, 64 * 1024), "x");
        let left = padding;
        res.write(prefix);
        const pump = (): void => {
          while (left > 0) {
            const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= part.length;
            if (!res.write(part)) {
              res.once("drain", pump);
              return;
            }
          }
          res.end(suffix);
        };
        pump();
        return;
      }
    }
  }

  /** Normal Clerk behaviour for one fully received request. */
  function route(method: string, path: string, headers: IncomingMessage["headers"], rec: RecordedRequest, tooLarge: boolean): Reply {
    // Auth.
    if (rec.authorization === "missing" || rec.authorization === "malformed") {
      return errorReply(401, [
        {
          message: "Invalid Authorization header format",
          long_message: 'Invalid Authorization header format. Must be "Bearer <YOUR_API_KEY>"',
          code: "authorization_header_format_invalid",
        },
      ]);
    }
    if (rec.authorization === "wrong-key") {
      return errorReply(401, [
        {
          message: "Secret Key invalid",
          long_message: "The provided Secret Key is invalid. Make sure that your Secret Key is correct.",
          code: "clerk_key_invalid",
        },
      ]);
    }
    // API version: absent is accepted (recorded in headers so tests can insist on it).
    const version = headerText(headers["clerk-api-version"]);
    if (version !== undefined && !API_VERSIONS.has(version.trim())) {
      return errorReply(400, [
        {
          message: "Invalid API version",
          long_message: `The API version '${version}' is invalid. Valid versions are: ${[...API_VERSIONS].join(", ")}.`,
          code: "api_version_invalid",
          meta: { version },
        },
      ]);
    }
    // Instance limit: every authenticated request counts.
    const t = rec.at;
    if (instanceLimiter) {
      const wait = instanceLimiter.check(secretKey, t);
      if (wait !== null) return tooManyRequests(wait);
      instanceLimiter.hit(secretKey, t);
    }
    // Route.
    const meta = METADATA_PATH.exec(path);
    const plain = meta ? null : USER_PATH.exec(path);
    const rawId = meta?.[1] ?? plain?.[1];
    if (rawId === undefined) return notFoundRoute();
    const allowed = meta ? ["PATCH", "PUT"] : ["GET", "PATCH"];
    if (!allowed.includes(method)) {
      return errorReply(
        405,
        [{ message: "Method not allowed", long_message: `${method} is not allowed on ${path}`, code: "method_not_allowed" }],
        { allow: allowed.join(", ") },
      );
    }
    let id: string;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      return notFoundRoute();
    }
    const user = users.get(id);
    if (!user) return userNotFound(id);
    if (method === "GET") return { status: 200, body: userBody(user) };

    // Writes.
    if (tooLarge) {
      return errorReply(413, [
        {
          message: "Request body too large",
          long_message: `The request body exceeds the maximum allowed size of ${MAX_BODY_BYTES} bytes.`,
          code: "request_body_too_large",
        },
      ]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rec.body ?? "");
    } catch {
      return errorReply(400, [
        {
          message: "Request body invalid",
          long_message: "The request body is invalid. Please consult the API documentation for more information.",
          code: "request_body_invalid",
        },
      ]);
    }
    if (!isJsonObject(parsed)) {
      return errorReply(422, [
        { message: "is unknown", long_message: "The request body must be a JSON object.", code: "form_param_unknown" },
      ]);
    }
    const body = parsed;
    const keys = Object.keys(body);

    if (meta) return writeMetadata(user, method === "PUT" ? "replace" : "merge", body, keys, t);
    return updateUser(user, body, keys, t);
  }

  function valueInvalid(name: string, expected: string): ClerkErrorItem {
    return {
      message: "is invalid",
      long_message: `${name} must be ${expected}.`,
      code: "form_param_value_invalid",
      meta: { param_name: name },
    };
  }

  /** Quota check shared by every write route; null means go ahead (and the write is counted on commit). */
  function writeQuota(userId: string, t: number): Reply | null {
    if (!writeLimiter) return null;
    const wait = writeLimiter.check(userId, t);
    return wait === null ? null : tooManyRequests(wait);
  }

  function commit(user: StoredUser, t: number): void {
    writeLimiter?.hit(user.id, t);
    user.updatedAt = t;
  }

  function writeMetadata(user: StoredUser, mode: "merge" | "replace", body: JsonObject, keys: string[], t: number): Reply {
    const unknown = keys.filter((k) => !(METADATA_FIELDS as readonly string[]).includes(k));
    if (unknown.length > 0) return errorReply(422, unknown.map((k) => unknownParam(k)));
    const fields = METADATA_FIELDS.filter((f) => Object.hasOwn(body, f));
    const invalid = fields.filter((f) => !isJsonObject(body[f]));
    if (invalid.length > 0) return errorReply(422, invalid.map((f) => valueInvalid(f, "a JSON object")));
    // Compute every result first; commit only if all pass (atomic writes).
    const next: Partial<Record<MetadataField, JsonObject>> = {};
    const tooBig: ClerkErrorItem[] = [];
    for (const f of fields) {
      const sent = body[f] as JsonObject;
      const result = mode === "replace" ? cloneJson(sent) : (mergePatch(user.metadata[f], sent) as JsonObject);
      if (byteLength(result) > maxMetadataBytes) {
        tooBig.push({
          message: "exceeds allowed size",
          long_message: `${f} exceeds the maximum allowed size of ${maxMetadataBytes} bytes.`,
          code: "form_param_exceeds_allowed_size",
          meta: { param_name: f },
        });
      }
      next[f] = result;
    }
    if (tooBig.length > 0) return errorReply(422, tooBig);
    const limited = writeQuota(user.id, t);
    if (limited) return limited;
    for (const f of fields) {
      const v = next[f];
      if (v) user.metadata[f] = v;
    }
    commit(user, t);
    return { status: 200, body: userBody(user) };
  }

  function updateUser(user: StoredUser, body: JsonObject, keys: string[], t: number): Reply {
    const errors: ClerkErrorItem[] = [];
    for (const k of keys) {
      if ((METADATA_FIELDS as readonly string[]).includes(k)) {
        // Since 2026-05-12 metadata is only writable through /users/{id}/metadata.
        errors.push(unknownParam(k, " Use PATCH /v1/users/{user_id}/metadata to merge or PUT /v1/users/{user_id}/metadata to replace metadata."));
      } else if (!(STORED_USER_PARAMS as readonly string[]).includes(k) && !IGNORED_USER_PARAMS.has(k)) {
        errors.push(unknownParam(k));
      }
    }
    if (errors.length > 0) return errorReply(422, errors);
    const invalid = STORED_USER_PARAMS.filter((k) => Object.hasOwn(body, k) && body[k] !== null && typeof body[k] !== "string");
    if (invalid.length > 0) return errorReply(422, invalid.map((k) => valueInvalid(k, "a string or null")));
    const limited = writeQuota(user.id, t);
    if (limited) return limited;
    for (const k of STORED_USER_PARAMS) {
      if (Object.hasOwn(body, k)) user.profile[k] = body[k] as string | null;
    }
    commit(user, t);
    return { status: 200, body: userBody(user) };
  }

  function preflight(res: ServerResponse): void {
    res.writeHead(204, {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "GET, PATCH, PUT, OPTIONS",
      "access-control-allow-headers": "authorization, content-type, clerk-api-version, user-agent",
      "access-control-expose-headers": "retry-after",
      "access-control-max-age": "600",
      "content-length": "0",
    });
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = now();
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = q === -1 ? "" : rawUrl.slice(q + 1);
    if (cors && method === "OPTIONS") {
      req.resume();
      preflight(res);
      return;
    }
    const { text, tooLarge } = await readBody(req);

    const headers = Object.fromEntries(
      Object.entries(req.headers).flatMap(([k, v]): Array<[string, string]> => {
        const s = headerText(v);
        if (s === undefined) return [];
        return [[k, k === "authorization" ? redactAuthorization(s) : s]];
      }),
    );
    const auth = headerText(req.headers.authorization);
    const bearer = auth === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(auth)?.[1];
    const authorization: RecordedRequest["authorization"] =
      auth === undefined ? "missing" : bearer === undefined ? "malformed" : bearer === secretKey ? "valid" : "wrong-key";
    let json: unknown;
    if (text !== null) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const rec: RecordedRequest = { method, path, query, headers, authorization, body: text, json, status: 0, at };
    requests.push(rec);

    const fault = takeFault(method, path);
    if (fault) {
      if (fault.kind !== "delay") {
        applyFault(fault, req, res, rec);
        return;
      }
      await sleep(fault.ms);
      if (closed || res.destroyed) return;
    }
    send(res, rec, route(method, path, req.headers, rec, tooLarge));
  }

  const server: Server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug here must surface as a Clerk-shaped 500, not a hung request or a crashed test run.
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({
        errors: [{ ...defaultErrorFor(500), meta: { local_error: String(err) } }],
        clerk_trace_id: traceId(),
      });
      res.writeHead(500, { "content-type": "application/json", ...corsHeaders() });
      res.end(body);
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

  seedUsers(options.users);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("local Clerk server: no TCP address");
  const port = address.port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    secretKey,
    requests,
    createUser,
    getUser(id) {
      const u = users.get(id);
      if (!u) return undefined;
      return {
        id: u.id,
        public_metadata: cloneJson(u.metadata.public_metadata),
        private_metadata: cloneJson(u.metadata.private_metadata),
        unsafe_metadata: cloneJson(u.metadata.unsafe_metadata),
      };
    },
    deleteUser(id) {
      users.delete(id);
    },
    injectFault(rule) {
      const times = rule.times ?? 1;
      if (!Number.isInteger(times) || times < 1) throw new RangeError("injectFault: times must be a positive integer");
      faults.push({ rule: { ...rule }, left: times });
    },
    clearFaults() {
      faults = [];
    },
    clearRequests() {
      requests.length = 0;
    },
    reset(seeds) {
      users.clear();
      requests.length = 0;
      faults = [];
      writeLimiter?.clear();
      instanceLimiter?.clear();
      seedUsers(seeds);
    },
    close() {
      closed = true;
      for (const [timer, wake] of sleepers) {
        clearTimeout(timer);
        wake();
      }
      sleepers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
