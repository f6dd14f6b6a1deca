// Quick A/B: sequential GET and merge medians of one or more builds of this package against plain
// fetch (and, with CLERK=1, @clerk/backend), interleaved in rounds against one local server. Not
// part of `npm run bench`; a tool for trying a change:
//   [ROUNDS=30] [PER=100] [CLERK=1] node bench/quick-compare.mjs [label=path/to/index.mjs ...]
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, seedUsers } from "./lib/server.mjs";
import { makeContestants } from "./lib/contestants.mjs";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const builds = process.argv.slice(2).map((arg) => arg.split("="));
if (builds.length === 0) builds.push(["current", join(ROOT, "dist", "index.mjs")]);
const tmp = mkdtempSync(join(tmpdir(), "quick-"));
const seedPath = join(tmp, "users.json");
writeFileSync(seedPath, JSON.stringify(seedUsers()));
const server = await startServer(ROOT, seedPath);
const rounds = Number(process.env.ROUNDS ?? 30), per = Number(process.env.PER ?? 100);
const sets = [];
for (const [label, indexPath] of builds) {
  const c = await makeContestants({ root: ROOT, indexPath: resolve(indexPath), url: server.url, secretKey: server.secretKey });
  sets.push([label, c]);
}
const runs = {};
const add = (k, v) => (runs[k] ??= []).push(v);
const { performance } = globalThis;
async function time(fn) {
  const t = performance.now();
  await fn();
  return (performance.now() - t) * 1000;
}
for (const [, c] of sets) for (let i = 0; i < 300; i++) { await c.get.ours(); await c.get.fetch(); await c.merge.ours(); await c.get.clerk(); await c.merge.clerk(); }
for (let r = 0; r < rounds; r++) {
  for (const [label, c] of sets) {
    for (let i = 0; i < per; i++) add(`get ${label}`, await time(c.get.ours));
    for (let i = 0; i < per; i++) add(`merge ${label}`, await time(c.merge.ours));
  }
  const c = sets[0][1];
  for (let i = 0; i < per; i++) add("get fetch", await time(c.get.fetch));
  for (let i = 0; i < per; i++) add("merge fetch", await time(c.merge.fetch));
  if (process.env.CLERK === "1") {
    for (let i = 0; i < per; i++) add("get @clerk/backend", await time(c.get.clerk));
    for (let i = 0; i < per; i++) add("merge @clerk/backend", await time(c.merge.clerk));
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
for (const op of ["get", "merge"]) {
  const base = median(runs[`${op} fetch`]);
  for (const key of Object.keys(runs).filter((k) => k.startsWith(op + " "))) {
    const m = median(runs[key]);
    console.log(`${key.padEnd(24)} ${m.toFixed(0).padStart(5)} µs  ${(m / base).toFixed(3)}×`);
  }
}
await server.stop();
