// The Redis limiter's cost per call: the same sequential GET and merge against the local server,
// through a client with the built-in limiter and through one with createRedisLimiter on a local
// redis-server. Both limiters are given limits no run reaches, so what is measured is each one's
// bookkeeping (for Redis: one script round trip to take a slot, one to release it), never a wait.
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GET_USER, MERGE_USERS } from "./server.mjs";

export const REDIS_NAMES = {
  builtin: "clerk-metadata-wasm, built-in limiter",
  redis: "clerk-metadata-wasm, createRedisLimiter (local redis-server)",
};
const UNREACHED = { requests: 1_000_000, windowMs: 10_000 };

/** Whether redis-server can be run here. */
export function hasRedisServer() {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** redis-server on a free loopback port, no persistence; stop() ends it by pid. */
export async function startRedisServer() {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address();
  probe.close();
  await once(probe, "close");
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  for (let tries = 0; ; tries++) {
    const up = await new Promise((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (up) break;
    if (tries > 250) throw new Error("redis-server did not start");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The two contestants for GET and merge, and close() for the Redis connection. */
export async function makeRedisContestants({ root, indexPath = join(root, "dist", "index.mjs"), url, secretKey, redisUrl }) {
  const ours = await import(pathToFileURL(indexPath).href);
  const { createRedisLimiter } = await import(pathToFileURL(join(root, "dist", "redis.mjs")).href);
  const limiter = createRedisLimiter({ url: redisUrl, secretKey, limits: { userWrites: UNREACHED, instance: UNREACHED }, onUnavailable: "fail" });
  const builtin = ours.createClerkMetadataClient({ secretKey, apiUrl: url, rateLimit: { userWrites: UNREACHED, instance: UNREACHED } });
  const redis = ours.createClerkMetadataClient({ secretKey, apiUrl: url, limiter });
  let n = 0;
  const body = () => ({ lastSeen: n++, prefs: { theme: "dark", lang: "en" } });
  const get = { builtin: () => builtin.getUserPublicMetadata(GET_USER), redis: () => redis.getUserPublicMetadata(GET_USER) };
  const merge = {
    builtin: () => builtin.mergeUserPublicMetadata(MERGE_USERS[0], body()),
    redis: () => redis.mergeUserPublicMetadata(MERGE_USERS[1], body()),
  };
  // Sanity: the Redis one really goes through Redis ("fail" would reject otherwise).
  await get.redis();
  await merge.redis();
  return { get, merge, close: () => limiter.close() };
}
