// Regression tests for the defects of the second code review (scripts in /tmp/review/ at the
// time): each asserts the fixed behaviour and would have failed before its fix.
// Run: node --test tests/js/review-fixes.test.mjs   (after node scripts/build.mjs --skip-wasm)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import zlib from "node:zlib";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pkg, startLocalClerkServer, withServer, clientFor, rejection, assertClerkError, until } from "./package-helpers.mjs";

const ID = "user_1";
const OTHER = "user_2";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const publicOf = (s, id = ID) => s.getUser(id).public_metadata;
/** `promise`, or "STILL PENDING" after `ms` (a call that hangs fails the test instead of hanging it). */
const within = (promise, ms) => {
  let timer;
  const pending = new Promise((resolve) => (timer = setTimeout(() => resolve("STILL PENDING"), ms)));
  return Promise.race([promise, pending]).finally(() => clearTimeout(timer));
};
/** What a call settled as: "ok" or its error code, and when (ms after `t0`). */
const settled = (promise, t0) =>
  promise.then(
    (value) => ({ code: "ok", value, at: Date.now() - t0 }),
    (error) => ({ code: error?.code, error, at: Date.now() - t0 }),
  );

describe("1. a body reader whose read() throws synchronously", () => {
  /** A fetch whose first answer is a Response-like object with a throwing reader; real fetch after. */
  function throwingOnce() {
    let calls = 0;
    return (url, init) => {
      if (calls++ === 0) {
        return Promise.resolve({
          status: 200,
          headers: new Headers({ "content-type": "application/json" }),
          body: {
            getReader() {
              return {
                read() {
                  throw new Error("boom from read()");
                },
              };
            },
          },
        });
      }
      return globalThis.fetch(url, init);
    };
  }

  /** Runs fn while recording uncaught exceptions and unhandled rejections; asserts there were none. */
  async function noUncaught(fn) {
    const seen = [];
    const onUncaught = (e) => seen.push(`uncaughtException: ${e?.stack ?? e}`);
    const onUnhandled = (e) => seen.push(`unhandledRejection: ${e?.stack ?? e}`);
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUnhandled);
    try {
      await fn();
      await sleep(20); // let anything thrown from a later tick surface
    } finally {
      process.off("uncaughtException", onUncaught);
      process.off("unhandledRejection", onUnhandled);
    }
    assert.deepEqual(seen, [], "nothing escaped as an uncaught exception or unhandled rejection");
  }

  const seed = () => ({ users: { [ID]: { public_metadata: { a: 1 } }, [OTHER]: {} }, userWriteLimit: false });

  test("the call rejects with a ClerkMetadataError, and the client's next write to another user works", async () => {
    await withServer(seed(), async (s) => {
      await noUncaught(async () => {
        const c = clientFor(s, { rateLimit: false, fetch: throwingOnce() });
        const first = c.public.merge(ID, { b: 1 });
        const err = await within(rejection(first), 1500);
        assert.notEqual(err, "STILL PENDING", "the call settled");
        assertClerkError(err, { operation: "merge", message: /boom from read\(\)/ });
        assert.equal(await within(c.public.merge(OTHER, { c: 1 }).then(() => "ok"), 1500), "ok", "the next write to another user");
        assert.deepEqual(publicOf(s, OTHER), { c: 1 });
      });
    });
  });

  test("with writeSettleMs 0 the next write to the same user resolves too (its lane was handed on)", async () => {
    await withServer(seed(), async (s) => {
      await noUncaught(async () => {
        const c = clientFor(s, { rateLimit: false, writeSettleMs: 0, fetch: throwingOnce() });
        const err = await within(rejection(c.public.merge(ID, { b: 1 })), 1500);
        assert.notEqual(err, "STILL PENDING", "the call settled");
        assertClerkError(err, { operation: "merge" });
        assert.equal(await within(c.public.merge(ID, { b: 2 }).then(() => "ok"), 1500), "ok", "the next write to the same user");
        assert.deepEqual(publicOf(s), { a: 1, b: 2 });
      });
    });
  });
});

describe("2. maxMetadataBytes is bounded and no allocation is sized by the caller", () => {
  test("maxMetadataBytes 1e9 is refused with invalid_argument naming the option", async () => {
    await withServer({ users: { [ID]: {} } }, async (s) => {
      let thrown;
      try {
        clientFor(s, { maxMetadataBytes: 1e9 });
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown, "creating the client threw");
      assertClerkError(thrown, { code: "invalid_argument", message: /maxMetadataBytes/ });
    });
  });

  test("with maxMetadataBytes 1048576 a 9e6-element array is refused asynchronously, nothing sent", async () => {
    await withServer({ users: { [ID]: {} } }, async (s) => {
      const c = clientFor(s, { maxMetadataBytes: 1048576, rateLimit: false });
      let promise;
      assert.doesNotThrow(() => {
        promise = c.public.merge(ID, { a: new Array(9e6) });
      }, "never a synchronous throw");
      assertClerkError(await rejection(promise), { code: "invalid_argument" });
      assert.equal(s.requests.length, 0, "nothing was sent");
      assert.deepEqual(await c.public.get(ID), {}, "the client still works");
    });
  });
});

describe("3. an encoded body is counted after decoding", () => {
  test("a gzip body of correct content-length decoding to over 1 MiB: invalid_response naming the limit", async () => {
    const decoded = JSON.stringify({ id: ID, public_metadata: { x: "a".repeat(2 * 1024 * 1024) }, private_metadata: {}, unsafe_metadata: {} });
    const gz = zlib.gzipSync(decoded);
    assert.ok(gz.length < 1024 * 1024 && decoded.length > 1024 * 1024);
    let received = 0;
    const server = http.createServer((req, res) => {
      received++;
      req.resume();
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": String(gz.length) });
      res.end(gz);
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const c = pkg.createClerkMetadataClient({
        secretKey: "sk_test_local_review_fixes_000000",
        apiUrl: `http://127.0.0.1:${server.address().port}`,
        rateLimit: false,
        retryBaseDelayMs: 1,
      });
      const err = await rejection(c.public.get(ID));
      assertClerkError(err, { code: "invalid_response", operation: "get", message: /1048576-byte limit/ });
      assert.ok(received >= 1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("4. a host limiter", () => {
  /** Timers the limiters below start, cleared at the end of each test so nothing lingers. */
  function timers() {
    const handles = new Set();
    return {
      sleep: (ms) =>
        new Promise((resolve) => {
          const h = setTimeout(() => {
            handles.delete(h);
            resolve();
          }, ms);
          handles.add(h);
        }),
      clear: () => {
        for (const h of handles) clearTimeout(h);
        handles.clear();
      },
    };
  }
  const seed = () => ({ users: { [ID]: { public_metadata: { a: 1 } } }, userWriteLimit: false });

  test("a slot granted after the caller aborted is released once granted", async () => {
    await withServer(seed(), async (s) => {
      let granted = 0;
      let released = 0;
      const limiter = {
        acquire: () =>
          sleep(100).then(() => {
            granted++;
            return () => {
              released++;
            };
          }),
      };
      const c = clientFor(s, { limiter });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 20);
      assertClerkError(await rejection(c.public.get(ID, { signal: ac.signal })), { code: "aborted" });
      await until(() => granted === 1, "the late grant");
      await until(() => released === 1, "the late grant's release");
      await sleep(20);
      assert.equal(released, 1, "released exactly once");
      assert.equal(s.requests.length, 0, "nothing was sent for the aborted call");
    });
  });

  test("a limiter that does not answer for 1.5 s: an abort at 100 ms ends the call at once", async () => {
    const t = timers();
    try {
      await withServer(seed(), async (s) => {
        const c = clientFor(s, { limiter: { acquire: () => t.sleep(1500) } });
        const ac = new AbortController();
        const t0 = Date.now();
        setTimeout(() => ac.abort(), 100);
        const r = await settled(c.public.get(ID, { signal: ac.signal }), t0);
        assert.equal(r.code, "aborted", r.error?.message);
        assert.ok(r.at < 300, `settled ${r.at} ms after the start`);
        assert.equal(s.requests.length, 0);
      });
    } finally {
      t.clear();
    }
  });

  test("a limiter that does not answer for 1.5 s: deadlineMs 300 alone ends the call as a timeout", async () => {
    const t = timers();
    try {
      await withServer(seed(), async (s) => {
        const c = clientFor(s, { limiter: { acquire: () => t.sleep(1500) }, deadlineMs: 300 });
        const t0 = Date.now();
        const r = await settled(c.public.get(ID), t0);
        assert.equal(r.code, "timeout", r.error?.message);
        assert.ok(r.at < 600, `settled ${r.at} ms after the start`);
        assert.equal(s.requests.length, 0);
      });
    } finally {
      t.clear();
    }
  });

  test("a grant later than deadlineMs: the write is not sent, not of unknown outcome, and the next write does not wait writeSettleMs", async () => {
    const t = timers();
    try {
      await withServer(seed(), async (s) => {
        let calls = 0;
        // Slow (400 ms) for the first write only, so the next write measures the lane, not the limiter.
        const limiter = { acquire: () => (calls++ === 0 ? t.sleep(400) : Promise.resolve()) };
        const c = clientFor(s, { limiter, deadlineMs: 300, writeSettleMs: 5000 });
        const err = await rejection(c.public.merge(ID, { b: 2 }));
        assertClerkError(err, { code: "timeout", operation: "merge", outcomeUnknown: false, attempts: 0 });
        await sleep(150); // past the 400 ms grant: nothing is sent after it either
        assert.equal(s.requests.length, 0, "the server saw no request");
        assert.deepEqual(s.applied, []);
        const t1 = Date.now();
        await c.public.merge(ID, { c: 3 });
        const waited = Date.now() - t1;
        assert.ok(waited < 1000, `the next write took ${waited} ms (writeSettleMs is 5000)`);
        assert.deepEqual(publicOf(s), { a: 1, c: 3 });
      });
    } finally {
      t.clear();
    }
  });
});

describe("5. deadlineMs bounds the wait for a user's earlier writes", () => {
  test("three merges to one user, each PATCH delayed 250 ms, deadlineMs 450: all settle by ~800 ms", async () => {
    await withServer({ users: { [ID]: { public_metadata: { a: 1 } } }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false, deadlineMs: 450 });
      await c.public.get(ID); // the connection is open before the clock starts
      s.injectFault({ fault: { kind: "delay", ms: 250 }, method: "PATCH", times: 3 });
      const t0 = Date.now();
      const results = await Promise.all([1, 2, 3].map((n) => settled(c.public.merge(ID, { n }), t0)));
      const summary = JSON.stringify(results.map((r) => `${r.code}@${r.at}`));
      for (const r of results) assert.ok(r.at < 800, `every call settles within ~800 ms: ${summary}`);
      assert.equal(results[0].code, "ok", `the first resolves: ${summary}`);
      assert.ok(results.slice(1).some((r) => r.code === "timeout"), `a later one times out: ${summary}`);
      for (const r of results.slice(1)) if (r.code !== "ok") assertClerkError(r.error, { code: "timeout", operation: "merge" });
    });
  });
});

describe("6. single flight when the leading read aborts", () => {
  test("nine joiners without signals all resolve from at most one re-read", async () => {
    await withServer({ users: { [ID]: { public_metadata: { a: 1 } } } }, async (s) => {
      const c = clientFor(s, { rateLimit: false });
      s.injectFault({ fault: { kind: "delay", ms: 150 }, method: "GET", times: 20 });
      const ac = new AbortController();
      const leader = c.public.get(ID, { signal: ac.signal });
      const joiners = Array.from({ length: 9 }, () => c.public.get(ID));
      setTimeout(() => ac.abort(), 50);
      assertClerkError(await rejection(leader), { code: "aborted" });
      assert.deepEqual(await Promise.all(joiners), Array(9).fill({ a: 1 }));
      const gets = s.requests.filter((r) => r.method === "GET").length;
      assert.ok(gets <= 2, `the server received ${gets} GETs`);
    });
  });
});

describe("7. an injected fetch that changes the Headers it is given", () => {
  const seed = () => ({ users: { [ID]: {}, [OTHER]: {} }, userWriteLimit: false });

  test("a header appended on each call is seen once per request", async () => {
    await withServer(seed(), async (s) => {
      let n = 0;
      const fetch = (url, init) => {
        init.headers.append("x-trace", `trace-${++n}`);
        return globalThis.fetch(url, init);
      };
      const c = clientFor(s, { rateLimit: false, fetch });
      await c.public.get(ID);
      await c.public.get(OTHER);
      await c.public.merge(ID, { a: 1 });
      await c.public.get(ID);
      assert.deepEqual(s.requests.map((r) => r.headers["x-trace"]), ["trace-1", "trace-2", "trace-3", "trace-4"]);
      for (const r of s.requests) assert.equal(r.authorization, "valid");
    });
  });

  test("authorization deleted on the first call only: later requests still carry it", async () => {
    await withServer(seed(), async (s) => {
      let n = 0;
      const fetch = (url, init) => {
        if (n++ === 0) init.headers.delete("authorization");
        return globalThis.fetch(url, init);
      };
      const c = clientFor(s, { rateLimit: false, fetch });
      await rejection(c.public.get(OTHER));
      assert.equal(s.requests[0].authorization, "missing");
      assert.deepEqual(await c.public.get(ID), {});
      await c.public.merge(OTHER, { b: 2 });
      assert.deepEqual(await c.public.get(OTHER), { b: 2 });
      for (const r of s.requests.slice(1)) assert.equal(r.authorization, "valid", `${r.method} ${r.path}`);
    });
  });
});

describe("8. the read cache and a write of unknown outcome", () => {
  test("reads during the settle window are not cached: once the late write lands, a read returns it", async () => {
    await withServer({ users: { [ID]: { public_metadata: { plan: "trial" } } }, userWriteLimit: false }, async (s) => {
      const c = clientFor(s, { rateLimit: false, cache: { ttlMs: 60_000 }, timeoutMs: 150, writeSettleMs: 800 });
      s.injectFault({ fault: { kind: "apply-late", applyAfterMs: 400 }, method: "PATCH" });
      assertClerkError(await rejection(c.public.merge(ID, { plan: "pro" })), { code: "timeout", outcomeUnknown: true });
      assert.equal(s.applied.length, 0, "the late write has not landed yet");
      assert.deepEqual(await c.public.get(ID), { plan: "trial" }, "a read during the settle window: what the server has then");
      assert.equal(s.applied.length, 0, "(still before the late write landed)");
      await until(() => s.applied.length === 1, "the late write");
      await sleep(Math.max(0, s.applied[0].at + 100 - Date.now()));
      assert.deepEqual(publicOf(s), { plan: "pro" });
      assert.deepEqual(await c.public.get(ID), { plan: "pro" }, "a read after the late write landed");
    });
  });
});

describe("9. an option's message never quotes the value", () => {
  test("a secret key pasted into timeoutMs does not appear in the error", () => {
    let thrown;
    try {
      pkg.createClerkMetadataClient({ secretKey: "sk_test_local_review_fixes_000000", timeoutMs: 'sk_live_ab"SECRETTAIL"x' });
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown, "creating the client threw");
    assertClerkError(thrown, { code: "invalid_argument", message: /timeoutMs/ });
    for (const text of [thrown.message, JSON.stringify(thrown), String(thrown), thrown.stack]) {
      assert.ok(!text.includes("SECRETTAIL"), `leaks the tail: ${text}`);
      assert.ok(!text.includes("sk_live_ab"), `leaks the key: ${text}`);
    }
  });
});

describe("10. the CLI asks before clearing with a padded live key", () => {
  const CLI = fileURLToPath(new URL("../../dist/cli.mjs", import.meta.url));
  const LIVE_KEY = "sk_live_local_review_fixes_key_000000000";

  function run(server, key, args) {
    return new Promise((resolve, reject) => {
      const env = { PATH: process.env.PATH, CLERK_SECRET_KEY: key, CLERK_API_URL: server.url };
      const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end("");
    });
  }

  test("clear with a whitespace-padded sk_live_ key, no terminal and no --yes: refused, nothing sent", async () => {
    const server = await startLocalClerkServer({ users: { [ID]: { public_metadata: { keep: 1 } } }, userWriteLimit: false, secretKey: LIVE_KEY });
    try {
      for (const key of [LIVE_KEY, ` ${LIVE_KEY}`, `  ${LIVE_KEY}\n`, `\t${LIVE_KEY} `]) {
        const r = await run(server, key, ["clear", ID]);
        const label = JSON.stringify(key.replace(LIVE_KEY, "<key>"));
        assert.notEqual(r.code, 0, `${label}: non-zero exit (stderr: ${r.stderr})`);
        assert.match(r.stderr, /needs confirmation/, `${label}: refused for want of a confirmation`);
        assert.ok(!(r.stdout + r.stderr).includes(LIVE_KEY), "the key is not printed");
        assert.equal(server.requests.length, 0, `${label}: nothing was sent`);
        assert.deepEqual(publicOf(server), { keep: 1 });
      }
    } finally {
      await server.close();
    }
  });
});
