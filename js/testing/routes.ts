/**
 * What the local server answers, as Clerk would: reading and recording a request, the checks in
 * Clerk's order, the three user/metadata routes, and Clerk's error envelopes. Everything here
 * decides a `Reply`; only `sendReply` and `preflight` write to the socket.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AppliedWrite, JsonObject, RecordedRequest } from "../testing.js";
import type { ServerLimits } from "./limits.js";
import { listUsers } from "./list.js";
import {
  IGNORED_USER_PARAMS, METADATA_FIELDS, STORED_USER_PARAMS, byteLength, cloneJson, isJsonObject, mergePatch, userBody,
} from "./store.js";
import type { MetadataField, StoredUser, UserStore } from "./store.js";

/** Clerk-API-Version values Clerk publishes; anything else present in the header is a 400. */
const API_VERSIONS: ReadonlySet<string> = new Set(["2021-02-05", "2024-10-01", "2025-04-10", "2025-11-10", "2026-05-12"]);
/** Request bodies above this are answered 413 and not buffered (protects the test process). */
const MAX_BODY_BYTES = 1024 * 1024;
const USER_PATH = /^\/v1\/users\/([^/]+)$/;
const LIST_PATH = /^\/v1\/users$/;
const METADATA_PATH = /^\/v1\/users\/([^/]+)\/metadata$/;

/** What a route decided; turned into bytes by `sendReply`. */
export interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface ClerkErrorItem {
  message: string;
  long_message: string;
  code: string;
  meta?: JsonObject;
}

// ---------------------------------------------------------------------------------------------
// Clerk's error answers
// ---------------------------------------------------------------------------------------------

export function traceId(): string {
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

function valueInvalid(name: string, expected: string): ClerkErrorItem {
  return {
    message: "is invalid",
    long_message: `${name} must be ${expected}.`,
    code: "form_param_value_invalid",
    meta: { param_name: name },
  };
}

/** Default Clerk error for a fault `status` without a body. */
export function defaultErrorFor(status: number): ClerkErrorItem {
  if (status === 429) return { message: "Too many requests", long_message: "Too many requests, retry later", code: "too_many_requests" };
  if (status === 401) return { message: "Secret Key invalid", long_message: "The provided Secret Key is invalid. Make sure that your Secret Key is correct.", code: "clerk_key_invalid" };
  if (status === 403) return { message: "Unauthorized request", long_message: "You are not authorized to perform this request", code: "authorization_invalid" };
  if (status === 404) return { message: "not found", long_message: "Resource not found", code: "resource_not_found" };
  if (status >= 500) return { message: "Oops, an unexpected error occurred", long_message: "There was an internal error on our servers. We've been notified and are working on fixing it.", code: "internal_clerk_error" };
  return { message: "Request failed", long_message: `The request failed with status ${status}.`, code: "request_failed" };
}

/** A bug in the server must surface as a Clerk-shaped 500, not a hung request or a crashed run. */
export function internalErrorReply(err: unknown): Reply {
  return errorReply(500, [{ ...defaultErrorFor(500), meta: { local_error: String(err) } }]);
}

// ---------------------------------------------------------------------------------------------
// Reading, recording and answering
// ---------------------------------------------------------------------------------------------

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

/** Read the whole body, buffering at most MAX_BODY_BYTES (the rest is drained and dropped). */
export function readBody(req: IncomingMessage): Promise<{ text: string | null; tooLarge: boolean }> {
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

/** The record of a fully received request (status 0 until answered). */
export function recordRequest(req: IncomingMessage, text: string | null, at: number, secretKey: string): RecordedRequest {
  const method = (req.method ?? "GET").toUpperCase();
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
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
  return {
    method,
    path: q === -1 ? rawUrl : rawUrl.slice(0, q),
    query: q === -1 ? "" : rawUrl.slice(q + 1),
    headers,
    authorization,
    body: text,
    json,
    status: 0,
    at,
  };
}

export function corsHeaders(cors: boolean): Record<string, string> {
  return cors ? { "access-control-allow-origin": "*", "access-control-expose-headers": "retry-after" } : {};
}

export function sendReply(res: ServerResponse, rec: RecordedRequest, reply: Reply, cors: boolean): void {
  rec.status = reply.status;
  const body = Buffer.from(reply.body, "utf8");
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": String(body.length),
    ...corsHeaders(cors),
    ...reply.headers,
  });
  res.end(body);
}

export function preflight(res: ServerResponse): void {
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

// ---------------------------------------------------------------------------------------------
// The routes
// ---------------------------------------------------------------------------------------------

export interface RouterParts {
  users: UserStore;
  limits: ServerLimits;
  secretKey: string;
  maxMetadataBytes: number;
  /** Every committed write is appended here. */
  applied: AppliedWrite[];
  /** Told of every committed write, with the user after it (for `user.updated` webhooks). */
  changed: (user: StoredUser) => void;
}

/** Clerk's three user routes over one store, with its limits. */
export class ClerkRoutes {
  private readonly parts: RouterParts;
  constructor(parts: RouterParts) {
    this.parts = parts;
  }

  /** Auth, API version and the instance limit: what Clerk checks before looking at the route. */
  private gate(rec: RecordedRequest, t: number): Reply | null {
    if (rec.authorization === "missing" || rec.authorization === "malformed") {
      return errorReply(401, [
        {
          message: "Invalid Authorization header format",
          long_message: 'Invalid Authorization header format. Must be "Bearer <YOUR_API_KEY>"',
          code: "authorization_header_format_invalid",
        },
      ]);
    }
    if (rec.authorization === "wrong-key") return errorReply(401, [defaultErrorFor(401)]);
    // API version: absent is accepted (recorded in headers so tests can insist on it).
    const version = rec.headers["clerk-api-version"];
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
    // Every authenticated request counts against the instance limit.
    const { instance } = this.parts.limits;
    if (instance) {
      const wait = instance.check(this.parts.secretKey, t);
      if (wait !== null) return tooManyRequests(wait);
      instance.hit(this.parts.secretKey, t);
    }
    return null;
  }

  /**
   * Clerk's answer to a fully received request, handled at time `t` (arrival, or later for a write
   * that lands late). Writes that pass every check are committed before this returns.
   */
  answer(rec: RecordedRequest, t: number, tooLarge: boolean): Reply {
    const refused = this.gate(rec, t);
    if (refused) return refused;
    const { method, path } = rec;
    if (LIST_PATH.test(path)) return this.list(rec);
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
    const user = this.parts.users.get(id);
    if (!user) return userNotFound(id);
    if (method === "GET") return { status: 200, body: userBody(user) };

    const body = this.writeBody(rec, tooLarge);
    if ("refused" in body) return body.refused;
    const write: Write = { user, body: body.object, rec, t };
    if (meta) return this.writeMetadata(write, method === "PUT" ? "replace" : "merge");
    return this.updateUser(write);
  }

  /** `GET /v1/users`: a page of users, a JSON array (see list.ts). */
  private list(rec: RecordedRequest): Reply {
    if (rec.method !== "GET") {
      return errorReply(
        405,
        [{ message: "Method not allowed", long_message: `${rec.method} is not allowed on ${rec.path}`, code: "method_not_allowed" }],
        { allow: "GET" },
      );
    }
    const { users } = this.parts;
    const result = listUsers(users.all(), rec.query, (id) => users.position(id));
    if ("errors" in result) return errorReply(422, result.errors);
    return { status: 200, body: `[${result.page.map(userBody).join(",")}]` };
  }

  /** The write's body as a JSON object, or Clerk's refusal (413, 400, 422). */
  private writeBody(rec: RecordedRequest, tooLarge: boolean): { object: JsonObject } | { refused: Reply } {
    if (tooLarge) {
      const long = `The request body exceeds the maximum allowed size of ${MAX_BODY_BYTES} bytes.`;
      return { refused: errorReply(413, [{ message: "Request body too large", long_message: long, code: "request_body_too_large" }]) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rec.body ?? "");
    } catch {
      const long = "The request body is invalid. Please consult the API documentation for more information.";
      return { refused: errorReply(400, [{ message: "Request body invalid", long_message: long, code: "request_body_invalid" }]) };
    }
    if (!isJsonObject(parsed)) {
      const long = "The request body must be a JSON object.";
      return { refused: errorReply(422, [{ message: "is unknown", long_message: long, code: "form_param_unknown" }]) };
    }
    return { object: parsed };
  }

  /** Quota check shared by every write route; null means go ahead (and the write is counted on commit). */
  private writeQuota(userId: string, t: number): Reply | null {
    const wait = this.parts.limits.userWrites?.check(userId, t) ?? null;
    return wait === null ? null : tooManyRequests(wait);
  }

  private commit({ user, body, rec, t }: Write): Reply {
    this.parts.limits.userWrites?.hit(user.id, t);
    // Strictly increasing per user, so two states of one user never share an updated_at.
    user.updatedAt = Math.max(t, user.updatedAt + 1);
    this.parts.applied.push({ method: rec.method, path: rec.path, at: t, body });
    this.parts.changed(user);
    return { status: 200, body: userBody(user) };
  }

  private writeMetadata(write: Write, mode: "merge" | "replace"): Reply {
    const { user, body, t } = write;
    const { maxMetadataBytes } = this.parts;
    const unknown = Object.keys(body).filter((k) => !(METADATA_FIELDS as readonly string[]).includes(k));
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
    const limited = this.writeQuota(user.id, t);
    if (limited) return limited;
    for (const f of fields) {
      const v = next[f];
      if (v) user.metadata[f] = v;
    }
    return this.commit(write);
  }

  private updateUser(write: Write): Reply {
    const { user, body, t } = write;
    const errors: ClerkErrorItem[] = [];
    for (const k of Object.keys(body)) {
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
    const limited = this.writeQuota(user.id, t);
    if (limited) return limited;
    for (const k of STORED_USER_PARAMS) {
      if (Object.hasOwn(body, k)) user.profile[k] = body[k] as string | null;
    }
    return this.commit(write);
  }
}

/** One write that reached its route: the user, its parsed body, its record and its time. */
interface Write {
  user: StoredUser;
  body: JsonObject;
  rec: RecordedRequest;
  t: number;
}
