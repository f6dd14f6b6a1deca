#!/usr/bin/env node
// the floor of the package's design, measured beside the real package, @clerk/backend and plain fetch
// in one run: can ANY client built as mandated (HTTP exchange in Rust over the host's fetch, one
// AbortController + one setTimeout per request, serde_json with RawValue, serde-wasm-bindgen
// options) meet the per-call and cold-start targets? The floor is bench/floor/ (built here when
// its output is missing or stale).
//
//   node bench/floor.mjs [--paced-seconds N] [--calls N] [--cold-runs N] [--no-profile]
//
// OURS=path/to/dist/index.mjs picks the package build (default this checkout's dist/index.mjs; its
// testing.mjs beside it runs the local server). Prints a markdown report, also written to
// bench/results/floor.md. Talks to 127.0.0.1 only; every loop is bounded.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync, constants } from "node:zlib";
import { BUNDLE, WASM, build, isStale } from "./floor/build.mjs";
import { GET_POOL, GET_USER, MERGE_USERS, seedUsers, startServer } from "./lib/server.mjs";
import { makeContestants } from "./lib/contestants.mjs";
import { throughput } from "./lib/in-flight.mjs";
import { fmt, median, percentileSorted, rotate, sorted } from "./lib/stats.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const started = performance.now();
const log = (m) => process.stderr.write(`[floor ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${m}\n`);
const argv = process.argv.slice(2);
const intArg = (flag, fallback, max) => {
  const i = argv.indexOf(flag);
  if (i === -1) return fallback;
  const v = Number(argv[i + 1]);
  if (!(Number.isInteger(v) && v > 0 && v <= max)) throw new Error(`${flag} needs an integer 1..${max}`);
  return v;
};
const CFG = {
  pacedSeconds: intArg("--paced-seconds", 30, 600),
  pacedPerSecond: 8,
  calls: intArg("--calls", 5_000, 100_000),
  warmup: 500,
  block: 50,
  coldRuns: intArg("--cold-runs", 15, 100),
  profile: !argv.includes("--no-profile"),
  // As bench/run.mjs's throughput phase: GETs over 512 users, 256 in flight.
  tp: { conc: 256, warmup: 2_048, rounds: 4, calls: 4_096 },
};
const OURS = process.env.OURS ?? join(ROOT, "dist", "index.mjs");

// The floor, built when missing or older than its sources.
if (isStale()) await build({ log });

// Snapshot the package build (index.mjs is self-contained: the wasm is inlined) with the
// testing.mjs and local-server.mjs the local server needs, so a rebuild during the run changes
// nothing measured.
const tmp = mkdtempSync(join(os.tmpdir(), "floor-bench-"));
const snap = join(tmp, "pkg-snapshot");
mkdirSync(join(snap, "dist"), { recursive: true });
mkdirSync(join(snap, "scripts"), { recursive: true });
for (const f of ["index.mjs", "testing.mjs"]) copyFileSync(join(dirname(OURS), f), join(snap, "dist", f));
copyFileSync(join(ROOT, "scripts", "local-server.mjs"), join(snap, "scripts", "local-server.mjs"));
const indexPath = join(snap, "dist", "index.mjs");
const indexText = readFileSync(indexPath, "utf8");
const oursWasmPath = join(dirname(OURS), "..", "pkg", "clerk_metadata_wasm_bg.wasm");
const oursWasm = readFileSync(oursWasmPath);
const sha = (data) => createHash("sha256").update(data).digest("hex").slice(0, 12);
const floorWasm = readFileSync(WASM);
const buildNote = `${OURS} ${sha(indexText)} (${indexText.includes(oursWasm.toString("base64")) ? "inlines" : "does NOT inline"} ${oursWasmPath}, ${sha(oursWasm)}); floor ${sha(floorWasm)}`;
const seedPath = join(tmp, "users.json");
writeFileSync(seedPath, JSON.stringify(seedUsers()));

async function withServer(fn) {
  const server = await startServer(snap, seedPath);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

const NAMES = {
  floor: "**floor** (bench/floor: the mandated design, nothing else)",
  ours: "clerk-metadata-wasm, client (rateLimit: false)",
  oursDefault: "clerk-metadata-wasm, createClerkMetadataClient (default options, limiter on)",
  fetchTimeout: "plain fetch + AbortSignal.timeout",
  clerk: "@clerk/backend",
  fetch: "plain fetch",
};
const HOT_RATE_LIMIT = { instance: { requests: 1000, windowMs: 1 }, userWrites: { requests: 10, windowMs: 1 } };
const mergeBody = (i) => ({ lastSeen: i, prefs: { theme: "dark", lang: "en" } });

/** Every contestant of one mode: `hot` (back to back) or paced (as users call it). */
async function contestants(server, mode) {
  const { url, secretKey } = server;
  const c = await makeContestants({ root: snap, indexPath, url, secretKey });
  const { createFloorClient } = await import(pathToFileURL(BUNDLE).href);
  const floor = createFloorClient({ secretKey, apiUrl: url });
  // Default options, counting waits. Back to back, Clerk's windows (100 requests and 10 writes
  // per user a 10 s) would be full within a second, so the hot loop uses 1 ms windows (51 ms
  // with the limiter's 50 ms safety margin) and 1000 requests: the same bookkeeping (a slot
  // taken and released per request, a write slot per user), a limit never reached.
  const waits = { n: 0 };
  const onWait = () => waits.n++;
  const rateLimit = mode === "hot" ? HOT_RATE_LIMIT : undefined;
  const defaults = c.ours.createClerkMetadataClient({ secretKey, apiUrl: url, onWait, ...(rateLimit ? { rateLimit } : {}) });
  let n = 0;
  let p = 0;
  const pool = () => GET_POOL[p++ % GET_POOL.length];
  const fns = {
    get: {
      floor: mode === "hot" ? () => floor.get(GET_USER) : () => floor.get(pool()),
      ours: mode === "hot" ? c.get.ours : c.getPool.ours,
      oursDefault: () => defaults.getUserPublicMetadata(pool()),
      fetchTimeout: mode === "hot" ? c.getReference.fetchTimeout : c.asUsers.get.fetchTimeout,
      clerk: mode === "hot" ? c.get.clerk : c.asUsers.get.clerk,
      fetch: mode === "hot" ? c.get.fetch : c.getPool.fetch,
    },
    merge: {
      floor: mode === "hot" ? () => floor.merge(MERGE_USERS[3], mergeBody(n++)) : () => floor.merge(pool(), mergeBody(n++)),
      ours: c.merge.ours,
      oursDefault: () => defaults.mergeUserPublicMetadata(pool(), mergeBody(n++)),
      fetchTimeout: c.asUsers.merge.fetchTimeout,
      clerk: mode === "hot" ? c.merge.clerk : c.asUsers.merge.clerk,
      fetch: c.merge.fetch,
    },
  };
  // Calls in flight together name different users (the package shares one request among
  // concurrent reads of one user), as in bench/run.mjs's throughput phase.
  const tp = {
    floor: () => floor.get(pool()),
    ours: c.getPool.ours,
    fetchTimeout: c.asUsers.get.fetchTimeout,
    clerk: c.getPool.clerk,
    fetch: c.getPool.fetch,
  };
  // The floor answers as the package does.
  const expected = JSON.stringify(await c.client.getUserPublicMetadata(GET_USER));
  if (JSON.stringify(await floor.get(GET_USER)) !== expected) throw new Error("sanity: the floor's GET differs from the package's");
  const merged = await floor.merge(MERGE_USERS[3], mergeBody(0));
  if (merged.lastSeen !== 0 || merged.prefs?.theme !== "dark") throw new Error("sanity: the floor's merge did not land");
  return { fns, tp, waits, wire: c.wire };
}

const summary = (values, cpuUs) => {
  const s = sorted(values);
  return { calls: s.length, median: median(s), p99: percentileSorted(s, 99), cpuUsPerCall: cpuUs / s.length };
};

/** Back to back, interleaved in blocks (the first contestant rotates each round). */
async function hot(fns) {
  const names = Object.keys(fns);
  for (const k of names) for (let i = 0; i < CFG.warmup; i++) await fns[k]();
  const samples = Object.fromEntries(names.map((k) => [k, []]));
  const cpu = Object.fromEntries(names.map((k) => [k, 0]));
  for (let r = 0; r < Math.ceil(CFG.calls / CFG.block); r++) {
    for (const k of rotate(names, r)) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < CFG.block; i++) {
        const t0 = performance.now();
        await fns[k]();
        samples[k].push(performance.now() - t0);
      }
      const c = process.cpuUsage(c0);
      cpu[k] += c.user + c.system;
    }
  }
  return Object.fromEntries(names.map((k) => [k, summary(samples[k], cpu[k])]));
}

/** `pacedPerSecond` calls a second per contestant, interleaved (as bench/run.mjs's `paced`). */
async function paced(fns) {
  const names = Object.keys(fns);
  for (const k of names) await fns[k]();
  const samples = Object.fromEntries(names.map((k) => [k, []]));
  const cpu = Object.fromEntries(names.map((k) => [k, 0]));
  for (let second = 0; second < CFG.pacedSeconds; second++) {
    const next = performance.now() + 1000;
    for (let i = 0; i < CFG.pacedPerSecond; i++) {
      for (const k of rotate(names, second + i)) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await fns[k]();
        samples[k].push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu[k] += c.user + c.system;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  return Object.fromEntries(names.map((k) => [k, summary(samples[k], cpu[k])]));
}

/** `node script` with env; its last stdout line as JSON. */
async function runChild(script, env) {
  const child = spawn(process.execPath, [join(BENCH, "floor", script)], { cwd: BENCH, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  const [code, signal] = await once(child, "exit");
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} exited ${code ?? signal}: ${err.trim().slice(-1500)}`);
  return JSON.parse(out.trim().split("\n").at(-1));
}

async function coldStart(server, headers) {
  const names = ["floor", "ours", "clerk", "host"];
  const emptyPath = join(tmp, "empty.mjs");
  writeFileSync(emptyPath, "export default 1;\n");
  const urls = { floorUrl: pathToFileURL(BUNDLE).href, oursUrl: pathToFileURL(indexPath).href, emptyUrl: pathToFileURL(emptyPath).href };
  const env = (which, settleMs) => ({
    BENCH_FLOOR_COLD: JSON.stringify({ which, settleMs, url: server.url, secretKey: server.secretKey, ...urls, user: GET_USER, headers }),
  });
  // Each contestant with the clock started right after the warm-up fetch (as bench/cold-child.mjs
  // does) and after the host has settled for 100 ms, all interleaved.
  const runs = names.flatMap((k) => [[k, 0], [k, 100]]);
  for (const [k, settle] of runs) await runChild("cold-child.mjs", env(k, settle)); // file cache; discarded
  const rows = new Map(runs.map(([k, settle]) => [`${k}/${settle}`, []]));
  for (let r = 0; r < CFG.coldRuns; r++) {
    for (const [k, settle] of rotate(runs, r)) rows.get(`${k}/${settle}`).push(await runChild("cold-child.mjs", env(k, settle)));
  }
  const fields = ["importMs", "createMs", "callMs", "totalMs", "wasmCompileMs", "wasmInstantiateMs"];
  const summarise = (settle) =>
    Object.fromEntries(names.map((k) => [k, Object.fromEntries(fields.map((f) => [f, median(rows.get(`${k}/${settle}`).map((x) => x[f]))]))]));
  return { immediate: summarise(0), settled: summarise(100) };
}

// ---------------------------------------------------------------------------------------------
const R = { loadStart: os.loadavg() };
try {
  await withServer(async (server) => {
    const { fns, waits, wire } = await contestants(server, "hot");
    R.wire = wire;
    for (const op of ["get", "merge"]) {
      log(`hot ${op}: ${CFG.calls} calls × ${Object.keys(fns[op]).length} contestants, blocks of ${CFG.block}`);
      R[`hot_${op}`] = await hot(fns[op]);
    }
    R.hotWaits = waits.n;
  });
  await withServer(async (server) => {
    const { tp } = await contestants(server, "paced");
    log(`throughput GET: ${CFG.tp.rounds} rounds × ${CFG.tp.calls} calls, ${CFG.tp.conc} in flight`);
    R.tp = await throughput(tp, CFG.tp);
  });
  for (const op of ["get", "merge"]) {
    // A fresh server and default client (an empty limiter) for each operation.
    await withServer(async (server) => {
      const { fns, waits } = await contestants(server, "paced");
      log(`paced ${op}: ${CFG.pacedSeconds} s × ${CFG.pacedPerSecond} calls/s per contestant`);
      R[`paced_${op}`] = await paced(fns[op]);
      R[`pacedWaits_${op}`] = waits.n;
    });
  }
  await withServer(async (server) => {
    log(`cold start: ${CFG.coldRuns} fresh processes per contestant`);
    R.cold = await coldStart(server, R.wire.get.headers);
  });
  if (CFG.profile) {
    log("CPU profile: GET and merge, floor vs package vs plain fetch");
    R.profile = await withServer((server) =>
      runChild("profile-child.mjs", {
        BENCH_FLOOR_PROF: JSON.stringify({ url: server.url, secretKey: server.secretKey, root: snap, indexPath, floorPath: BUNDLE, calls: 2_400, rounds: 6, warmup: 300, intervalUs: 100 }),
      }),
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const gz = (b) => gzipSync(b, { level: constants.Z_BEST_COMPRESSION }).length;
R.size = { floor: { raw: floorWasm.length, gzip: gz(floorWasm) }, ours: { raw: oursWasm.length, gzip: gz(oursWasm) } };
R.loadEnd = os.loadavg();
R.seconds = (performance.now() - started) / 1000;

// ---------------------------------------------------------------------------------------------
const { renderReport } = await import("./floor/report.mjs");
const report = renderReport({ R, CFG, NAMES, HOT_RATE_LIMIT, buildNote, clerkVersion: JSON.parse(readFileSync(join(BENCH, "node_modules", "@clerk", "backend", "package.json"), "utf8")).version });
mkdirSync(join(BENCH, "results"), { recursive: true });
writeFileSync(join(BENCH, "results", "floor.md"), report);
process.stdout.write(`${report}\n`);
log(`done in ${R.seconds.toFixed(0)} s; wrote bench/results/floor.md`);
