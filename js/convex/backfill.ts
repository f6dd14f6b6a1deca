/**
 * The backfill: Clerk's user list (`GET /v1/users`, GetUserList in the 2026-05-12 spec), page by
 * page, into the mirror, as a chain of workpool actions. Pages are read oldest first
 * (`order_by=created_at`) with the `starting_after` cursor (the spec's recommended pagination:
 * a cursor page costs the same however deep), `limit` 1–500; the walk ends at a page shorter
 * than `limit`. Users created during the walk land after the cursor and are read too; users
 * changed or deleted during it are settled by the ordering rule (a page's state never overwrites
 * a newer one a webhook brought, nor revives a deleted user).
 *
 * Each page is one action (retried by the workpool when it fails) and one mutation, which applies
 * the users, records progress, and enqueues the next page only if the backfill's cursor is still
 * the one the action read from, so a page run twice is applied once and never forks the chain.
 */
import type { GenericDatabaseReader, GenericDatabaseWriter, GenericDataModel } from "convex/server";
import type { GenericId } from "convex/values";
import type { ClerkActionCtx, ClerkBackfillProgress } from "../convex.js";
import type { ClerkRateLimiter, ClerkUserObject } from "../index.js";
import { BACKFILLS, applyState } from "./mirror.js";
import type { UserState } from "./mirror.js";

const API_VERSION = "2026-05-12";
const DEFAULT_API_URL = "https://api.clerk.com";

export interface ListSettings {
  secretKey: string | undefined;
  apiUrl: string | undefined;
  limiter: ClerkRateLimiter | undefined;
  fetch: typeof fetch;
  timeoutMs: number;
}

/** The API origin, as the client takes it: a trailing `/` or `/v1` dropped; plain http only to loopback. */
export function apiOrigin(apiUrl: string | undefined): string {
  const raw = (apiUrl ?? DEFAULT_API_URL).trim().replace(/\/+$/, "").replace(/\/v1$/, "");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError("CLERK_API_URL (or apiUrl) is not a URL");
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new TypeError("CLERK_API_URL (or apiUrl) must be https (plain http only to a loopback address)");
  }
  return raw;
}

/** The path and query of one page: the cursor is the last user id of the previous page. */
export function pagePath(limit: number, cursor: string | null): string {
  const query = new URLSearchParams({ limit: String(limit), order_by: "created_at" });
  if (cursor !== null) query.set("starting_after", cursor);
  return `/v1/users?${query.toString()}`;
}

function clerkMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; long_message?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first) return `${first.code ?? "error"}: ${first.long_message ?? first.message ?? ""}`;
  } catch {
    // not Clerk's JSON
  }
  return "no Clerk error body";
}

/** One page of users. Throws (so the workpool retries the action) on any failure; the key is never in a message. */
export async function fetchPage(settings: ListSettings, limit: number, cursor: string | null): Promise<ClerkUserObject[]> {
  const key = settings.secretKey?.trim();
  if (!key) throw new Error("CLERK_SECRET_KEY is not set: the backfill cannot list users");
  if (/\s/.test(key) || !/^sk_(test|live)_/.test(key)) throw new Error("CLERK_SECRET_KEY is malformed (expected sk_test_… or sk_live_…)");
  const path = pagePath(limit, cursor);
  const release = await settings.limiter?.acquire({ userId: "", write: false });
  let response: Response;
  try {
    response = await settings.fetch(`${apiOrigin(settings.apiUrl)}${path}`, {
      method: "GET",
      headers: { authorization: `Bearer ${key}`, "clerk-api-version": API_VERSION, accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } finally {
    if (typeof release === "function") release();
  }
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET /v1/users answered ${response.status} (${clerkMessage(text)})`);
  let users: unknown;
  try {
    users = JSON.parse(text);
  } catch {
    throw new Error("GET /v1/users answered 200 with a body that is not JSON");
  }
  const valid = (u: unknown): u is ClerkUserObject =>
    typeof u === "object" && u !== null && typeof (u as ClerkUserObject).id === "string" && typeof (u as ClerkUserObject).updated_at === "number";
  if (!Array.isArray(users) || !users.every(valid)) throw new Error("GET /v1/users answered 200 without a list of users");
  return users;
}

/** Settings of one page's action, from the mirror's options and the environment. */
export function listSettings(
  ctx: ClerkActionCtx,
  options: { secretKey?: string | undefined; apiUrl?: string | undefined; limiter?: ((ctx: ClerkActionCtx) => ClerkRateLimiter) | undefined; fetch?: typeof fetch | undefined },
): ListSettings {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  return {
    secretKey: options.secretKey ?? env.CLERK_SECRET_KEY,
    apiUrl: options.apiUrl ?? env.CLERK_API_URL,
    limiter: options.limiter?.(ctx),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: 15_000,
  };
}

interface BackfillRow extends ClerkBackfillProgress {
  _id: GenericId<typeof BACKFILLS>;
  cursor: string | null;
  pageSize: number;
}

export async function backfillRow(db: GenericDatabaseReader<GenericDataModel>, backfillId: string): Promise<BackfillRow> {
  const id = db.normalizeId(BACKFILLS, backfillId);
  const row = id === null ? null : ((await db.get(id)) as BackfillRow | null);
  if (row === null) throw new Error(`no Clerk mirror backfill ${JSON.stringify(backfillId)}`);
  return row;
}

/** One page read: its users applied under the ordering rule, progress recorded, the next page enqueued. */
export async function applyPage(
  db: GenericDatabaseWriter<GenericDataModel>,
  page: { backfillId: string; cursor: string | null; states: UserState[]; next: string | null },
  enqueue: (next: string, pageSize: number) => Promise<void>,
): Promise<void> {
  const row = await backfillRow(db, page.backfillId);
  // A page run again (a retried action whose mutation already committed) is applied once.
  if (row.status !== "running" || row.cursor !== page.cursor || (page.cursor === null && row.pages > 0)) return;
  let applied = 0;
  for (const state of page.states) if (await applyState(db, state)) applied += 1;
  await db.patch(row._id as never, {
    cursor: page.next,
    pages: row.pages + 1,
    users: row.users + page.states.length,
    applied: row.applied + applied,
    ...(page.next === null ? { status: "done" as const, finishedAt: Date.now() } : {}),
  });
  if (page.next !== null) await enqueue(page.next, row.pageSize);
}

/** The workpool's word on a page: one that failed for good (after its retries) fails the backfill. */
export async function backfillFinished(
  db: GenericDatabaseWriter<GenericDataModel>,
  backfillId: string,
  result: { kind: string; error?: string },
): Promise<void> {
  if (result.kind === "success") return;
  const row = await backfillRow(db, backfillId);
  if (row.status !== "running") return;
  const error = result.kind === "failed" ? (result.error ?? "the page failed") : "a page was canceled";
  await db.patch(row._id as never, { status: "failed", finishedAt: Date.now(), error });
}
