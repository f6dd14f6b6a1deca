// Starts scripts/local-server.mjs in its own process (so the server's CPU is not in the measured
// process) and reads the one JSON line {url, secretKey} it prints once listening.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";

export const GET_USER = "user_bench_get";
/**
 * Users for the concurrent phases: this package shares one request among concurrent reads of the
 * same user, so calls in flight together must name different users for every contestant to do
 * the same work (one request per call). 512 > the 256 calls in flight.
 */
export const GET_POOL = Array.from({ length: 512 }, (_, i) => `user_bench_pool_${i}`);
export const MERGE_USERS = ["user_bench_merge_0", "user_bench_merge_1", "user_bench_merge_2", "user_bench_merge_3"];

/** Seed: a realistic small public metadata object, plus some private/unsafe metadata. */
export function seedUsers() {
  const meta = {
    role: "store_owner",
    permissions: ["orders:read", "orders:write", "products:read", "products:write"],
    plan: "pro",
    onboarding: { completed: true, step: 5 },
    storeIds: ["store_2x9f", "store_8k1c"],
  };
  const users = { [GET_USER]: { public_metadata: meta, private_metadata: { stripeCustomerId: "cus_123" } } };
  for (const id of MERGE_USERS) users[id] = { public_metadata: { ...meta } };
  for (const id of GET_POOL) users[id] = { public_metadata: { ...meta }, private_metadata: { stripeCustomerId: "cus_123" } };
  return users;
}

/**
 * @param {string} root  the package root
 * @param {string} seedPath  a users.json for --seed
 * @returns {Promise<{url: string, secretKey: string, pid: number, stop(): Promise<void>}>}
 */
export async function startServer(root, seedPath) {
  const child = spawn(process.execPath, [join(root, "scripts", "local-server.mjs"), "--no-write-limit", "--seed", seedPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const first = await Promise.race([
    once(lines, "line").then(([line]) => line),
    once(child, "exit").then(([code]) => {
      throw new Error(`local server exited (code ${code}) before printing its URL`);
    }),
  ]);
  clearTimeout(timer);
  lines.close();
  const { url, secretKey } = JSON.parse(first);
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`local server is not on 127.0.0.1: ${url}`);
  return {
    url,
    secretKey,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Servers of `root`'s scripts/local-server.mjs seeded with seedUsers() (written into `tmp`, the
 * run's scratch folder). `withServer(fn)` runs `fn(server)` against a fresh server (a fresh one
 * per phase: its request log and state start empty) and stops it after. `close()` stops any still
 * running and removes `tmp`; SIGINT and SIGTERM do the same, then exit.
 */
export function serverPool(root, tmp) {
  const seedPath = join(tmp, "users.json");
  writeFileSync(seedPath, JSON.stringify(seedUsers()));
  const running = new Set();
  const close = async () => {
    for (const s of running) await s.stop().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => close().finally(() => process.exit(130)));
  return {
    async withServer(fn) {
      const server = await startServer(root, seedPath);
      running.add(server);
      try {
        return await fn(server);
      } finally {
        await server.stop();
        running.delete(server);
      }
    },
    close,
  };
}
