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
import { defineTable, internalActionGeneric, internalMutationGeneric, internalQueryGeneric } from "convex/server";
import type {
  FunctionReference,
  GenericActionCtx,
  GenericDataModel,
  GenericMutationCtx,
  GenericQueryCtx,
  RegisteredAction,
  RegisteredMutation,
  RegisteredQuery,
} from "convex/server";
import { v } from "convex/values";
import { createClerkMetadataClient } from "./index.js";
import type { ClerkMetadataClient, ClerkMetadataClientOptions, ClerkRateLimiter, RateLimitWindow } from "./index.js";
import type { ClerkUserMirror } from "./convex/mirror-api.js";
import { CLERK_USER_WRITES, convexLimiter } from "./convex/limiter.js";
import type { SharedLimits } from "./convex/limiter.js";
import { Jobs } from "./convex/jobs.js";

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
   * bucket of 90 % of the window and a burst of 5 %, so a window never sees 95 % of it (94 of 100).
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
    return convexLimiter(this.options.rateLimiter, ctx, this.limits);
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

export * from "./convex/mirror-api.js";
