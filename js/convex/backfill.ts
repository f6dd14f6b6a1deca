/**
 * The backfill: Clerk's user list (`GET /v1/users`, read by the client's `listUsers`, whose
 * request the Rust core plans and sends like every other), page by page, into the mirror, as a
 * chain of workpool actions. Pages are read oldest first
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
import type { ClerkBackfillProgress } from "../convex.js";
import { BACKFILLS, applyState } from "./mirror.js";
import type { UserState } from "./mirror.js";

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
