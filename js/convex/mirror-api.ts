/**
 * The mirror: Clerk users' metadata in the app's tables, for queries and mutations (re-exported
 * by clerk-metadata-wasm/convex). Its rules live in mirror.ts (tables, ordering rule, readers),
 * webhook.ts (the endpoint) and backfill.ts (the user list); this is its public surface.
 */
import { Workpool, vOnCompleteArgs } from "@convex-dev/workpool";
import { httpActionGeneric, internalActionGeneric, internalMutationGeneric } from "convex/server";
import type {
  FunctionReference,
  GenericDatabaseReader,
  GenericDataModel,
  GenericMutationCtx,
  PublicHttpAction,
  RegisteredAction,
  RegisteredMutation,
} from "convex/server";
import { v } from "convex/values";
import type { ClerkActionCtx, WorkpoolComponent } from "../convex.js";
import { createClerkMetadataClient } from "../index.js";
import type { ClerkMetadataClient, ClerkUserObject, MetadataKey, MetadataOf } from "../index.js";
import { BACKFILLS, applyDeletion, applyState, checkUserId, firstDelivery, hasKey, mirrorTables, readField, readKey, rowOf, stateOf, vUserState } from "./mirror.js";
import type { UserState } from "./mirror.js";
import { handleWebhook } from "./webhook.js";
import { applyPage, backfillFinished, backfillRow } from "./backfill.js";

/** A Convex `ctx` that can read the database: a query's or a mutation's (of any app's data model). */
export type ClerkReaderCtx = { db: { get: unknown; query: unknown; normalizeId: unknown } };
/** A mutation's `ctx` (of any app's data model). */
export type ClerkMutationCtx<DataModel extends GenericDataModel = GenericDataModel> = GenericMutationCtx<DataModel>;

/**
 * The database of any app's ctx, as the mirror's rules see it: only the mirror's tables, which
 * the app's schema declares (its data model is a subtype TypeScript cannot relate by itself).
 */
function dbOf(ctx: ClerkReaderCtx): GenericDatabaseReader<GenericDataModel> {
  return ctx.db as GenericDatabaseReader<GenericDataModel>;
}

/** A mirrored user's state, as {@link getMirroredUser} returns it. */
export interface ClerkMirroredUser {
  userId: string;
  /** Clerk's `updated_at` (Unix ms) of the state held. */
  updatedAt: number;
  publicMetadata: MetadataOf<UserPublicMetadata>;
  /** Present only when the mirror keeps private metadata (`mirrorPrivateMetadata`). */
  privateMetadata?: MetadataOf<UserPrivateMetadata>;
  /** Present only when the mirror keeps unsafe metadata (`mirrorUnsafeMetadata`). */
  unsafeMetadata?: MetadataOf<UserUnsafeMetadata>;
}

/** The mirror's tables: spread into the app's schema, `defineSchema({ ...clerkUserMirrorTables, … })`. */
export const clerkUserMirrorTables = mirrorTables;

/**
 * The user's public metadata from the mirror (`{}` when empty), or `null` when the mirror holds
 * no such user (never seen, or deleted). For queries and mutations: reactive, and consistent with
 * the rest of the transaction. Throws a TypeError for an empty or non-string `userId`.
 */
export async function getUserPublicMetadata<T extends object = MetadataOf<UserPublicMetadata>>(ctx: ClerkReaderCtx, userId: string): Promise<T | null> {
  return (await readField(dbOf(ctx), userId, "publicMetadata")) as T | null;
}

/** One key of the user's public metadata from the mirror; `undefined` when absent or the user is unknown. */
export async function getUserPublicMetadataKey<K extends MetadataKey<MetadataOf<UserPublicMetadata>>>(
  ctx: ClerkReaderCtx,
  userId: string,
  key: K,
): Promise<MetadataOf<UserPublicMetadata>[K] | undefined> {
  return (await readKey(dbOf(ctx), userId, key)) as MetadataOf<UserPublicMetadata>[K] | undefined;
}

/** Whether the user's public metadata in the mirror has `key` (whatever its value); `false` for an unknown user. */
export function hasUserPublicMetadataKey(ctx: ClerkReaderCtx, userId: string, key: string): Promise<boolean> {
  return hasKey(dbOf(ctx), userId, key);
}

/**
 * The user's private metadata from the mirror, or `null` for an unknown user. Only when the mirror
 * keeps it (`mirrorPrivateMetadata: true`); otherwise it throws, naming the option.
 */
export async function getUserPrivateMetadata<T extends object = MetadataOf<UserPrivateMetadata>>(ctx: ClerkReaderCtx, userId: string): Promise<T | null> {
  return (await readField(dbOf(ctx), userId, "privateMetadata")) as T | null;
}

/** The user's unsafe metadata from the mirror, as {@link getUserPrivateMetadata} (`mirrorUnsafeMetadata`). */
export async function getUserUnsafeMetadata<T extends object = MetadataOf<UserUnsafeMetadata>>(ctx: ClerkReaderCtx, userId: string): Promise<T | null> {
  return (await readField(dbOf(ctx), userId, "unsafeMetadata")) as T | null;
}

/** The mirrored user with its `updatedAt` (how fresh it is), or `null` for an unknown or deleted user. */
export async function getMirroredUser(ctx: ClerkReaderCtx, userId: string): Promise<ClerkMirroredUser | null> {
  checkUserId(userId);
  const row = await rowOf(dbOf(ctx), userId);
  if (row === null || row.deleted || row.publicMetadata === undefined) return null;
  const publicMetadata = JSON.parse(row.publicMetadata) as MetadataOf<UserPublicMetadata>;
  const user: ClerkMirroredUser = { userId, updatedAt: row.updatedAt, publicMetadata };
  if (row.privateMetadata !== undefined) user.privateMetadata = JSON.parse(row.privateMetadata) as MetadataOf<UserPrivateMetadata>;
  if (row.unsafeMetadata !== undefined) user.unsafeMetadata = JSON.parse(row.unsafeMetadata) as MetadataOf<UserUnsafeMetadata>;
  return user;
}

/** A backfill's progress, for a query (reactive). */
export interface ClerkBackfillProgress {
  status: "running" | "done" | "failed";
  /** Pages of `GET /v1/users` applied. */
  pages: number;
  /** Users read from Clerk. */
  users: number;
  /** Of those, how many changed the mirror (the others were older than what webhooks had brought). */
  applied: number;
  startedAt: number;
  finishedAt?: number;
  /** Why it stopped, for `failed` (the last attempt's error; the secret key is never in it). */
  error?: string;
}

/** The app's exports of {@link ClerkUserMirror.functions}, as `internal.<module>` names them. */
export interface ClerkMirrorFunctionRefs {
  receive: FunctionReference<"mutation", "internal">;
  applyUser: FunctionReference<"mutation", "internal">;
  backfillPage: FunctionReference<"action", "internal">;
  applyPage: FunctionReference<"mutation", "internal">;
  backfillFinished: FunctionReference<"mutation", "internal">;
}

/** What {@link ClerkUserMirror.functions} returns: export all five from the module `functions` names. */
export interface ClerkMirrorFunctions {
  receive: RegisteredMutation<"internal", { svixId: string; state?: unknown; deleted?: { userId: string; at: number } }, Promise<string>>;
  applyUser: RegisteredMutation<"internal", { state: unknown }, Promise<boolean>>;
  backfillPage: RegisteredAction<"internal", { backfillId: string; cursor: string | null; pageSize: number }, Promise<void>>;
  applyPage: RegisteredMutation<"internal", { backfillId: string; cursor: string | null; states: unknown[]; next: string | null }, Promise<void>>;
  backfillFinished: RegisteredMutation<"internal", { workId: string; context: { backfillId: string }; result: { kind: string; error?: string } }, Promise<void>>;
}

export interface ClerkUserMirrorOptions {
  /** The module that exports {@link ClerkUserMirror.functions}, lazily: `() => internal.clerkMirror`. */
  functions: () => ClerkMirrorFunctionRefs;
  /** `components.clerkWorkpool` (`@convex-dev/workpool`): needed for {@link ClerkUserMirror.startBackfill} only. */
  workpool?: WorkpoolComponent | undefined;
  /**
   * The client the backfill lists users with, e.g. `(ctx) => clerk.client(ctx)` of a
   * {@link ClerkConvex}, so its requests share the deployment's limits. Default: a client from
   * `CLERK_SECRET_KEY` and `CLERK_API_URL`, with the per-action limiter.
   */
  client?: ((ctx: ClerkActionCtx) => ClerkMetadataClient) | undefined;
  /**
   * Keep each user's private metadata too. Off by default: once mirrored, it is readable by any
   * query or mutation the app writes, and from there by any client those return it to.
   */
  mirrorPrivateMetadata?: boolean | undefined;
  /** Keep each user's unsafe metadata too (user-writable, so never trust it for permissions). Off by default. */
  mirrorUnsafeMetadata?: boolean | undefined;
  /** The webhook signing secret (`whsec_…`). Default: `CLERK_WEBHOOK_SIGNING_SECRET`, read at each request. */
  signingSecret?: string | undefined;
  /** How long a delivered `svix-id` is remembered to refuse it again (default 7 days; Svix retries for about 28 hours). */
  dedupeRetentionMs?: number | undefined;
}

const vDeletion = v.object({ userId: v.string(), at: v.number() });

/**
 * The mirror of Clerk users: a webhook endpoint, read-your-writes for this package's writes, a
 * backfill, and (exported beside it) the readers for queries and mutations.
 */
export class ClerkUserMirror {
  private readonly options: ClerkUserMirrorOptions;
  private readonly keep: { private: boolean; unsafe: boolean };
  private pool: Workpool | undefined;

  constructor(options: ClerkUserMirrorOptions) {
    if (typeof options?.functions !== "function") {
      throw new TypeError("ClerkUserMirror needs options.functions: () => internal.<module exporting mirror.functions()>");
    }
    const retention = options.dedupeRetentionMs ?? 7 * 24 * 3600_000;
    if (!Number.isFinite(retention) || retention <= 0) throw new TypeError("options.dedupeRetentionMs must be a positive number of ms");
    this.options = { ...options, dedupeRetentionMs: retention };
    this.keep = { private: options.mirrorPrivateMetadata === true, unsafe: options.mirrorUnsafeMetadata === true };
  }

  /** The state the mirror keeps of a Clerk user object (public metadata, and what was opted into). */
  private state(user: ClerkUserObject): UserState {
    return stateOf(user, this.keep);
  }

  /**
   * Read-your-writes: applies Clerk's answer to a write (the user object) at once, under the
   * ordering rule. From an action; {@link ClerkConvex.client} does it for you when given this mirror.
   */
  async record(ctx: ClerkActionCtx, user: ClerkUserObject): Promise<void> {
    await ctx.runMutation(this.options.functions().applyUser, { state: this.state(user) });
  }

  /** `onUserWritten` for a client of this action: `createClerkMetadataClient({ onUserWritten: mirror.onUserWritten(ctx) })`. */
  onUserWritten(ctx: ClerkActionCtx): (user: ClerkUserObject) => Promise<void> {
    return (user) => this.record(ctx, user);
  }

  /** The webhook endpoint: `http.route({ path: "/clerk-users-webhook", method: "POST", handler: mirror.webhook() })`. */
  webhook(): PublicHttpAction {
    const env = () => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
    return httpActionGeneric((ctx, request) =>
      handleWebhook(
        {
          secret: () => this.options.signingSecret ?? env().CLERK_WEBHOOK_SIGNING_SECRET,
          toState: (user) => this.state(user),
          receive: async (actionCtx, received) =>
            (await actionCtx.runMutation(this.options.functions().receive, received.kind === "state"
              ? { svixId: received.svixId, state: received.state }
              : { svixId: received.svixId, deleted: { userId: received.userId, at: received.at } })) as string,
        },
        ctx,
        request,
      ),
    );
  }

  /**
   * Starts a backfill (in a mutation): every user of Clerk's list, page by page (`pageSize` 1–500,
   * default 100), on the workpool. Safe while webhooks arrive. Returns its id for {@link backfillProgress}.
   */
  async startBackfill<DataModel extends GenericDataModel>(appCtx: ClerkMutationCtx<DataModel>, options?: { pageSize?: number }): Promise<string> {
    const ctx = appCtx as unknown as ClerkMutationCtx;
    const pageSize = options?.pageSize ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) throw new RangeError("pageSize must be an integer from 1 to 500 (Clerk's limit)");
    const backfillId = await ctx.db.insert(BACKFILLS, { status: "running", cursor: null, pageSize, pages: 0, users: 0, applied: 0, startedAt: Date.now() });
    await this.enqueuePage(ctx, backfillId, null, pageSize);
    return backfillId;
  }

  /** A backfill's progress (reactive in a query). Throws for an unknown id. */
  async backfillProgress(ctx: ClerkReaderCtx, backfillId: string): Promise<ClerkBackfillProgress> {
    const row = await backfillRow(dbOf(ctx), backfillId);
    const { status, pages, users, applied, startedAt, finishedAt, error } = row;
    return { status, pages, users, applied, startedAt, ...(finishedAt === undefined ? {} : { finishedAt }), ...(error === undefined ? {} : { error }) };
  }

  /** The internal functions the mirror runs on: export all five from the module `functions` names. */
  functions(): ClerkMirrorFunctions {
    const retention = this.options.dedupeRetentionMs ?? 0;
    return {
      receive: internalMutationGeneric({
        args: { svixId: v.string(), state: v.optional(vUserState), deleted: v.optional(vDeletion) },
        handler: async (ctx, { svixId, state, deleted }) => {
          if (!(await firstDelivery(ctx.db, svixId, Date.now(), retention))) return "duplicate";
          const changed = state ? await applyState(ctx.db, state) : deleted ? await applyDeletion(ctx.db, deleted.userId, deleted.at) : false;
          return changed ? "applied" : "stale";
        },
      }),
      applyUser: internalMutationGeneric({
        args: { state: vUserState },
        handler: (ctx, { state }) => applyState(ctx.db, state),
      }),
      backfillPage: internalActionGeneric({
        args: { backfillId: v.string(), cursor: v.union(v.string(), v.null()), pageSize: v.number() },
        handler: async (ctx, { backfillId, cursor, pageSize }) => {
          const client = this.options.client?.(ctx) ?? createClerkMetadataClient();
          // A failure throws, so the workpool retries the page (after the client's own retries).
          const users = await client.listUsers(cursor === null ? { limit: pageSize } : { limit: pageSize, startingAfter: cursor });
          const last = users.at(-1);
          await ctx.runMutation(this.options.functions().applyPage, {
            backfillId,
            cursor,
            states: users.map((user) => this.state(user)),
            // A page shorter than the limit is the last one.
            next: users.length === pageSize && last !== undefined ? last.id : null,
          });
        },
      }),
      applyPage: internalMutationGeneric({
        args: { backfillId: v.string(), cursor: v.union(v.string(), v.null()), states: v.array(vUserState), next: v.union(v.string(), v.null()) },
        handler: (ctx, page) => applyPage(ctx.db, page, (next, pageSize) => this.enqueuePage(ctx, page.backfillId, next, pageSize)),
      }),
      backfillFinished: internalMutationGeneric({
        args: vOnCompleteArgs(v.object({ backfillId: v.string() })),
        handler: (ctx, { context, result }) => backfillFinished(ctx.db, context.backfillId, result),
      }),
    } as unknown as ClerkMirrorFunctions;
  }

  private async enqueuePage(ctx: ClerkMutationCtx, backfillId: string, cursor: string | null, pageSize: number): Promise<void> {
    const component = this.options.workpool;
    if (component === undefined) throw new Error("the backfill needs ClerkUserMirror options.workpool (components.<your @convex-dev/workpool name>)");
    this.pool ??= new Workpool(component, { maxParallelism: 1 });
    const refs = this.options.functions();
    await this.pool.enqueueAction(ctx, refs.backfillPage, { backfillId, cursor, pageSize }, { retry: true, onComplete: refs.backfillFinished, context: { backfillId } });
  }
}
