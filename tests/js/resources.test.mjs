// "Leaves nothing running": after a call settles (success, timeout, abort, failure), no timer or
// socket of the package's is left behind to keep a short-lived host (a Convex action, a CLI, an
// edge function) alive. Counted with Node's own list of active resources.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pkg, withServer, LOCAL_SECRET_KEY } from "./package-helpers.mjs";

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

test("each request has its own timer, for timeoutMs or what is left of deadlineMs", async () => {
  // Read the delay each request's timer asks for (its AbortController's abort, bound: "bound
  // abort") instead of timing the wall clock.
  const realSet = globalThis.setTimeout;
  const asked = [];
  globalThis.setTimeout = function (callback, ms, ...rest) {
    if (callback?.name === "bound abort") asked.push(ms);
    return realSet.call(this, callback, ms, ...rest);
  };
  try {
    await withServer({ users: { u: { public_metadata: { a: 1 } } } }, async (server) => {
      for (const timeoutMs of [20_000, 5_000, 200]) {
        const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: server.url, timeoutMs, maxRetries: 0 });
        asked.length = 0;
        await Promise.all([c.getUserPublicMetadata("u"), c.mergeUserPublicMetadata("u", { b: 1 })]);
        assert.deepEqual(asked, [timeoutMs, timeoutMs], `timeoutMs ${timeoutMs}: one timer per request`);
      }
      const bounded = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: server.url, timeoutMs: 5_000, deadlineMs: 300 });
      asked.length = 0;
      await bounded.getUserPublicMetadata("u");
      assert.equal(asked.length, 1);
      assert.ok(asked[0] <= 300 && asked[0] > 250, `the deadline bounds the request: ${asked[0]} ms`);
    });
  } finally {
    globalThis.setTimeout = realSet;
  }
});

test("no timer outlives a call, whatever its outcome", async () => {
  await withServer({ users: { u: { public_metadata: { a: 1 } } } }, async (server) => {
    const c = pkg.createClerkMetadataClient({
      secretKey: LOCAL_SECRET_KEY,
      apiUrl: server.url,
      timeoutMs: 60_000,
      maxRetries: 0,
    });
    const before = timers();
    await c.getUserPublicMetadata("u");
    await c.mergeUserPublicMetadata("u", { b: 2 });
    await assert.rejects(c.getUserPublicMetadata("user_missing"));
    server.injectFault({ fault: { kind: "delay", ms: 300 } });
    const controller = new AbortController();
    const aborted = assert.rejects(c.getUserPublicMetadata("u", { signal: controller.signal }), { code: "aborted" });
    setTimeout(() => controller.abort(), 20);
    await aborted;
    const short = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: server.url, timeoutMs: 50, maxRetries: 0 });
    server.injectFault({ fault: { kind: "delay", ms: 300 } });
    await assert.rejects(short.getUserPublicMetadata("u"), { code: "timeout" });
    // The server's own delay timers (300 ms) are still running for the abandoned requests.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(timers(), before, `timers left: ${process.getActiveResourcesInfo().join(", ")}`);
  });
});

test("a timed-out request is aborted: its connection closes, nothing waits for the server", async () => {
  // A request that outlives timeoutMs must not keep its socket (and with it the process) for as
  // long as the server stays silent, nor keep downloading; it is aborted, not abandoned.
  await withServer({ users: { u: { public_metadata: { a: 1 } } } }, async (server) => {
    const sockets = () => process.getActiveResourcesInfo().filter((kind) => kind === "TCPSocketWrap").length;
    const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: server.url, timeoutMs: 100, maxRetries: 0 });
    await c.getUserPublicMetadata("u"); // a pooled connection exists before counting
    const before = sockets();
    server.injectFault({ fault: { kind: "delay", ms: 3000 } });
    const started = performance.now();
    await assert.rejects(c.getUserPublicMetadata("u"), { code: "timeout" });
    assert.ok(performance.now() - started < 1000, "the call ends at its deadline");
    // Both ends of the aborted connection close promptly (the server's 3 s delay is still running).
    for (let i = 0; i < 50 && sockets() > before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(sockets() <= before, `sockets still open: ${process.getActiveResourcesInfo().join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 3100)); // let the server's delay timer end
  });
});

test("exchanges that share a deadline: the slow one times out alone, the others and their connections are untouched", async () => {
  // Requests started together share one deadline and one AbortController (src/transport.js);
  // aborting it for the one still pending must not touch a member that already has its answer,
  // nor the pooled connection that member's answer came on.
  await withServer({ users: { fast: { public_metadata: { a: 1 } }, slow: { public_metadata: { b: 2 } } } }, async (server) => {
    const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, apiUrl: server.url, timeoutMs: 300, maxRetries: 0, rateLimit: false });
    server.injectFault({ fault: { kind: "delay", ms: 2000 }, pathIncludes: "slow" });
    const slow = c.getUserPublicMetadata("slow");
    const fast = [c.getUserPublicMetadata("fast"), c.mergeUserPublicMetadata("fast", { c: 3 }), c.getUserPublicMetadataKey("fast", "a")];
    const started = performance.now();
    const settled = await Promise.allSettled([slow, ...fast]);
    assert.equal(settled[0].status, "rejected");
    assert.equal(settled[0].reason.code, "timeout");
    assert.ok(performance.now() - started < 1500, "the slow one ends at its deadline, not the server's");
    assert.deepEqual(settled.slice(1).map((s) => s.status), ["fulfilled", "fulfilled", "fulfilled"]);
    assert.equal(settled[3].value, 1);
    // Later requests (new deadlines, pooled connections) all succeed, before and after the server
    // finally answers the aborted one.
    for (let round = 0; round < 3; round++) {
      const again = await Promise.all(Array.from({ length: 6 }, () => c.getUserPublicMetadata("fast")));
      for (const metadata of again) assert.deepEqual(metadata, { a: 1, c: 3 });
    }
    await new Promise((resolve) => setTimeout(resolve, 1800));
    assert.deepEqual(await c.getUserPublicMetadata("fast"), { a: 1, c: 3 });
  });
});

test("clients with ever-different timeouts leave nothing behind per timeout", async () => {
  // Shared deadlines are kept by timeout value for the next request to join; a timeout computed
  // per call (a remaining budget) must not leave one behind for every value.
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  const fetch = async () =>
    new Response('{"public_metadata":{"a":1}}', { status: 200, headers: { "content-type": "application/json" } });
  const round = async (from) => {
    for (let i = 0; i < 1500; i++) {
      const c = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, fetch, rateLimit: false, timeoutMs: 10_000 + from + i });
      await c.getUserPublicMetadata("u");
      // Each generation stays open for up to 10 ms: let some close as they would between calls.
      if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 12));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
    return process.memoryUsage().heapUsed;
  };
  await round(0); // warm-up: code, caches, the first generations
  const before = await round(2_000);
  const after = await round(4_000);
  // About 1.3 KB per timeout value when they were kept: 1,500 more values would add ~2 MB.
  assert.ok(after - before < 1_000_000, `heap grew by ${after - before} bytes over 1,500 timeout values`);
});
