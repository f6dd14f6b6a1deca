#!/usr/bin/env node
// `npm run bench`: clerk-metadata-wasm against plain fetch and @clerk/backend, all in one run.
//
//   node bench/run.mjs [--quick] [--memory-calls N] [--no-profile] [--no-anatomy]
//
// The local Clerk-compatible server runs in its own process (scripts/local-server.mjs
// --no-write-limit), a fresh one per phase, so its CPU and its growing request log stay out of the
// measured process. Contestants are interleaved in rounds (the starting contestant rotates each
// round) to spread machine noise. Prints one markdown report and writes it to
// bench/results/latest.md. Everything talks to 127.0.0.1 only; every loop is bounded.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const started = performance.now();
const log = (msg) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Options
const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(
    "usage: node bench/run.mjs [--quick] [--memory-calls N] [--memory-baseline-calls N] [--no-profile] [--no-anatomy]\n" +
      "  --quick           fewer iterations (CI smoke, < 60 s); no CPU profile, no wasm anatomy\n" +
      "  --memory-calls N  calls of this package in the memory phase (default 100000; quick 1500)\n" +
      "  --memory-baseline-calls N  calls of plain fetch / @clerk/backend there (default 20000; quick 1500)\n" +
      "  --no-profile      skip the CPU profile of the sequential loop\n" +
      "  --no-anatomy      skip the per-crate split of the .wasm (binaryen.js, ~10 s)\n" +
      "  --from-json FILE  only re-render the report from a saved results JSON (bench/results/latest.json)\n",
  );
  process.exit(0);
}
for (const a of argv) {
  if (!["--quick", "--memory-calls", "--memory-baseline-calls", "--no-profile", "--no-anatomy", "--from-json"].includes(a) && !/^\d+$/.test(a) && !a.endsWith(".json")) {
    process.stderr.write(`unknown argument ${a} (see --help)\n`);
    process.exit(2);
  }
}
const fromIdx = argv.indexOf("--from-json");
const SAVED = fromIdx === -1 ? null : JSON.parse(readFileSync(argv[fromIdx + 1], "utf8"));
const QUICK = SAVED ? SAVED.quick : argv.includes("--quick");
const memIdx = argv.indexOf("--memory-calls");
const memoryCallsArg = memIdx === -1 ? undefined : Number(argv[memIdx + 1]);
if (memoryCallsArg !== undefined && !(Number.isInteger(memoryCallsArg) && memoryCallsArg > 0 && memoryCallsArg <= 10_000_000)) {
  process.stderr.write("--memory-calls needs an integer 1..10000000\n");
  process.exit(2);
}
const CFG = QUICK
  ? { pacedSeconds: 3, pacedPerSecond: 8, seqWarmup: 100, seqCalls: 400, redisCalls: 400, block: 25, tpConc: 256, tpWarmup: 256, tpRounds: 1, tpCalls: 1024, coldRuns: 2, memCalls: 1_000, memBaselineCalls: 1_000, memWarmup: 200, memEvery: 500, memConc: 32, profile: false, anatomy: false, packEachDep: false }
  : { pacedSeconds: 40, pacedPerSecond: 8, seqWarmup: 500, seqCalls: 5_000, redisCalls: 2_000, block: 50, tpConc: 256, tpWarmup: 2_048, tpRounds: 4, tpCalls: 4_096, coldRuns: 10, memCalls: 100_000, memBaselineCalls: 20_000, memWarmup: 5_000, memEvery: 10_000, memConc: 32, profile: true, anatomy: true, packEachDep: true };
const intArg = (flag, max) => {
  const i = argv.indexOf(flag);
  if (i === -1) return undefined;
  const n = Number(argv[i + 1]);
  if (!(Number.isInteger(n) && n > 0 && n <= max)) {
    process.stderr.write(`${flag} needs an integer 1..${max}\n`);
    process.exit(2);
  }
  return n;
};
if (memoryCallsArg !== undefined) {
  CFG.memCalls = memoryCallsArg;
  CFG.memEvery = Math.max(1, Math.ceil(memoryCallsArg / 10));
}
const baselineArg = intArg("--memory-baseline-calls", 10_000_000);
if (baselineArg !== undefined) CFG.memBaselineCalls = baselineArg;
if (argv.includes("--no-profile")) CFG.profile = false;
if (argv.includes("--no-anatomy")) CFG.anatomy = false;
if (SAVED) Object.assign(CFG, SAVED.cfg);

// ---------------------------------------------------------------------------------------------
// Preconditions: bench dependencies installed, dist/ built from the current pkg/ and js/.
function ensureBenchDeps() {
  if (existsSync(join(BENCH, "node_modules", "@clerk", "backend", "package.json"))) return "present";
  log("installing bench dependencies (npm ci in bench/)");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: BENCH, stdio: ["ignore", "inherit", "inherit"], timeout: 300_000 });
  return "installed by npm ci";
}

/** Reads dist/index.mjs and the pkg/ wasm together and says whether the first inlines the second. */
function readBuild() {
  const index = join(ROOT, "dist", "index.mjs");
  if (!existsSync(index)) return { state: "missing" };
  const wasm = readFileSync(join(ROOT, "pkg", "clerk_metadata_wasm_bg.wasm"));
  const indexText = readFileSync(index, "utf8");
  if (!indexText.includes(wasm.toString("base64"))) return { state: "stale (its inlined wasm is not pkg/'s)" };
  const built = statSync(index).mtimeMs;
  const sources = [
    ...readdirSync(join(ROOT, "js")).map((f) => join(ROOT, "js", f)),
    join(ROOT, "pkg", "clerk_metadata_wasm.js"),
  ];
  const newer = sources.filter((f) => statSync(f).mtimeMs > built);
  if (newer.length) return { state: `stale (older than ${newer.map((f) => f.slice(ROOT.length + 1)).join(", ")})` };
  return { state: "fresh", indexText, wasm };
}

const sha = (data) => createHash("sha256").update(data).digest("hex").slice(0, 12);

/**
 * Makes sure dist/ is built from the current pkg/ and js/, then snapshots dist/index.mjs (it is
 * self-contained: the wasm is inlined) and the .wasm into `dir`, so every phase measures the same
 * build even if someone rebuilds while the bench runs.
 */
async function snapshotBuild(dir) {
  let note = "fresh";
  for (let attempt = 0; attempt < 3; attempt++) {
    const b = readBuild();
    if (b.state === "fresh") {
      if (/^\s*import[\s{*]/m.test(b.indexText) || /\bimport\(/.test(b.indexText)) throw new Error("dist/index.mjs imports other files; cannot snapshot it");
      mkdirSync(join(dir, "dist"), { recursive: true });
      const indexPath = join(dir, "dist", "index.mjs");
      writeFileSync(indexPath, b.indexText);
      const prePath = join(ROOT, "target", "wasm32-unknown-unknown", "release", "clerk_metadata_wasm.wasm");
      const pkgMtime = statSync(join(ROOT, "pkg", "clerk_metadata_wasm_bg.wasm")).mtimeMs;
      // The named pre-wasm-bindgen module of the same build, when it is there (same cargo run: a few s apart).
      let pre = null;
      if (existsSync(prePath) && Math.abs(statSync(prePath).mtimeMs - pkgMtime) < 120_000) pre = readFileSync(prePath);
      return { note, indexPath, indexSha: sha(b.indexText), wasm: b.wasm, wasmSha: sha(b.wasm), pre };
    }
    if (b.state === "missing" || attempt > 0 || !b.state.startsWith("stale")) {
      // A concurrent build may be half-way: wait a little before rebuilding.
      await new Promise((r) => setTimeout(r, 3_000));
    }
    log(`dist/ is ${b.state}: node scripts/build.mjs --skip-wasm`);
    execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs"), "--skip-wasm"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], timeout: 180_000 });
    note = `rebuilt with build.mjs --skip-wasm (was ${b.state})`;
  }
  throw new Error("dist/ does not match pkg/ even after rebuilding (is a build running?)");
}

const depsState = SAVED ? "n/a" : ensureBenchDeps();
const tmp = mkdtempSync(join(os.tmpdir(), "clerk-metadata-wasm-bench-"));
const build = SAVED ? { wasm: Buffer.from(SAVED.wasmBase64, "base64") } : await snapshotBuild(tmp);
const distNote = SAVED ? SAVED.distNote : `${build.note}; measured snapshot: dist/index.mjs ${build.indexSha}, wasm ${build.wasmSha}`;

const { startServer, seedUsers, GET_USER } = await import("./lib/server.mjs");
const { makeContestants, NAMES } = await import("./lib/contestants.mjs");
const { median, percentileSorted, sorted, rotate, fmt, met } = await import("./lib/stats.mjs");
const { throughput } = await import("./lib/in-flight.mjs");
const { measureSizes } = await import("./lib/size.mjs");
const { hasRedisServer, startRedisServer, makeRedisContestants, REDIS_NAMES } = await import("./lib/redis.mjs");
const { sections, dataText, codeByCrate } = await import("./lib/wasm-anatomy.mjs");

const seedPath = join(tmp, "users.json");
writeFileSync(seedPath, JSON.stringify(seedUsers()));
const resultsDir = join(BENCH, "results");
mkdirSync(resultsDir, { recursive: true });

const servers = new Set();
async function withServer(fn) {
  const server = await startServer(ROOT, seedPath);
  servers.add(server);
  try {
    return await fn(server);
  } finally {
    await server.stop();
    servers.delete(server);
  }
}
async function cleanup() {
  for (const s of servers) await s.stop().catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    cleanup().finally(() => process.exit(130));
  });
}

/** Runs `node [flags] script` with env, returns its one JSON line and its wall time. */
async function runChild(script, env, { flags = [], timeoutMs = 600_000 } = {}) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...flags, join(BENCH, script)], {
    cwd: BENCH,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = await once(child, "exit");
  const wallMs = performance.now() - t0;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} exited ${code ?? signal}: ${err.trim().slice(-2000)}`);
  const line = out.trim().split("\n").at(-1);
  return { result: JSON.parse(line), wallMs };
}

// ---------------------------------------------------------------------------------------------
// 1. Sequential latency
async function sequential(fns, { warmup, calls, block }) {
  const names = Object.keys(fns);
  for (let w = 0; w < warmup; w += block) {
    for (const n of names) for (let i = 0; i < Math.min(block, warmup - w); i++) await fns[n]();
  }
  const samples = Object.fromEntries(names.map((n) => [n, new Float64Array(calls)]));
  const cpuUs = Object.fromEntries(names.map((n) => [n, 0]));
  const done = Object.fromEntries(names.map((n) => [n, 0]));
  const rounds = Math.ceil(calls / block);
  for (let r = 0; r < rounds; r++) {
    for (const n of rotate(names, r)) {
      const fn = fns[n];
      const s = samples[n];
      const count = Math.min(block, calls - done[n]);
      const c0 = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await fn();
        s[done[n]++] = performance.now() - t0;
      }
      const c = process.cpuUsage(c0);
      cpuUs[n] += c.user + c.system;
    }
  }
  return Object.fromEntries(
    names.map((n) => {
      const s = sorted(samples[n]);
      return [n, { calls, median: median(s), p99: percentileSorted(s, 99), cpuUsPerCall: cpuUs[n] / calls }];
    }),
  );
}

// 1b. As users call it: default options keep Clerk's limits (100 requests / 10 s for an sk_test_
// key), so each contestant makes `perSecond` calls a second (interleaved, order rotating), which
// never makes this package's limiter wait: what is measured is its bookkeeping, not a queue.
async function paced(fns, { seconds, perSecond }) {
  const names = Object.keys(fns);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let second = 0; second < seconds; second++) {
    const next = performance.now() + 1000;
    for (let i = 0; i < perSecond; i++) {
      for (const n of rotate(names, second + i)) {
        const t0 = performance.now();
        await fns[n]();
        samples[n].push(performance.now() - t0);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  return Object.fromEntries(
    names.map((n) => {
      const s = sorted(Float64Array.from(samples[n]));
      return [n, { calls: s.length, median: median(s), p99: percentileSorted(s, 99) }];
    }),
  );
}

// 2. Throughput: lib/in-flight.mjs.

// 3. Cold start
async function coldStart(server, runs, headers) {
  const names = ["ours", "clerk", "fetch", "ours-warm", "clerk-warm"];
  const env = (which) => ({
    BENCH_COLD: JSON.stringify({
      which,
      url: server.url,
      secretKey: server.secretKey,
      indexUrl: pathToFileURL(build.indexPath).href,
      user: GET_USER,
      headers,
    }),
  });
  for (const n of names) await runChild("cold-child.mjs", env(n), { timeoutMs: 60_000 }); // warms the file cache; discarded
  const rows = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (const n of rotate(names, r)) {
      const { result, wallMs } = await runChild("cold-child.mjs", env(n), { timeoutMs: 60_000 });
      rows[n].push({ ...result, wallMs });
    }
  }
  return Object.fromEntries(
    names.map((n) => {
      const pick = (k) => median(rows[n].map((x) => x[k]));
      return [n, { runs, importMs: pick("importMs"), callMs: pick("callMs"), totalMs: pick("totalMs"), wasmCompileMs: pick("wasmCompileMs"), wasmInstantiateMs: pick("wasmInstantiateMs"), sinceProcessStartMs: pick("sinceProcessStartMs"), wallMs: pick("wallMs"), all: rows[n].map((x) => x.totalMs) }];
    }),
  );
}

// 5. Memory (each contestant in its own fresh process and against its own fresh server).
async function memory(which, calls) {
  return withServer(async (server) => {
    const { result, wallMs } = await runChild(
      "memory-child.mjs",
      {
        BENCH_MEM: JSON.stringify({ which, url: server.url, secretKey: server.secretKey, root: ROOT, indexPath: build.indexPath, calls, warmup: CFG.memWarmup, concurrency: CFG.memConc, sampleEvery: Math.max(1, Math.ceil((CFG.memEvery * calls) / CFG.memCalls)) }),
      },
      { flags: ["--expose-gc"], timeoutMs: 30 * 60_000 },
    );
    return { ...result, wallMs };
  });
}

// ---------------------------------------------------------------------------------------------
const machine = SAVED?.machine ?? {
  cpu: os.cpus()[0]?.model?.trim() ?? "unknown",
  cores: os.availableParallelism?.() ?? os.cpus().length,
  mem: os.totalmem(),
  node: process.version,
  v8: process.versions.v8,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
};
let commit = SAVED?.commit ?? "unknown";
if (!SAVED) try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--", "js", "src", "pkg", "dist", "Cargo.toml", "package.json"], { cwd: ROOT, encoding: "utf8" }).trim();
  if (dirty) commit += " + uncommitted changes";
} catch {}
const pkgVersion = SAVED?.pkgVersion ?? JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const clerkVersion = SAVED?.clerkVersion ?? JSON.parse(readFileSync(join(BENCH, "node_modules", "@clerk", "backend", "package.json"), "utf8")).version;

const R = SAVED?.results ?? { loadStart: os.loadavg() };
if (!SAVED) try {
  log(`mode ${QUICK ? "quick" : "full"}; dist ${distNote}; bench deps ${depsState}`);

  await withServer(async (server) => {
    const c = await makeContestants({ root: ROOT, indexPath: build.indexPath, url: server.url, secretKey: server.secretKey });
    R.wire = c.wire;
    log(`sequential GET: ${CFG.seqCalls} calls × ${Object.keys(c.get).length + 1} contestants`);
    R.seqGet = await sequential({ ...c.get, ...c.getReference }, { warmup: CFG.seqWarmup, calls: CFG.seqCalls, block: CFG.block });
    log(`sequential merge: ${CFG.seqCalls} calls × ${Object.keys(c.merge).length} contestants`);
    R.seqMerge = await sequential(c.merge, { warmup: CFG.seqWarmup, calls: CFG.seqCalls, block: CFG.block });
  });

  // A fresh server (and so a fresh default client, with an empty limiter) for each operation.
  for (const op of ["get", "merge"]) {
    await withServer(async (server) => {
      const c = await makeContestants({ root: ROOT, indexPath: build.indexPath, url: server.url, secretKey: server.secretKey });
      log(`as users call it, ${op}: ${CFG.pacedSeconds} s × ${CFG.pacedPerSecond} calls a second per contestant`);
      R[op === "get" ? "usersGet" : "usersMerge"] = await paced(c.asUsers[op], { seconds: CFG.pacedSeconds, perSecond: CFG.pacedPerSecond });
    });
  }

  // 1c. The Redis limiter against the built-in one (needs redis-server; scripts/setup.sh installs it).
  if (hasRedisServer()) {
    await withServer(async (server) => {
      const redis = await startRedisServer();
      try {
        const c = await makeRedisContestants({ root: ROOT, indexPath: build.indexPath, url: server.url, secretKey: server.secretKey, redisUrl: redis.url });
        log(`redis limiter: ${CFG.redisCalls} calls × 2 contestants, GET and merge`);
        R.redisGet = await sequential(c.get, { warmup: CFG.seqWarmup, calls: CFG.redisCalls, block: CFG.block });
        R.redisMerge = await sequential(c.merge, { warmup: CFG.seqWarmup, calls: CFG.redisCalls, block: CFG.block });
        await c.close();
      } finally {
        await redis.stop();
      }
    });
  } else {
    log("redis limiter: skipped (no redis-server)");
  }

  await withServer(async (server) => {
    const c = await makeContestants({ root: ROOT, indexPath: build.indexPath, url: server.url, secretKey: server.secretKey });
    log(`throughput GET: ${CFG.tpRounds} rounds × ${CFG.tpCalls} calls, ${CFG.tpConc} in flight`);
    R.tp = await throughput({ ...c.getPool, oursSameUser: c.get.ours }, { warmup: CFG.tpWarmup, rounds: CFG.tpRounds, calls: CFG.tpCalls, conc: CFG.tpConc });
  });

  await withServer(async (server) => {
    log(`cold start: ${CFG.coldRuns} processes per contestant`);
    R.cold = await coldStart(server, CFG.coldRuns, R.wire.get.headers);
  });

  log("sizes");
  R.size = await measureSizes({ root: ROOT, bench: BENCH, packEachDep: CFG.packEachDep, wasm: build.wasm, indexPath: build.indexPath });

  R.mem = {};
  for (const which of ["ours", "fetch", "clerk"]) {
    const calls = which === "ours" ? CFG.memCalls : CFG.memBaselineCalls;
    log(`memory: ${which}, ${calls} calls`);
    R.mem[which] = await memory(which, calls);
    log(`memory: ${which} took ${(R.mem[which].seconds ?? 0).toFixed(1)} s`);
  }
} catch (error) {
  await cleanup();
  throw error;
}

// ---------------------------------------------------------------------------------------------
// Targets
const T = {};
// Per call, as users call it (default options): each of this package's two ways, for GET and
// merge, ≤ @clerk/backend and ≤ 1.10× plain fetch with AbortSignal.timeout, in the same run.
for (const [op, paced] of [["get", R.usersGet], ["merge", R.usersMerge]]) {
  const rows = ["oursTop", "oursDefault"].map((k) => ({
    k,
    vsFetch: paced[k].median / paced.fetchTimeout.median,
    vsClerk: paced[k].median / paced.clerk.median,
  }));
  const vsFetch = Math.max(...rows.map((r) => r.vsFetch));
  const vsClerk = Math.max(...rows.map((r) => r.vsClerk));
  T[op] = { rows, vsFetch, vsClerk, ok: vsFetch <= 1.1 && vsClerk <= 1.0 };
}
// Cold start with fetch already warm (the host's own first load of fetch is not the package's).
T.cold = { ratio: R.cold["ours-warm"].totalMs / R.cold["clerk-warm"].totalMs };
T.cold.ok = T.cold.ratio <= 1 / 4;
T.tp = { ratio: R.tp.ours.perSec / R.tp.clerk.perSec };
T.tp.ok = T.tp.ratio >= 1;
const WASM_GZIP_LIMIT = 100_000;
T.wasm = { ok: R.size.wasm.gzip <= WASM_GZIP_LIMIT };
T.unpacked = { ratio: R.size.pack.unpackedSize / R.size.clerk.unpackedSize };
T.unpacked.ok = T.unpacked.ratio <= 0.1;
// The heap after gc() jumps by up to ~0.7 MiB in about one sample in five (what undici and V8
// still hold at that moment; a 300,000-call run shows no trend under it), so the second-half
// trend compares the lowest of three samples around the middle with the lowest of the last
// three, not two single samples: a leak raises every sample after it, a transient only some.
const heapAround = (samples, index) =>
  Math.min(...samples.slice(Math.max(0, index - 1), Math.min(samples.length, index + 2)).map((s) => s.heapUsed));
const memGrowth = (m) => {
  const a = m.samples[0];
  const b = m.samples.at(-1);
  const midIndex = Math.floor((m.samples.length - 1) / 2);
  const mid = m.samples[midIndex];
  return {
    rss: b.rss - a.rss,
    heap: b.heapUsed - a.heapUsed,
    heapSecondHalf: heapAround(m.samples, m.samples.length - 2) - heapAround(m.samples, midIndex),
    rssSecondHalf: b.rss - mid.rss,
    external: b.external - a.external,
    wasm: a.wasmMemory === null ? null : b.wasmMemory - a.wasmMemory,
    table: a.externrefTable === null ? null : b.externrefTable - a.externrefTable,
  };
};
const G = Object.fromEntries(Object.entries(R.mem).map(([k, m]) => [k, memGrowth(m)]));
// "No growth": wasm linear memory and the externref table end where they started, and the JS heap
// (after gc) does not trend in the second half: < 256 KiB over those calls, i.e. well under one
// leaked small object (>= 16 B) per call (50,000 calls × 16 B = 800 KB).
const halfCalls = R.mem.ours.samples.at(-1).calls - R.mem.ours.samples[Math.floor((R.mem.ours.samples.length - 1) / 2)].calls;
const HEAP_TREND_LIMIT = Math.min(256 * 1024, halfCalls * 5);
T.mem = { ok: R.mem.ours.wasmCaught && G.ours.wasm === 0 && G.ours.table <= 0 && G.ours.heapSecondHalf < HEAP_TREND_LIMIT };
// Too few calls (e.g. --quick) for a heap trend to mean anything: not judged.
if (R.mem.ours.samples.at(-1).calls < 20_000) T.mem.ok = undefined;

// Analyses for missed targets (full mode): CPU profile of the sequential loop, where the wasm's bytes go.
const missedLatency = !T.get.ok || !T.merge.ok;
if (!SAVED && CFG.profile && (missedLatency || !T.cold.ok)) {
  R.profile = {};
  const PROFILE_CALLS = 3_000;
  for (const op of ["get", "merge"]) {
    log(`CPU profile: sequential ${op}, ${PROFILE_CALLS} calls per contestant`);
    R.profile[op] = await withServer(async (server) =>
      (
        await runChild("profile-child.mjs", {
          BENCH_PROF: JSON.stringify({ url: server.url, secretKey: server.secretKey, root: ROOT, indexPath: build.indexPath, calls: PROFILE_CALLS, rounds: 6, warmup: 500, which: ["ours", "fetch", "clerk"], op, outDir: resultsDir, intervalUs: 100 }),
        })
      ).result,
    );
  }
}
const shippedWasm = build.wasm;
const shippedHasNames = sections(shippedWasm).some((sec) => sec.name === 'custom "name"');
if (SAVED) {
  // analyses come from the saved results
} else if (!T.wasm.ok && shippedHasNames) {
  // The shipped module carries its own names: attribute its code exactly, no re-optimisation.
  R.anatomy = { ...codeByCrate(shippedWasm), exact: true };
} else if (CFG.anatomy && !T.wasm.ok && build.pre && existsSync(join(ROOT, "node_modules", "binaryen", "index.js"))) {
  log("wasm anatomy (binaryen.js -Os of the named pre-bindgen module)");
  try {
    const prePath = join(tmp, "pre.wasm");
    writeFileSync(prePath, build.pre);
    R.anatomy = (await runChild("wasm-anatomy-child.mjs", { BENCH_ANATOMY: JSON.stringify({ root: ROOT, prePath }) }, { timeoutMs: 300_000 })).result;
  } catch (error) {
    R.anatomyError = String(error.message ?? error).slice(0, 300);
  }
}
await cleanup();
if (!SAVED) {
  R.loadEnd = os.loadavg();
  try {
    R.distChanged = sha(readFileSync(join(ROOT, "dist", "index.mjs"), "utf8")) !== build.indexSha;
  } catch {
    R.distChanged = true;
  }
  R.runSeconds = (performance.now() - started) / 1000;
  R.finishedAt = new Date().toISOString();
  writeFileSync(
    join(resultsDir, "latest.json"),
    JSON.stringify({ quick: QUICK, cfg: CFG, machine, commit, distNote, pkgVersion, clerkVersion, wasmBase64: build.wasm.toString("base64"), results: R }),
  );
}

// ---------------------------------------------------------------------------------------------
// Report
const L = [];
const row = (...cells) => L.push(`| ${cells.join(" | ")} |`);
const head = (...cells) => {
  row(...cells);
  row(...cells.map((c) => (/^(Contestant|Figure|What|Package|Crate|Function|Category|At)/.test(c) ? "---" : "---:")));
};
const runSeconds = R.runSeconds;

L.push(`# clerk-metadata-wasm benchmark${QUICK ? " (--quick)" : ""}`, "");
L.push(`**Machine:** ${machine.cpu}, ${machine.cores} cores, ${fmt.bytes(machine.mem)} RAM · **Node** ${machine.node} (V8 ${machine.v8}) · ${machine.os}`);
L.push(`**Load average** (1/5/15 min) at start ${R.loadStart.map((x) => x.toFixed(2)).join(" / ")}, at end ${R.loadEnd.map((x) => x.toFixed(2)).join(" / ")} (other work on the machine shows up as noise; the interleaving spreads it over all contestants).`);
L.push(
  `**Run:** ${R.finishedAt} · clerk-metadata-wasm ${pkgVersion} @ ${commit} (dist ${distNote}) vs @clerk/backend ${clerkVersion} · ` +
    `local server (scripts/local-server.mjs --no-write-limit) in its own process, a fresh one per phase · contestants interleaved in rounds · run time ${runSeconds.toFixed(0)} s`,
);
if (R.distChanged) L.push("", "**Note:** dist/index.mjs changed while the bench ran (a concurrent build). Every figure except `npm pack` comes from the snapshot taken at the start; `npm pack` reads the tree as it was during the size phase.");
L.push("");

L.push("## Targets", "");
head("Figure", "Measured", "Target", "target / met?");
for (const [op, label] of [["get", "GET"], ["merge", "merge"]]) {
  for (const r of T[op].rows) {
    row(`${label} median, ${NAMES[r.k]}, vs plain fetch + AbortSignal.timeout`, fmt.ratio(r.vsFetch), "≤ 1.10×", met(r.vsFetch <= 1.1));
    row(`${label} median, ${NAMES[r.k]}, vs @clerk/backend`, fmt.ratio(r.vsClerk), "≤ 1.00×", met(r.vsClerk <= 1));
  }
}
row("cold start, fetch already warm (import → first call) vs @clerk/backend", `${fmt.ms(R.cold["ours-warm"].totalMs)} vs ${fmt.ms(R.cold["clerk-warm"].totalMs)} = ${fmt.ratio(T.cold.ratio)}`, "≤ 0.25×", met(T.cold.ok));
row(`throughput, ${CFG.tpConc} in flight, vs @clerk/backend`, fmt.ratio(T.tp.ratio), "≥ 1.00×", met(T.tp.ok));
row(".wasm gzip -9", `${fmt.int(R.size.wasm.gzip)} B`, `≤ 100 KB (${fmt.int(WASM_GZIP_LIMIT)} B)`, met(T.wasm.ok));
row("unpacked package vs @clerk/backend + deps", `${fmt.bytes(R.size.pack.unpackedSize)} vs ${fmt.bytes(R.size.clerk.unpackedSize)} = ${(T.unpacked.ratio * 100).toFixed(1)} %`, "≤ 10 %", met(T.unpacked.ok));
row(
  `memory growth over ${fmt.int(CFG.memCalls)} calls`,
  `wasm ${fmt.signedBytes(G.ours.wasm)}, externref table ${G.ours.table >= 0 ? "+" : ""}${G.ours.table}, JS heap ${fmt.signedBytes(G.ours.heap)} (2nd half, lowest of 3 samples: ${fmt.signedBytes(G.ours.heapSecondHalf)})`,
  `none: wasm +0 B, table +0, heap 2nd half < ${fmt.bytes(HEAP_TREND_LIMIT)}`,
  met(T.mem.ok),
);
L.push("");

function seqTable(title, seq, op) {
  L.push(`### ${title}`, "");
  head("Contestant", "calls", "median", "p99", "median / plain fetch", "client CPU / call", "target / met?");
  for (const [k, v] of Object.entries(seq)) {
    const ratio = v.median / seq.fetch.median;
    let target = "—";
    if (k === "fetch") target = "baseline";
    else if (k === "ours") target = "— (the targets are on the default options, below)";
    row(NAMES[k], fmt.int(v.calls), fmt.us(v.median), fmt.us(v.p99), fmt.ratio(ratio), `${v.cpuUsPerCall.toFixed(0)} µs`, target);
  }
  L.push("");
}
L.push(`## 1. Sequential latency (one call at a time, ${fmt.int(CFG.seqWarmup)} warm-up calls each excluded, rounds of ${CFG.block})`, "");
L.push(
  `Plain fetch sends the request this package sends (headers copied from a recorded call: ${Object.keys(R.wire.get.headers).join(", ")}` +
    `; the merge adds ${Object.keys(R.wire.merge.headers).filter((h) => !(h in R.wire.get.headers)).join(", ") || "nothing"}) and reads the body with res.json(). ` +
    "Client CPU / call is the measuring process's user+system CPU (the server is another process).",
  "",
);
seqTable(`GET public metadata (\`getUserPublicMetadata\` · \`fetch\` + \`res.json()\` · \`users.getUser(id).publicMetadata\`)`, R.seqGet, "get");
seqTable(`Merge public metadata (\`mergeUserPublicMetadata\` · \`fetch\` PATCH · \`users.updateUserMetadata\`)`, R.seqMerge, "merge");

function pacedTable(title, paced) {
  L.push(`### ${title}`, "");
  head("Contestant", "calls", "median", "p99", "median / fetch + timeout", "median / @clerk/backend");
  for (const [k, v] of Object.entries(paced)) {
    row(NAMES[k], fmt.int(v.calls), fmt.us(v.median), fmt.us(v.p99), fmt.ratio(v.median / paced.fetchTimeout.median), fmt.ratio(v.median / paced.clerk.median));
  }
  L.push("");
}
L.push(`## 1b. As users call it: default options, an sk_test_ key (${CFG.pacedPerSecond} calls a second per contestant for ${CFG.pacedSeconds} s, interleaved)`, "");
L.push(
  "The rate limiter is on, with Clerk's limits (100 requests / 10 s for an sk_test_ key), so the calls are paced under them: the figures are its bookkeeping, never a wait. Calls go round-robin over 512 users. These rows carry the per-call targets.",
  "",
);
pacedTable("GET public metadata", R.usersGet);
pacedTable("Merge public metadata", R.usersMerge);

L.push(`## 1c. Shared rate limiter on Redis (sequential, ${fmt.int(CFG.redisCalls ?? 0)} calls each, rounds of ${CFG.block})`, "");
if (R.redisGet && R.redisMerge) {
  L.push(
    "The same client calls with the built-in limiter and with `createRedisLimiter` (clerk-metadata-wasm/redis) on a local redis-server, interleaved. Both are given limits the run never reaches, so the figures are each limiter's own cost per call (Redis: one script round trip to take the slot before the request, and one to release it after the answer, which the client awaits so that serverless hosts do not drop it), never a wait.",
    "",
  );
  head("Operation", "Contestant", "median", "p99", "median / built-in", "client CPU / call");
  for (const [op, res] of [["GET", R.redisGet], ["merge", R.redisMerge]]) {
    for (const k of ["builtin", "redis"]) {
      row(op, REDIS_NAMES[k], fmt.us(res[k].median), fmt.us(res[k].p99), fmt.ratio(res[k].median / res.builtin.median), `${res[k].cpuUsPerCall.toFixed(0)} µs`);
    }
  }
} else {
  L.push("Not run: redis-server is not installed (bash scripts/setup.sh installs it).");
}
L.push("");

L.push(`## 2. Throughput, GET, ${CFG.tpConc} calls in flight (${CFG.tpRounds} rounds × ${fmt.int(CFG.tpCalls)} calls, median of rounds)`, "");
head("Contestant", "calls/s", "range over rounds", "vs plain fetch", "client CPU / call", "target / met?");
for (const [k, v] of Object.entries(R.tp)) {
  const label = k === "oursSameUser" ? `${NAMES.ours}, every call for the same user (reference)` : NAMES[k];
  row(label, fmt.int(v.perSec), `${fmt.int(v.min)}–${fmt.int(v.max)}`, fmt.ratio(v.perSec / R.tp.fetch.perSec), `${v.cpuUsPerCall.toFixed(0)} µs`, k === "oursSameUser" ? "— (not comparable)" : "— (no target)");
}
L.push(
  "",
  "Calls go round-robin over 512 seeded users, so calls in flight together name different users and every contestant sends one request per call. " +
    "This package shares one request among concurrent reads of the same user; the same-user row shows what that gives (far fewer requests than calls), and is not comparable with the others. " +
    `On ${machine.cores} cores the server process shares the CPU with the client, so calls/s is partly bound by the server; client CPU / call is the part that is the contestant's own.`,
  "",
);

L.push(`## 3. Cold start (fresh \`node\` process: dynamic import → first completed GET; median of ${R.cold.ours.runs} processes each, interleaved)`, "");
head("Contestant", "import", "first call", "import → first call", "of which wasm compile + instantiate", "since process start", "process wall time", "vs @clerk/backend", "target / met?");
const coldLabel = {
  ours: NAMES.ours,
  clerk: NAMES.clerk,
  fetch: "plain fetch, no library (reference)",
  "ours-warm": `${NAMES.ours}, fetch already warm (reference)`,
  "clerk-warm": `${NAMES.clerk}, fetch already warm (reference)`,
};
for (const k of ["ours", "clerk", "fetch", "ours-warm", "clerk-warm"]) {
  const v = R.cold[k];
  const base = k.endsWith("-warm") ? R.cold["clerk-warm"] : R.cold.clerk;
  const target = k === "ours-warm" ? `≤ 0.25× of @clerk/backend, warm: ${met(T.cold.ok)}` : k === "clerk-warm" ? "baseline" : "—";
  row(coldLabel[k], fmt.ms(v.importMs), fmt.ms(v.callMs), fmt.ms(v.totalMs), k.startsWith("ours") ? `${fmt.ms(v.wasmCompileMs)} + ${fmt.ms(v.wasmInstantiateMs)}` : "—", fmt.ms(v.sinceProcessStartMs), fmt.ms(v.wallMs), fmt.ratio(v.totalMs / base.totalMs), target);
}
L.push(
  "",
  "Measured inside the child with `performance.now()` from just before the dynamic `import()` to just after the call resolved; \"process wall time\" is spawn → exit seen by the parent (includes Node's own start-up and teardown). " +
    "\"fetch already warm\" rows make one plain fetch to the server before the clock starts, isolating each library's own cost from Node's one-off fetch (undici) initialisation; they are compared with @clerk/backend's warm row.",
  "",
);

const S = R.size;
L.push("## 4. Size", "");
head("What", "raw / unpacked", "gzip -9 / tarball", "target / met?");
row("`pkg/clerk_metadata_wasm_bg.wasm`", `${fmt.int(S.wasm.raw)} B`, `${fmt.int(S.wasm.gzip)} B`, `≤ 100 KB gzip: ${met(T.wasm.ok)}`);
row("`dist/index.mjs` (wasm inlined as base64)", `${fmt.int(S.indexMjs.raw)} B`, `${fmt.int(S.indexMjs.gzip)} B`, "—");
row(`root package \`npm pack --dry-run\` (${S.pack.files.length} files)`, `${fmt.int(S.pack.unpackedSize)} B`, `${fmt.int(S.pack.size)} B tarball`, `≤ 10 % of @clerk/backend + deps: ${met(T.unpacked.ok)} (${(T.unpacked.ratio * 100).toFixed(1)} %)`);
row(
  `@clerk/backend ${clerkVersion} + deps (${S.clerk.packages.length} packages, ${S.clerk.packed ? "`npm pack --dry-run` of each installed folder, summed" : "installed files on disk (--quick)"})`,
  `${fmt.int(S.clerk.unpackedSize)} B`,
  S.clerk.packed ? `${fmt.int(S.clerk.packSize)} B tarballs` : "—",
  "baseline",
);
row("… same tree, apparent file sizes on disk", `${fmt.int(S.clerk.disk.bytes)} B (${S.clerk.disk.files} files)`, "—", "—");
row("minimal app bundle using this package (esbuild, minified, node)", `${fmt.int(S.bundles.ours.bytes)} B`, `${fmt.int(S.bundles.ours.gzip)} B`, "— (info)");
row("minimal app bundle using @clerk/backend (same)", `${fmt.int(S.bundles.clerk.bytes)} B`, `${fmt.int(S.bundles.clerk.gzip)} B`, "— (info)");
L.push("");
L.push(`Root package files: ${S.pack.files.map((f) => `${f.path} ${fmt.int(f.size)}`).join(" · ")}.`);
L.push(`@clerk/backend tree: ${S.clerk.packages.map((p) => `${p.name}@${p.version} ${fmt.bytes(p.unpackedSize)}`).join(" · ")}.`, "");

L.push(`## 5. Memory (GET over 512 users round-robin, after ${fmt.int(CFG.memWarmup)} warm-up calls, ${CFG.memConc} in flight, fresh process + server per contestant, figures after \`gc()\`)`, "");
head("Contestant", "calls", "RSS after warm-up", "RSS after", "RSS growth", "JS heap growth", "heap growth, 2nd half (lowest of 3 samples)", "wasm memory (after)", "wasm growth", "externref table growth", "time", "target / met?");
for (const k of ["ours", "fetch", "clerk"]) {
  const m = R.mem[k];
  const a = m.samples[0];
  const b = m.samples.at(-1);
  const g = G[k];
  row(
    k === "fetch" ? "plain fetch (baseline)" : NAMES[k],
    fmt.int(b.calls),
    fmt.bytes(a.rss),
    fmt.bytes(b.rss),
    fmt.signedBytes(g.rss),
    fmt.signedBytes(g.heap),
    fmt.signedBytes(g.heapSecondHalf),
    k === "ours" ? fmt.bytes(b.wasmMemory) : "n/a",
    k === "ours" ? fmt.signedBytes(g.wasm) : "n/a",
    k === "ours" ? `${g.table >= 0 ? "+" : ""}${g.table} (${a.externrefTable} → ${b.externrefTable})` : "n/a",
    `${m.seconds.toFixed(1)} s`,
    k === "ours" ? `no growth: ${met(T.mem.ok)}` : "reference",
  );
}
L.push("");
L.push(
  `Wasm linear memory is read from the instance dist/index.mjs itself creates (caught by wrapping \`WebAssembly.Instance\` before the import; ${R.mem.ours.wasmCaught ? "caught" : "NOT caught"}), i.e. the glue's exported \`memory\`, not a separate pkg/ instance.`,
);
L.push(`RSS samples for this package (every ${fmt.int(CFG.memEvery)} calls): ${R.mem.ours.samples.map((s) => fmt.bytes(s.rss)).join(" → ")}.`);
L.push(`JS heap samples: ${R.mem.ours.samples.map((s) => fmt.bytes(s.heapUsed)).join(" → ")}.`, "");

// Analyses
if (R.profile) {
  L.push("## Where the time goes (CPU profile of the sequential loop)", "");
  L.push(
    "V8 sampling profiler (the one behind `node --cpu-prof`, 100 µs interval), started through `node:inspector` around 3,000 sequential calls per contestant (6 interleaved rounds, after 500 warm-up calls), in a fresh process; self time per call, idle (waiting for the server) excluded. \"undici (llhttp wasm)\" is Node's own HTTP parser (the wasm modules a plain fetch runs); \"clerk-metadata-wasm wasm code\" is every other wasm frame. Raw profiles (first round): `bench/results/*.cpuprofile`.",
    "",
  );
  for (const op of Object.keys(R.profile)) {
    const P = R.profile[op];
    const names = Object.keys(P).filter((n) => !n.startsWith("_"));
    const cats = [...new Set(names.flatMap((n) => P[n].categories.map((c) => c.name)))].filter((c) => c !== "idle");
    L.push(`### ${op === "get" ? "GET" : "merge"}: busy CPU per call by category (µs)`, "");
    head("Category", ...names.map((n) => NAMES[n]));
    for (const c of cats) row(c, ...names.map((n) => ((P[n].categories.find((x) => x.name === c)?.ms ?? 0) * 1000 / P[n].calls).toFixed(1)));
    row("**total busy**", ...names.map((n) => `**${((P[n].busyMs * 1000) / P[n].calls).toFixed(1)}**`));
    row("wall per call (profiled)", ...names.map((n) => ((P[n].wallMs * 1000) / P[n].calls).toFixed(0)));
    L.push("");
    L.push(`Top self-time functions, ${NAMES.ours} (${op}):`, "");
    head("Function", "µs / call", "Category");
    for (const f of P.ours.top.slice(0, 15)) row(`\`${f.key.replace(/\|/g, "\\|").slice(0, 110)}\``, ((f.ms * 1000) / P.ours.calls).toFixed(1), f.category);
    L.push("");
  }
}

if (!T.wasm.ok) {
  const secs = sections(shippedWasm);
  const text = dataText(shippedWasm);
  L.push("## Where the .wasm bytes go", "");
  L.push(`Sections of the shipped module: ${secs.map((s) => `${s.name} ${fmt.int(s.size)}`).join(" · ")}. Of the data section, ${fmt.int(text.paths)} B are Rust source paths (panic locations: ${text.byCrate.map(([c, b]) => `${c} ${b}`).join(", ")}).`, "");
  const custom = secs.filter((sec) => sec.id === 0).reduce((a, sec) => a + sec.size, 0);
  if (custom > 1024) {
    const { gzipSync, constants } = await import("node:zlib");
    // Each section with its header (id byte + LEB size), custom ones dropped.
    const stripped = Buffer.concat([shippedWasm.subarray(0, 8), ...secs.filter((sec) => sec.id !== 0).map((sec) => shippedWasm.subarray(sec.headerStart, sec.end))]);
    const strippedGz = gzipSync(stripped, { level: constants.Z_BEST_COMPRESSION }).length;
    L.push(
      `Custom sections (${secs.filter((sec) => sec.id === 0).map((sec) => sec.name).join(", ")}) take ${fmt.int(custom)} B = ${((custom / shippedWasm.length) * 100).toFixed(1)} % of the file and are not needed at run time; without them the module is ${fmt.int(stripped.length)} B, ${fmt.int(strippedGz)} B gzip -9 (target ${fmt.int(WASM_GZIP_LIMIT)} B).`,
      "",
    );
  }
  /** The per-crate and per-function code tables of a wasm anatomy. */
  const anatomyTables = (A) => {
    head("Crate", "code bytes", "share", "functions");
    for (const c of A.crates.slice(0, 14)) row(c.crate, fmt.int(c.bytes), `${((c.bytes / A.codeBytes) * 100).toFixed(1)} %`, c.functions);
    L.push("");
    head("Function", "code bytes", "Crate");
    for (const f of A.top.slice(0, 15)) row(`\`${f.name.replace(/\|/g, "\\|").slice(0, 110)}\``, fmt.int(f.size), f.crate);
    L.push("");
  };
  if (R.anatomy?.exact) {
    const A = R.anatomy;
    L.push(`Code bytes by crate, from the shipped module's own name section (${fmt.int(A.codeBytes)} B of code in ${A.functions} functions):`, "");
    anatomyTables(A);
  } else if (R.anatomy) {
    const A = R.anatomy;
    L.push(
      `Code bytes by crate: the shipped module has no name section, so the same build's named module (\`target/wasm32-unknown-unknown/release/clerk_metadata_wasm.wasm\`, written by the same cargo run) was re-optimised with binaryen.js at -Os after dropping the ${A.droppedExports} wasm-bindgen descriptor exports; its code section is ${fmt.int(A.codeBytes)} B in ${A.functions} functions vs ${fmt.int(secs.find((s) => s.id === 10)?.size)} B shipped, so the split is representative (not exact: the shipped build's own wasm-opt flags may differ).`,
      "",
    );
    anatomyTables(A);
  } else if (R.anatomyError) {
    L.push(`(Per-crate split failed: ${R.anatomyError})`, "");
  }
}

L.push(`_Run time ${runSeconds.toFixed(0)} s (${QUICK ? "--quick" : "full"}). Regenerate with \`npm run bench\`; report also in bench/results/latest.md._`, "");
const report = L.join("\n");
if (SAVED) {
  process.stdout.write(`${report}\n`);
  process.exit(0);
}
writeFileSync(join(resultsDir, "latest.md"), report);
process.stdout.write(`${report}\n`);
log(`done in ${runSeconds.toFixed(0)} s; wrote bench/results/latest.md`);
