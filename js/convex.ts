/**
 * clerk-metadata-wasm/convex: Clerk's rate limits shared by every action of a Convex deployment
 * (on `@convex-dev/rate-limiter`), and durable bulk jobs (on `@convex-dev/workpool`).
 *
 * Set-up, in the app: register both components in `convex/convex.config.ts`, spread
 * `clerkMetadataTables` into the schema, make one `ClerkConvex` and export its `jobFunctions()`
 * from the module that `jobs` names. README "At scale" walks through it.
 */
import type { RateLimiter } from "@convex-dev/rate-limiter";
import { Workpool, vOnCompleteArgs } from "@convex-dev/workpool";
import { defineTable, httpActionGeneric, internalActionGeneric, internalMutationGeneric, internalQueryGeneric } from "convex/server";
import type {
  FunctionReference,
  GenericActionCtx,
  GenericDatabaseReader,
  GenericDataModel,
  GenericMutationCtx,
  GenericQueryCtx,
  PublicHttpAction,
  RegisteredAction,
  RegisteredMutation,
  RegisteredQuery,
} from "convex/server";
import { v } from "convex/values";
import { createClerkMetadataClient } from "./index.js";
import type { ClerkMetadataClient, ClerkMetadataClientOptions, ClerkRateLimiter, ClerkUserObject, MetadataKey, MetadataOf, RateLimitWindow } from "./index.js";
import { CLERK_USER_WRITES, convexLimiter } from "./convex/limiter.js";
import type { SharedLimits } from "./convex/limiter.js";
import { Jobs } from "./convex/jobs.js";
import { BACKFILLS, applyDeletion, applyState, firstDelivery, hasKey, mirrorTables, readField, readKey, rowOf, stateOf, vUserState } from "./convex/mirror.js";
import type { UserState } from "./convex/mirror.js";
import { handleWebhook } from "./convex/webhook.js";
import { applyPage, backfillFinished, backfillRow } from "./convex/backfill.js";

/** `components.<name>` of `@convex-dev/rate-limiter`, as registered in convex.config.ts. */
export type RateLimiterComponent = ConstructorParameters<typeof RateLimiter>[0];
/** `components.<name>` of `@convex-dev/workpool`, as registered in convex.config.ts. */
export type WorkpoolComponent = ConstructorParameters<typeof Workpool>[0];
/** The `ctx` of an action (or anything that can run queries and mutations). */
export type ClerkActionCtx = Pick<GenericActionCtx<GenericDataModel>, "runQuery" | "runMutation" | "runAction" | "meta">;

/** A change a bulk job applies to every user of its list. */
export type ClerkJobChange =
  | { kind: "merge"; metadata: Record<string, unknown> }
  | { kind: "setKeys"; entries: Record<string, unknown> }
  | { kind: "removeKeys"; keys: string[] }
  | { kind: "replace"; metadata: Record<string, unknown> };

/** A job's progress: `done` counts finished items, failed ones included, out of `total`. */
export interface ClerkJobProgress {
  status: "running" | "done" | "canceled";
  total: number;
  done: number;
  failed: number;
}

/** One batch of a job: items `from` (inclusive) to `to` (exclusive). */
export type ClerkJobBatch = {
  jobId: string;
  from: number;
  to: number;
};

/** An item's result, as recorded in `clerkMetadataJobItems`. */
export interface ClerkJobItemResult {
  index: number;
  status: "ok" | "error";
  error?: { code: string; status?: number; message: string };
}

/** The app's exports of {@link ClerkConvex.jobFunctions}, as `internal.<module>` names them. */
export interface ClerkJobFunctionRefs {
  runBatch: FunctionReference<"action", "internal", ClerkJobBatch>;
  pendingItems: FunctionReference<"query", "internal", ClerkJobBatch>;
  recordResults: FunctionReference<"mutation", "internal", { jobId: string; results: ClerkJobItemResult[] }>;
  batchFinished: FunctionReference<"mutation", "internal">;
}

/** What {@link ClerkConvex.jobFunctions} returns: export all four from the module `jobs` names. */
export interface ClerkJobFunctions {
  runBatch: RegisteredAction<"internal", ClerkJobBatch, Promise<void>>;
  pendingItems: RegisteredQuery<"internal", ClerkJobBatch, Promise<{ change: string; items: { index: number; userId: string }[] }>>;
  recordResults: RegisteredMutation<"internal", { jobId: string; results: ClerkJobItemResult[] }, Promise<void>>;
  batchFinished: RegisteredMutation<"internal", { workId: string; context: ClerkJobBatch; result: { kind: string; error?: string } }, Promise<void>>;
}

export interface ClerkConvexOptions {
  /** `components.clerkRateLimiter` (any name you registered `@convex-dev/rate-limiter` under). */
  rateLimiter: RateLimiterComponent;
  /** `components.clerkWorkpool`: needed for bulk jobs only. */
  workpool?: WorkpoolComponent | undefined;
  /** The module that exports {@link ClerkConvex.jobFunctions}, lazily: `() => internal.clerkJobs`. */
  jobs?: (() => ClerkJobFunctionRefs) | undefined;
  /**
   * The windows to keep, shared by every action. Defaults: Clerk's 10 writes / 10 s per user, and
   * 100 (`sk_test_`) or 1000 (`sk_live_`) requests / 10 s per instance. Each is kept with a token
   * bucket of 90 % of the window and a burst of 5 %, so a window never sees more than 95 % of it.
   */
  limits?: { userWrites?: RateLimitWindow | undefined; instance?: RateLimitWindow | undefined } | undefined;
  /** How long an exact set may hold its user across actions before the hold lapses (default 75 000 ms). */
  lockLeaseMs?: number | undefined;
  /** Batches of a job worked at once across the deployment (default 10). Requests still pass the shared limits. */
  maxParallelism?: number | undefined;
  /** Options for the clients {@link ClerkConvex.client} makes (their `limiter` is always the shared one). */
  client?: Omit<ClerkMetadataClientOptions, "limiter"> | undefined;
  /**
   * A {@link ClerkUserMirror}: every write of a client from {@link ClerkConvex.client} then
   * updates the mirror with Clerk's answer before it resolves (read-your-writes), then calls any
   * `onUserWritten` of the options.
   */
  mirror?: ClerkUserMirror | undefined;
}

const vBatch = { jobId: v.string(), from: v.number(), to: v.number() };
const vItemResult = v.object({
  index: v.number(),
  status: v.union(v.literal("ok"), v.literal("error")),
  error: v.optional(v.object({ code: v.string(), status: v.optional(v.number()), message: v.string() })),
});

/** The job tables: spread into the app's schema, `defineSchema({ ...clerkMetadataTables, … })`. */
export const clerkMetadataTables = {
  clerkMetadataJobs: defineTable({
    // JSON text: metadata keys may be anything, Convex field names may not (`$…`).
    change: v.string(),
    status: v.union(v.literal("running"), v.literal("done"), v.literal("canceled")),
    total: v.number(),
    done: v.number(),
    failed: v.number(),
    batchSize: v.number(),
  }),
  clerkMetadataJobItems: defineTable({
    jobId: v.id("clerkMetadataJobs"),
    index: v.number(),
    userId: v.string(),
    status: v.union(v.literal("pending"), v.literal("ok"), v.literal("error")),
    error: v.optional(v.object({ code: v.string(), status: v.optional(v.number()), message: v.string() })),
  })
    .index("by_job_index", ["jobId", "index"])
    .index("by_job_status", ["jobId", "status"]),
};

/**
 * The app's ctx as the job engine sees it: only the job tables, which the app's schema declares
 * (its data model is a subtype TypeScript cannot relate to the generic one by itself).
 */
function asGeneric<Ctx>(ctx: Ctx): Ctx extends GenericMutationCtx<infer _> ? GenericMutationCtx<GenericDataModel> : GenericQueryCtx<GenericDataModel> {
  return ctx as never;
}

/** Clerk metadata for a Convex deployment: shared rate limits, clients and bulk jobs. */
export class ClerkConvex {
  private readonly options: ClerkConvexOptions;
  private readonly limits: SharedLimits;
  private jobEngine: Jobs | undefined;

  constructor(options: ClerkConvexOptions) {
    if (typeof options?.rateLimiter !== "object" || options.rateLimiter === null) {
      throw new TypeError("ClerkConvex needs options.rateLimiter: components.<your @convex-dev/rate-limiter name>");
    }
    const lockLeaseMs = options.lockLeaseMs ?? 75_000;
    if (!Number.isFinite(lockLeaseMs) || lockLeaseMs <= 0) throw new TypeError("options.lockLeaseMs must be a positive number of ms");
    this.options = options;
    this.limits = { userWrites: options.limits?.userWrites ?? CLERK_USER_WRITES, instance: options.limits?.instance, lockLeaseMs };
  }

  /** A limiter for this action's requests, shared with every other action through the component. */
  limiter(ctx: ClerkActionCtx): ClerkRateLimiter {
    const secretKey = () => this.options.client?.secretKey ?? (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.CLERK_SECRET_KEY;
    return convexLimiter(this.options.rateLimiter, ctx, this.limits, secretKey);
  }

  /** A client for this action whose requests pass the deployment's shared limits. */
  client(ctx: ClerkActionCtx, options?: Omit<ClerkMetadataClientOptions, "limiter">): ClerkMetadataClient {
    const merged = { ...this.options.client, ...options, limiter: this.limiter(ctx) };
    const mirror = this.options.mirror;
    if (mirror === undefined) return createClerkMetadataClient(merged);
    const own = merged.onUserWritten;
    const record = mirror.onUserWritten(ctx);
    return createClerkMetadataClient({
      ...merged,
      onUserWritten: async (user) => {
        await record(user);
        await own?.(user);
      },
    });
  }

  /**
   * Starts a bulk job (in a mutation): `change` applied to each of `userIds` (at most 4000 per
   * call; add more with {@link addToJob}). Returns the job's id for {@link jobProgress}.
   */
  startJob<DataModel extends GenericDataModel>(ctx: GenericMutationCtx<DataModel>, job: { change: ClerkJobChange; userIds: readonly string[]; batchSize?: number }): Promise<string> {
    return this.engine().start(asGeneric(ctx), job.change, job.userIds, job.batchSize);
  }

  /** Adds users to a job that is not canceled (at most 4000 per call). */
  addToJob<DataModel extends GenericDataModel>(ctx: GenericMutationCtx<DataModel>, jobId: string, userIds: readonly string[]): Promise<void> {
    return this.engine().add(asGeneric(ctx), jobId, userIds);
  }

  /** Cancels a job: batches not yet started do nothing, items left stay `pending`. */
  cancelJob<DataModel extends GenericDataModel>(ctx: GenericMutationCtx<DataModel>, jobId: string): Promise<void> {
    return this.engine().cancel(asGeneric(ctx), jobId);
  }

  /** A job's progress, for a query (reactive like any Convex read). */
  jobProgress<DataModel extends GenericDataModel>(ctx: GenericQueryCtx<DataModel>, jobId: string): Promise<ClerkJobProgress> {
    return this.engine().progress(asGeneric(ctx), jobId);
  }

  /** The internal functions a job runs on: export all four from the module `options.jobs` names. */
  jobFunctions(): ClerkJobFunctions {
    return {
      runBatch: internalActionGeneric({
        args: vBatch,
        handler: (ctx, batch) => this.engine().runBatch(ctx, this.client(ctx), batch),
      }),
      pendingItems: internalQueryGeneric({
        args: vBatch,
        handler: (ctx, batch) => this.engine().pendingItems(ctx, batch),
      }),
      recordResults: internalMutationGeneric({
        args: { jobId: v.string(), results: v.array(vItemResult) },
        handler: (ctx, { jobId, results }) => this.engine().recordResults(ctx, jobId, results),
      }),
      batchFinished: internalMutationGeneric({
        args: vOnCompleteArgs(v.object(vBatch)),
        handler: (ctx, { context, result }) => this.engine().batchFinished(ctx, context, result),
      }),
    } as ClerkJobFunctions;
  }

  private engine(): Jobs {
    if (this.jobEngine !== undefined) return this.jobEngine;
    const { workpool, jobs, maxParallelism } = this.options;
    if (workpool === undefined || jobs === undefined) {
      throw new Error("bulk jobs need ClerkConvex options.workpool (components.<your @convex-dev/workpool name>) and options.jobs (() => internal.<module exporting jobFunctions()>)");
    }
    this.jobEngine = new Jobs(workpool, { maxParallelism: maxParallelism ?? 10 }, jobs);
    return this.jobEngine;
  }
}

// =============================================================================================
// The mirror (issue 16): Clerk users' metadata in the app's tables, for queries and mutations.
// Implementation in js/convex/mirror.ts (tables, ordering rule, readers), webhook.ts (the
// endpoint) and backfill.ts (the user list); the public surface is declared here.
// =============================================================================================

/** A Convex `ctx` that can read the database: a query's or a mutation's (of any app's data model). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app's data model
export type ClerkReaderCtx = { db: GenericDatabaseReader<any> };
/** A mutation's `ctx` (of any app's data model). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app's data model
export type ClerkMutationCtx = GenericMutationCtx<any>;

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
  return (await readField(ctx.db, userId, "publicMetadata")) as T | null;
}

/** One key of the user's public metadata from the mirror; `undefined` when absent or the user is unknown. */
export async function getUserPublicMetadataKey<K extends MetadataKey<MetadataOf<UserPublicMetadata>>>(
  ctx: ClerkReaderCtx,
  userId: string,
  key: K,
): Promise<MetadataOf<UserPublicMetadata>[K] | undefined> {
  return (await readKey(ctx.db, userId, key)) as MetadataOf<UserPublicMetadata>[K] | undefined;
}

/** Whether the user's public metadata in the mirror has `key` (whatever its value); `false` for an unknown user. */
export function hasUserPublicMetadataKey(ctx: ClerkReaderCtx, userId: string, key: string): Promise<boolean> {
  return hasKey(ctx.db, userId, key);
}

/**
 * The user's private metadata from the mirror, or `null` for an unknown user. Only when the mirror
 * keeps it (`mirrorPrivateMetadata: true`); otherwise it throws, naming the option.
 */
export async function getUserPrivateMetadata<T extends object = MetadataOf<UserPrivateMetadata>>(ctx: ClerkReaderCtx, userId: string): Promise<T | null> {
  return (await readField(ctx.db, userId, "privateMetadata")) as T | null;
}

/** The user's unsafe metadata from the mirror, as {@link getUserPrivateMetadata} (`mirrorUnsafeMetadata`). */
export async function getUserUnsafeMetadata<T extends object = MetadataOf<UserUnsafeMetadata>>(ctx: ClerkReaderCtx, userId: string): Promise<T | null> {
  return (await readField(ctx.db, userId, "unsafeMetadata")) as T | null;
}

/** The mirrored user with its `updatedAt` (how fresh it is), or `null` for an unknown or deleted user. */
export async function getMirroredUser(ctx: ClerkReaderCtx, userId: string): Promise<ClerkMirroredUser | null> {
  const publicMetadata = await readField(ctx.db, userId, "publicMetadata");
  const row = publicMetadata === null ? null : await rowOf(ctx.db, userId);
  if (row === null || publicMetadata === null) return null;
  const user: ClerkMirroredUser = { userId, updatedAt: row.updatedAt, publicMetadata: publicMetadata as MetadataOf<UserPublicMetadata> };
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
  async startBackfill(ctx: ClerkMutationCtx, options?: { pageSize?: number }): Promise<string> {
    const pageSize = options?.pageSize ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) throw new RangeError("pageSize must be an integer from 1 to 500 (Clerk's limit)");
    const backfillId = await ctx.db.insert(BACKFILLS, { status: "running", cursor: null, pageSize, pages: 0, users: 0, applied: 0, startedAt: Date.now() });
    await this.enqueuePage(ctx, backfillId, null, pageSize);
    return backfillId;
  }

  /** A backfill's progress (reactive in a query). Throws for an unknown id. */
  async backfillProgress(ctx: ClerkReaderCtx, backfillId: string): Promise<ClerkBackfillProgress> {
    const row = await backfillRow(ctx.db, backfillId);
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
