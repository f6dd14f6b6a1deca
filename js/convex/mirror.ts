/**
 * The mirror of Clerk users in the app's own tables: what a row holds, the one ordering rule every
 * writer goes through (webhooks, read-your-writes, backfill), and the readers for queries and
 * mutations.
 *
 * The rule: a user's state is applied only if its `updated_at` is newer than or equal to the
 * state held, so deliveries in any order end at the newest state. A deletion leaves a tombstone
 * (no metadata, `deleted: true`, the later of the deletion's time and the last state's), which
 * only a strictly newer state replaces: a late `user.updated` cannot bring a deleted user back.
 * Metadata is stored as JSON text: metadata keys may be anything, Convex field names may not.
 */
import { range } from "./range.js";
import { defineTable } from "convex/server";
import type { GenericDatabaseReader, GenericDatabaseWriter, GenericDataModel } from "convex/server";
import type { GenericId } from "convex/values";
import { v } from "convex/values";
import type { ClerkUserObject } from "../index.js";

export const USERS = "clerkMirrorUsers";
export const EVENTS = "clerkMirrorWebhookEvents";
export const BACKFILLS = "clerkMirrorBackfills";

/** A user's state as the mirror stores it: metadata as JSON text, private/unsafe only when opted in. */
export const vUserState = v.object({
  userId: v.string(),
  updatedAt: v.number(),
  publicMetadata: v.string(),
  privateMetadata: v.optional(v.string()),
  unsafeMetadata: v.optional(v.string()),
});
export interface UserState {
  userId: string;
  updatedAt: number;
  publicMetadata: string;
  privateMetadata?: string;
  unsafeMetadata?: string;
}

export const mirrorTables = {
  [USERS]: defineTable({
    userId: v.string(),
    /** Clerk's `updated_at` of the state held; for a tombstone, when the user was deleted. */
    updatedAt: v.number(),
    deleted: v.boolean(),
    publicMetadata: v.optional(v.string()),
    privateMetadata: v.optional(v.string()),
    unsafeMetadata: v.optional(v.string()),
  }).index("by_user_id", ["userId"]),
  [EVENTS]: defineTable({ svixId: v.string(), receivedAt: v.number() })
    .index("by_svix_id", ["svixId"])
    .index("by_received_at", ["receivedAt"]),
  [BACKFILLS]: defineTable({
    status: v.union(v.literal("running"), v.literal("done"), v.literal("failed")),
    /** The last user id of the last page applied (the next page starts after it); null before the first. */
    cursor: v.union(v.string(), v.null()),
    pageSize: v.number(),
    pages: v.number(),
    /** Users read from Clerk so far. */
    users: v.number(),
    /** Of those, how many changed the mirror (the rest were older than what a webhook had brought). */
    applied: v.number(),
    startedAt: v.number(),
    finishedAt: v.optional(v.number()),
    error: v.optional(v.string()),
  }),
};

export interface Row {
  _id: GenericId<typeof USERS>;
  userId: string;
  updatedAt: number;
  deleted: boolean;
  publicMetadata?: string;
  privateMetadata?: string;
  unsafeMetadata?: string;
}


type Reader = GenericDatabaseReader<GenericDataModel>;
type Writer = GenericDatabaseWriter<GenericDataModel>;

export async function rowOf(db: Reader, userId: string): Promise<Row | null> {
  return (await db
    .query(USERS)
    .withIndex("by_user_id", range((q) => q.eq("userId", userId)))
    .unique()) as Row | null;
}

/** What the mirror keeps of a user object: public metadata always, the others only when opted in. */
export function stateOf(user: ClerkUserObject, keep: { private: boolean; unsafe: boolean }): UserState {
  const state: UserState = { userId: user.id, updatedAt: user.updated_at, publicMetadata: JSON.stringify(user.public_metadata ?? {}) };
  if (keep.private) state.privateMetadata = JSON.stringify(user.private_metadata ?? {});
  if (keep.unsafe) state.unsafeMetadata = JSON.stringify(user.unsafe_metadata ?? {});
  return state;
}

/** Applies a state under the ordering rule; true when it changed the mirror. */
export async function applyState(db: Writer, state: UserState): Promise<boolean> {
  const row = await rowOf(db, state.userId);
  const fields = { ...state, deleted: false };
  if (row === null) {
    await db.insert(USERS, fields);
    return true;
  }
  const older = row.deleted ? state.updatedAt <= row.updatedAt : state.updatedAt < row.updatedAt;
  if (older) return false;
  await db.replace(row._id as never, fields);
  return true;
}

/** Applies a deletion at `at` (ms): the user's metadata goes, a tombstone stays. */
export async function applyDeletion(db: Writer, userId: string, at: number): Promise<boolean> {
  const row = await rowOf(db, userId);
  if (row === null) {
    await db.insert(USERS, { userId, updatedAt: at, deleted: true });
    return true;
  }
  if (row.deleted && row.updatedAt >= at) return false;
  await db.replace(row._id as never, { userId, updatedAt: Math.max(at, row.updatedAt), deleted: true });
  return true;
}

/** Records a webhook message id; false when it was seen before. Prunes a few ids past retention. */
export async function firstDelivery(db: Writer, svixId: string, now: number, retentionMs: number): Promise<boolean> {
  const seen = await db
    .query(EVENTS)
    .withIndex("by_svix_id", range((q) => q.eq("svixId", svixId)))
    .first();
  if (seen !== null) return false;
  await db.insert(EVENTS, { svixId, receivedAt: now });
  // Bounded work per delivery: at most 16 expired ids go each time.
  const expired = await db
    .query(EVENTS)
    .withIndex("by_received_at", range((q) => q.lt("receivedAt", now - retentionMs)))
    .take(16);
  for (const old of expired) await db.delete(old._id as never);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

export function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== "string" || userId.length === 0) {
    throw new TypeError(`userId must be a non-empty string, got ${userId === "" ? "an empty string" : typeof userId}`);
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key.length === 0) throw new TypeError("key must be a non-empty string");
}

export type Field = "publicMetadata" | "privateMetadata" | "unsafeMetadata";

/** One field of a mirrored user, parsed; null for a user the mirror does not hold (or deleted). */
export async function readField(db: Reader, userId: string, field: Field): Promise<Record<string, unknown> | null> {
  checkUserId(userId);
  const row = await rowOf(db, userId);
  const text = row === null || row.deleted ? undefined : row[field];
  if (text === undefined) {
    if (row !== null && !row.deleted && field !== "publicMetadata") {
      throw new Error(`the mirror keeps no ${field === "privateMetadata" ? "private" : "unsafe"} metadata: opt in with ClerkUserMirror's ${field === "privateMetadata" ? "mirrorPrivateMetadata" : "mirrorUnsafeMetadata"} (then backfill)`);
    }
    return null;
  }
  return JSON.parse(text) as Record<string, unknown>;
}

export async function readKey(db: Reader, userId: string, key: string): Promise<unknown> {
  checkKey(key);
  const metadata = await readField(db, userId, "publicMetadata");
  return metadata !== null && Object.hasOwn(metadata, key) ? metadata[key] : undefined;
}

export async function hasKey(db: Reader, userId: string, key: string): Promise<boolean> {
  checkKey(key);
  const metadata = await readField(db, userId, "publicMetadata");
  return metadata !== null && Object.hasOwn(metadata, key);
}
