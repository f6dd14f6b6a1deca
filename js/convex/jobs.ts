/**
 * Bulk jobs on `@convex-dev/workpool`: one change applied to many users, durably.
 *
 * A job is a row in `clerkMetadataJobs` and one row per user in `clerkMetadataJobItems`. Items are
 * worked in batches, each batch one workpool action, retried by the workpool when the action
 * fails. A batch reads its pending items, applies the change through a client whose every request
 * passes the deployment's shared limiter, then records each item's result in one mutation. All
 * four changes are idempotent (the same merge, set, removal or replacement twice ends the same),
 * so a batch run again after a crash only repeats work, never changes the outcome.
 */
import { Workpool } from "@convex-dev/workpool";
import type { WorkpoolOptions } from "@convex-dev/workpool";
import { range } from "./range.js";
import type { GenericDataModel, GenericMutationCtx, GenericQueryCtx } from "convex/server";
import type { GenericId } from "convex/values";
import type { ClerkActionCtx, ClerkJobBatch, ClerkJobChange, ClerkJobFunctionRefs, ClerkJobItemResult, ClerkJobProgress } from "../convex.js";
import type { BatchItemResult, ClerkMetadataClient } from "../index.js";

/** Most user ids one `startJob`/`addToJob` call takes: its item rows stay well within a mutation's limits. */
export const MAX_IDS_PER_CALL = 4000;
const DEFAULT_BATCH_SIZE = 25;

type JobChangeValue = ClerkJobChange;
type BatchArgs = ClerkJobBatch;
type BatchResult = ClerkJobItemResult;

type JobId = GenericId<"clerkMetadataJobs">;

interface JobRow extends ClerkJobProgress {
  _id: JobId;
  change: string;
  batchSize: number;
}
interface ItemRow {
  _id: GenericId<"clerkMetadataJobItems">;
  index: number;
  userId: string;
  status: "pending" | "ok" | "error";
}

function checkChange(change: JobChangeValue): void {
  const plain = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value);
  const valid =
    (change.kind === "merge" || change.kind === "replace" ? plain(change.metadata) : false) ||
    (change.kind === "setKeys" ? plain(change.entries) : false) ||
    (change.kind === "removeKeys" ? Array.isArray(change.keys) && change.keys.every((key) => typeof key === "string") : false);
  if (!valid) throw new TypeError(`startJob: the change must be merge/replace {metadata}, setKeys {entries} or removeKeys {keys}`);
}

function checkIds(userIds: readonly string[]): void {
  if (userIds.length > MAX_IDS_PER_CALL) {
    throw new RangeError(`startJob/addToJob take at most ${MAX_IDS_PER_CALL} user ids per call (got ${userIds.length}); add the rest with addToJob`);
  }
  const bad = userIds.findIndex((id) => typeof id !== "string" || id.trim() === "");
  if (bad >= 0) throw new TypeError(`userIds[${bad}] must be a non-empty string`);
}

async function getJob(db: GenericQueryCtx<GenericDataModel>["db"], jobId: string): Promise<JobRow> {
  const id = db.normalizeId("clerkMetadataJobs", jobId);
  const job = id === null ? null : ((await db.get(id)) as JobRow | null);
  if (job === null) throw new Error(`no Clerk metadata job ${JSON.stringify(jobId)}`);
  return job;
}

/** The job engine of one `ClerkConvex`: its workpool and the app's exported functions. */
export class Jobs {
  private readonly pool: Workpool;
  private readonly refs: () => ClerkJobFunctionRefs;
  constructor(component: ConstructorParameters<typeof Workpool>[0], options: WorkpoolOptions, refs: () => ClerkJobFunctionRefs) {
    this.pool = new Workpool(component, options);
    this.refs = refs;
  }

  async start(ctx: GenericMutationCtx<GenericDataModel>, change: JobChangeValue, userIds: readonly string[], batchSize?: number): Promise<string> {
    checkChange(change);
    checkIds(userIds);
    const size = batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > 500) throw new RangeError("batchSize must be an integer from 1 to 500");
    const jobId = await ctx.db.insert("clerkMetadataJobs", {
      change: JSON.stringify(change),
      status: "running",
      total: 0,
      done: 0,
      failed: 0,
      batchSize: size,
    });
    await this.add(ctx, jobId, userIds);
    return jobId;
  }

  async add(ctx: GenericMutationCtx<GenericDataModel>, jobId: string, userIds: readonly string[]): Promise<void> {
    checkIds(userIds);
    const job = await getJob(ctx.db, jobId);
    if (job.status === "canceled") throw new Error(`job ${jobId} was canceled`);
    const from = job.total;
    for (const [offset, userId] of userIds.entries()) {
      await ctx.db.insert("clerkMetadataJobItems", { jobId: job._id, index: from + offset, userId, status: "pending" });
    }
    const total = from + userIds.length;
    await ctx.db.patch(job._id, { total, status: total > job.done ? "running" : job.status });
    const refs = this.refs();
    for (let start = from; start < total; start += job.batchSize) {
      const batch: BatchArgs = { jobId, from: start, to: Math.min(start + job.batchSize, total) };
      await this.pool.enqueueAction(ctx, refs.runBatch, batch, { retry: true, onComplete: refs.batchFinished, context: batch });
    }
  }

  async cancel(ctx: GenericMutationCtx<GenericDataModel>, jobId: string): Promise<void> {
    const job = await getJob(ctx.db, jobId);
    if (job.status === "running") await ctx.db.patch(job._id, { status: "canceled" });
  }

  async progress(ctx: GenericQueryCtx<GenericDataModel>, jobId: string): Promise<ClerkJobProgress> {
    const { status, total, done, failed } = await getJob(ctx.db, jobId);
    return { status, total, done, failed };
  }

  /** The batch's items still to do, or none when the job was canceled. */
  async pendingItems(ctx: GenericQueryCtx<GenericDataModel>, args: BatchArgs): Promise<{ change: string; items: ItemRow[] }> {
    const job = await getJob(ctx.db, args.jobId);
    if (job.status === "canceled") return { change: job.change, items: [] };
    const rows = (await ctx.db
      .query("clerkMetadataJobItems")
      .withIndex("by_job_index", range((q) => q.eq("jobId", job._id).gte("index", args.from).lt("index", args.to)))
      .collect()) as unknown as ItemRow[];
    return { change: job.change, items: rows.filter((row) => row.status === "pending") };
  }

  async runBatch(ctx: ClerkActionCtx, client: ClerkMetadataClient, args: BatchArgs): Promise<void> {
    const refs = this.refs();
    const { change, items } = (await ctx.runQuery(refs.pendingItems, args)) as { change: string; items: ItemRow[] };
    if (items.length === 0) return;
    const outcomes = await applyChange(client, JSON.parse(change) as JobChangeValue, items);
    const results = outcomes.map((outcome, position): BatchResult => {
      const index = items[position]?.index ?? -1;
      if (outcome.status === "ok") return { index, status: "ok" };
      if (outcome.status === "skipped") return { index, status: "error", error: { code: "skipped", message: "not attempted" } };
      const { code, status, message } = outcome.error;
      return { index, status: "error", error: status === undefined ? { code, message } : { code, status, message } };
    });
    await ctx.runMutation(refs.recordResults, { jobId: args.jobId, results });
  }

  async recordResults(ctx: GenericMutationCtx<GenericDataModel>, jobId: string, results: readonly BatchResult[]): Promise<void> {
    const job = await getJob(ctx.db, jobId);
    let done = 0;
    let failed = 0;
    for (const result of results) {
      const item = (await ctx.db
        .query("clerkMetadataJobItems")
        .withIndex("by_job_index", range((q) => q.eq("jobId", job._id).eq("index", result.index)))
        .unique()) as unknown as ItemRow | null;
      // A batch run twice (a retried action) records each item once.
      if (item === null || item.status !== "pending") continue;
      await ctx.db.patch(item._id, result.error === undefined ? { status: result.status } : { status: result.status, error: result.error });
      done += 1;
      if (result.status === "error") failed += 1;
    }
    const finished = job.done + done;
    await ctx.db.patch(job._id, {
      done: finished,
      failed: job.failed + failed,
      status: job.status === "running" && finished >= job.total ? "done" : job.status,
    });
  }

  /** The workpool's word on a batch: one that failed for good fails its items that are left. */
  async batchFinished(ctx: GenericMutationCtx<GenericDataModel>, batch: BatchArgs, result: { kind: string; error?: string }): Promise<void> {
    if (result.kind === "success") return;
    const { items } = await this.pendingItems(ctx, batch);
    const message = result.kind === "failed" ? `the batch failed after its retries: ${result.error ?? "unknown error"}` : "the batch was canceled";
    const failures = items.map((item): BatchResult => ({ index: item.index, status: "error", error: { code: "batch_failed", message } }));
    await this.recordResults(ctx, batch.jobId, failures);
  }
}

/** Applies the change to the items through the package's many-user operations (concurrency 4). */
function applyChange(client: ClerkMetadataClient, change: JobChangeValue, items: readonly ItemRow[]): Promise<BatchItemResult[]> {
  const options = { concurrency: 4 };
  const users = client.public;
  switch (change.kind) {
    case "merge":
      return users.mergeMany(items.map(({ userId }) => ({ userId, metadata: change.metadata })), options);
    case "setKeys":
      return users.setKeysMany(items.map(({ userId }) => ({ userId, entries: change.entries })), options);
    case "removeKeys":
      return users.removeKeysMany(items.map(({ userId }) => ({ userId, keys: change.keys })), options);
    case "replace":
      return users.replaceMany(items.map(({ userId }) => ({ userId, metadata: change.metadata })), options);
  }
}
