// Only the Redis limiter's row of `npm run bench` (section 1c), for trying a change quickly:
//   [CALLS=2000] node bench/redis-row.mjs      (after node scripts/build.mjs --skip-wasm)
// Same method as the full bench (lib/loops.mjs's sequential): a local server in its own process,
// contestants interleaved in rounds of 50, medians.
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, seedUsers } from "./lib/server.mjs";
import { startRedisServer, makeRedisContestants, REDIS_NAMES } from "./lib/redis.mjs";
import { sequential } from "./lib/loops.mjs";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const calls = Number(process.env.CALLS ?? 2000);
const block = 50;
const tmp = mkdtempSync(join(tmpdir(), "redis-row-"));
const seedPath = join(tmp, "users.json");
writeFileSync(seedPath, JSON.stringify(seedUsers()));
const server = await startServer(ROOT, seedPath);
const redis = await startRedisServer();
try {
  const c = await makeRedisContestants({ root: ROOT, url: server.url, secretKey: server.secretKey, redisUrl: redis.url });
  for (const [op, fns] of Object.entries({ get: c.get, merge: c.merge })) {
    const m = await sequential(fns, { warmup: 200, calls, block });
    for (const k of Object.keys(m)) console.log(`${op}\t${REDIS_NAMES[k]}\t${(m[k].median * 1000).toFixed(0)} µs\t${(m[k].median / m.builtin.median).toFixed(2)}×`);
  }
  await c.close();
} finally {
  await redis.stop();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
