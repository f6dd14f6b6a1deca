// Shared helpers for the tests of clerk-metadata-wasm/redis (dist/redis.mjs) against a real
// redis-server. Not a test file itself. redis-server must be installed (scripts/setup.sh does it):
// a missing server fails these tests with a message, it does not skip them.
import assert from "node:assert/strict";
import { spawn, fork, execFileSync } from "node:child_process";
import { createServer, connect } from "node:net";
import { once } from "node:events";

/** The redis entry as users import it (ESM). */
export const redisEntry = await import(new URL("../../dist/redis.mjs", import.meta.url).href);

const REDIS_SERVER = process.env.REDIS_SERVER ?? "redis-server";

function assertRedisInstalled() {
  try {
    execFileSync(REDIS_SERVER, ["--version"], { stdio: "ignore" });
  } catch {
    assert.fail(
      `${REDIS_SERVER} is not installed: the clerk-metadata-wasm/redis tests need a real Redis ` +
        "(bash scripts/setup.sh installs it with apt-get; or set REDIS_SERVER to its path)",
    );
  }
}

/** A port nothing listens on right now. */
export async function freePort() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

async function listening(port, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) assert.fail(`redis-server did not listen on ${port} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts `redis-server` on a free loopback port, no persistence. `password` sets requirepass (the
 * URL then carries it). Returns { port, url, pid, stop(), kill(), pause(), resume(), restart() }:
 * kill is a crash (SIGKILL), pause/resume SIGSTOP/SIGCONT (a Redis that stops answering but keeps
 * its connections), restart starts a fresh server on the same port.
 */
export async function startRedis({ password } = {}) {
  assertRedisInstalled();
  const port = await freePort();
  let child;
  const launch = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    if (password) args.push("--requirepass", password);
    child = spawn(REDIS_SERVER, args, { stdio: "ignore" });
    await listening(port);
  };
  await launch();
  const exit = async (signal) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    process.kill(child.pid, signal);
    await exited;
  };
  const auth = password ? `:${encodeURIComponent(password)}@` : "";
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get pid() {
      return child.pid;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, "SIGCONT"); // a paused server cannot handle SIGTERM
      await exit("SIGTERM");
    },
    kill: () => exit("SIGKILL"),
    pause: () => process.kill(child.pid, "SIGSTOP"),
    resume: () => process.kill(child.pid, "SIGCONT"),
    restart: launch,
  };
}

/** Runs fn with a fresh Redis; always stops it. */
export async function withRedis(options, fn) {
  const redis = await startRedis(options);
  try {
    return await fn(redis);
  } finally {
    await redis.stop();
  }
}

/** Every key in Redis with its contents (sorted-set members, strings), as text: for "is X in there" checks. */
export async function dumpRedis(url) {
  const { createClient } = await import("redis");
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  try {
    const keys = await client.sendCommand(["KEYS", "*"]);
    const out = [];
    for (const key of keys) {
      const type = await client.sendCommand(["TYPE", key]);
      const value = type === "zset" ? await client.sendCommand(["ZRANGE", key, "0", "-1", "WITHSCORES"]) : await client.sendCommand(["GET", key]);
      out.push({ key, type, value });
    }
    return out;
  } finally {
    client.destroy();
  }
}

const WORKER = new URL("./fixtures/redis-worker.mjs", import.meta.url);

/**
 * Forks `n` worker processes (tests/js/fixtures/redis-worker.mjs), each given config(i); waits
 * until every one has its client ready, starts them together, and returns their reports.
 */
export async function runWorkers(n, config) {
  const workers = Array.from({ length: n }, (_, i) => fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  try {
    const ready = workers.map((w, i) => {
      w.send({ type: "config", config: config(i) });
      return message(w, "ready");
    });
    await Promise.all(ready);
    const done = workers.map((w) => message(w, "done"));
    for (const w of workers) w.send({ type: "go" });
    return (await Promise.all(done)).map((m) => m.report);
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill();
  }
}

function message(worker, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m?.type !== type) return;
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`a worker exited (code ${code}) before "${type}"`));
    worker.on("message", onMessage);
    worker.once("exit", onExit);
  });
}

/**
 * The largest number of `arrivals` (ms timestamps) inside any window of `windowMs`, counted as the
 * local server counts (a hit at h is in the window at t when h > t - windowMs).
 */
export function maxInWindow(arrivals, windowMs) {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[start] <= sorted[end] - windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}
