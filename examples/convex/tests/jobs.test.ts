// Bulk jobs of clerk-metadata-wasm/convex on @convex-dev/workpool, through convex-test, against
// the local Clerk-compatible server: per-item results, progress, injected failures, cancelling.
import { describe, expect, test } from "vitest";
import { api, internal } from "../convex/_generated/api";
import { busiestWindow, newConvex, useLocalClerk } from "./setup";

// Clerk's production instance limit on both sides (the local server's key is an sk_test_ one, so
// the example's ClerkConvex is told through this variable; an app leaves it unset and gets 100 or
// 1000 per 10 s from its key): thousands of requests in seconds, and a limit that really bites.
process.env.CLERK_INSTANCE_LIMIT = "1000";
const clerk = useLocalClerk({}, { instanceLimit: { requests: 1000, windowMs: 10_000 } });


type Progress = { status: string; total: number; done: number; failed: number };

async function watch(read: () => Promise<Progress>, finished: (p: Progress) => boolean, ms: number): Promise<Progress[]> {
  const seen: Progress[] = [];
  const stop = Date.now() + ms;
  for (;;) {
    const progress = await read();
    seen.push(progress);
    if (finished(progress) || Date.now() > stop) return seen;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const ids = (n: number, prefix = "user_bulk_") => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

describe("bulk jobs (@convex-dev/workpool)", () => {
  test(
    "a 2,000-user backfill completes with per-item results, injected failures included, and its progress moves from 0 to 2,000",
    async () => {
      const t = newConvex();
      const userIds = ids(2000);
      for (const id of userIds.slice(0, 1990)) clerk.server.createUser(id, { public_metadata: { since: 2024 } });
      // Ten users do not exist (404), and three 503s are retried by the package's own rules.
      clerk.server.injectFault({ fault: { kind: "status", status: 503 }, method: "PATCH", times: 3 });

      const jobId = await t.mutation(api.scale.backfillRole, { userIds, role: "customer" });
      const seen = await watch(() => t.query(api.scale.backfillProgress, { jobId }), (p) => p.status !== "running", 120_000);
      const last = seen[seen.length - 1];
      expect(last).toEqual({ status: "done", total: 2000, done: 2000, failed: 10 });
      expect(seen[0]?.done).toBeLessThan(2000);
      expect(seen.some((p) => p.done > 0 && p.done < 2000)).toBe(true);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);

      for (const id of userIds.slice(0, 1990)) {
        expect(clerk.server.getUser(id)?.public_metadata).toEqual({ since: 2024, role: "customer" });
      }
      const failures = await t.query(api.scale.backfillFailures, { jobId });
      expect(failures.map((f) => f.userId).sort()).toEqual(userIds.slice(1990));
      for (const failure of failures) expect(failure.error).toMatchObject({ code: "resource_not_found", status: 404 });
      expect(clerk.server.requests.filter((r) => r.status === 503)).toHaveLength(3);
      // The shared instance limit held: no 429, and no 10 s of the server's saw more than 1000.
      expect(clerk.server.requests.filter((r) => r.status === 429)).toEqual([]);
      expect(busiestWindow(clerk.server.requests.map((r) => r.at), 10_000)).toBeLessThanOrEqual(1000);
    },
    180_000,
  );

  test(
    "cancelling a job stops it: batches not yet started send nothing, and the job says canceled",
    async () => {
      const t = newConvex();
      const userIds = ids(400, "user_cancel_");
      for (const id of userIds) clerk.server.createUser(id, {});
      // Slow answers keep most batches waiting when the cancel lands.
      clerk.server.injectFault({ fault: { kind: "delay", ms: 300 }, method: "PATCH", times: 400 });
      const jobId = await t.mutation(api.scale.backfillRole, { userIds, role: "admin" });
      await watch(() => t.query(api.scale.backfillProgress, { jobId }), (p) => p.done > 0, 60_000);
      await t.mutation(api.scale.cancelBackfill, { jobId });
      const sentAtCancel = clerk.server.requests.length;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const progress = await t.query(api.scale.backfillProgress, { jobId });
      expect(progress.status).toBe("canceled");
      expect(progress.done).toBeLessThan(400);
      // Batches already running finish their own items; nothing else is sent.
      const sentAfter = clerk.server.requests.length - sentAtCancel;
      expect(sentAtCancel + sentAfter).toBeLessThan(400);
      expect(clerk.server.applied.length).toBeLessThan(400);
    },
    120_000,
  );

  test(
    "a batch run again (as the workpool retries an action that died) sends nothing for items already recorded",
    async () => {
      const t = newConvex();
      const userIds = ids(50, "user_again_");
      for (const id of userIds) clerk.server.createUser(id, {});
      const jobId = await t.mutation(api.scale.backfillRole, { userIds, role: "admin" });
      await watch(() => t.query(api.scale.backfillProgress, { jobId }), (p) => p.status !== "running", 60_000);
      const sent = clerk.server.requests.length;
      expect(sent).toBe(50);
      await t.action(internal.clerkJobs.runBatch, { jobId, from: 0, to: 25 });
      await t.mutation(internal.clerkJobs.recordResults, { jobId, results: [{ index: 3, status: "error", error: { code: "x", message: "late duplicate" } }] });
      expect(clerk.server.requests.length).toBe(sent);
      expect(await t.query(api.scale.backfillProgress, { jobId })).toEqual({ status: "done", total: 50, done: 50, failed: 0 });
    },
    60_000,
  );

  test("bad input is refused before anything is queued", async () => {
    const t = newConvex();
    await expect(t.mutation(api.scale.backfillRole, { userIds: ["user_1", ""], role: "admin" })).rejects.toThrow(/userIds\[1\] must be a non-empty string/);
    await expect(t.mutation(api.scale.backfillRole, { userIds: ids(4001), role: "admin" })).rejects.toThrow(/at most 4000 user ids per call/);
    await expect(t.query(api.scale.backfillProgress, { jobId: "not-a-job" })).rejects.toThrow(/no Clerk metadata job "not-a-job"/);
    expect(clerk.server.requests).toEqual([]);
  });
});
