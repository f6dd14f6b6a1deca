// "Leaves nothing running": after a call settles (success, timeout, abort, failure), no timer or
// socket of the package's is left behind to keep a short-lived host (a Convex action, a CLI, an
// edge function) alive. Counted with Node's own list of active resources.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pkg, withServer, LOCAL_SECRET_KEY } from "./package-helpers.mjs";

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

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
