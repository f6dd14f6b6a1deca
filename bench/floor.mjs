#!/usr/bin/env node
// The floor of the package's design, measured beside the real package, @clerk/backend and plain
// fetch in one run: can ANY client built as mandated (HTTP exchange in Rust over the host's fetch,
// one AbortController + one setTimeout per request, serde_json with RawValue, serde-wasm-bindgen
// options) meet the per-call and cold-start targets? The floor is bench/floor/ (built here when
// its output is missing or stale).
//
//   node bench/floor.mjs [--quick] [--paced-seconds N] [--calls N] [--cold-runs N] [--no-profile]
//
// OURS=path/to/dist/index.mjs picks the package build (default this checkout's dist/index.mjs; it
// must inline its pkg/ wasm, and its testing.mjs beside it runs the local server). Prints a
// markdown report, also written to bench/results/floor.md. Talks to 127.0.0.1 only; every loop is
// bounded.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync, constants } from "node:zlib";
import { BUNDLE, WASM, build, isStale } from "./floor/build.mjs";
import { renderReport } from "./floor/report.mjs";
import { coldStarts, runChild } from "./lib/child.mjs";
import { NAMES, makeContestants, mergeBody, poolGet, poolMerge } from "./lib/contestants.mjs";
import { THROUGHPUT, THROUGHPUT_QUICK, throughput } from "./lib/in-flight.mjs";
import { paced, sequential } from "./lib/loops.mjs";
import { clerkVersion, ensureBenchDeps, readBuild, sha, writeSnapshot } from "./lib/preconditions.mjs";
import { GET_USER, MERGE_USERS, serverPool } from "./lib/server.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const started = performance.now();
const log = (m) => process.stderr.write(`[floor ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${m}\n`);
const fail = (m) => {
  process.stderr.write(`floor: ${m}\n`);
  process.exit(2);
};

// ---------------------------------------------------------------------------------------------
// Options
const argv = process.argv.slice(2);
const FLAGS = {
  "--quick": ["", "tiny counts and no CPU profile (a smoke test, about 20 s)"],
  "--paced-seconds": ["N", "seconds of the paced phase, per operation (default 30)"],
  "--calls": ["N", "back-to-back calls per contestant and operation (default 5000)"],
  "--cold-runs": ["N", "cold-start processes per contestant and mode (default 15)"],
  "--no-profile": ["", "skip the CPU profile"],
};
if (argv.includes("--help") || argv.includes("-h")) {
  const lines = Object.entries(FLAGS).map(([flag, [arg, help]]) => `  ${`${flag} ${arg}`.padEnd(20)}${help}\n`);
  process.stdout.write(`usage: node bench/floor.mjs [flags]\n${lines.join("")}`);
  process.exit(0);
}
for (const [i, a] of argv.entries()) {
  const isValue = i > 0 && FLAGS[argv[i - 1]]?.[0] === "N";
  if (!(a in FLAGS) && !isValue) fail(`unknown argument ${a} (see --help)`);
}
const intArg = (flag, fallback, max) => {
  const i = argv.indexOf(flag);
  if (i === -1) return fallback;
  const v = Number(argv[i + 1]);
  if (!(Number.isInteger(v) && v > 0 && v <= max)) fail(`${flag} needs an integer 1..${max}`);
  return v;
};
const QUICK = argv.includes("--quick");
const CFG = {
  pacedSeconds: intArg("--paced-seconds", QUICK ? 2 : 30, 600),
  pacedPerSecond: 8,
  calls: intArg("--calls", QUICK ? 200 : 5_000, 100_000),
  warmup: QUICK ? 50 : 500,
  block: QUICK ? 25 : 50,
  coldRuns: intArg("--cold-runs", QUICK ? 2 : 15, 100),
  // How long the "settled" cold starts wait after the warm-up fetch.
  settleMs: 100,
  // As bench/run.mjs's throughput phase, with 6 rounds instead of 4: the contestants are within
  // a few % of each other, and the median of 6 rounds moves less from run to run (about 12 s more).
  tp: QUICK ? THROUGHPUT_QUICK : { ...THROUGHPUT, rounds: 6 },
  profile: QUICK || argv.includes("--no-profile") ? null : { calls: 2_400, rounds: 6, warmup: 300, intervalUs: 100 },
};
const OURS = process.env.OURS ?? join(ROOT, "dist", "index.mjs");
const oursRoot = join(dirname(OURS), "..");
const rel = (path) => relative(ROOT, path) || ".";

// ---------------------------------------------------------------------------------------------
// Preconditions: the bench's dependencies, a package build from its current wasm, the floor built.
const depsState = ensureBenchDeps(log);
const ours = readBuild(oursRoot);
if (ours.state !== "fresh") {
  fail(`${rel(OURS)} is ${ours.state}: run \`npm run build\` (or \`node scripts/build.mjs --skip-wasm\` when pkg/ is current) first`);
}
if (isStale()) await build({ log });

// Snapshot the package build with the testing.mjs and local-server.mjs the local server needs, so
// a rebuild during the run changes nothing measured.
const tmp = mkdtempSync(join(os.tmpdir(), "clerk-metadata-wasm-bench-floor-"));
const snap = join(tmp, "pkg-snapshot");
const indexPath = writeSnapshot(ours.indexText, snap);
copyFileSync(join(dirname(OURS), "testing.mjs"), join(snap, "dist", "testing.mjs"));
mkdirSync(join(snap, "scripts"), { recursive: true });
copyFileSync(join(ROOT, "scripts", "local-server.mjs"), join(snap, "scripts", "local-server.mjs"));
const oursWasmPath = join(oursRoot, "pkg", "clerk_metadata_wasm_bg.wasm");
const floorWasm = readFileSync(WASM);
const buildNote = `${rel(OURS)} ${sha(ours.indexText)} (inlines ${rel(oursWasmPath)}, ${sha(ours.wasm)}); floor ${sha(floorWasm)}`;
const { withServer, close } = serverPool(snap, tmp);

const FLOOR_NAMES = { floor: "**floor** (bench/floor: the mandated design, nothing else)", ...NAMES, host: "host only (no library)" };
// The default-options client's limits back to back. Clerk's windows (100 requests and 10 writes
// per user a 10 s) would be full within a second, so the hot loop uses 1 ms windows (51 ms with
// the limiter's 50 ms safety margin) and 1000 requests: the same bookkeeping (a slot taken and
// released per request, a write slot per user), a limit never reached.
const HOT_RATE_LIMIT = { instance: { requests: 1000, windowMs: 1 }, userWrites: { requests: 10, windowMs: 1 } };

/**
 * Every contestant of one mode, `hot` (back to back) or `paced` (as users call it). Within a mode
 * all send the same requests: hot GETs read GET_USER, paced GETs and throughput go round-robin over
 * the pool, merges (both modes) write the pool round-robin with mergeBody.
 */
async function contestants(server, mode) {
  const { url, secretKey } = server;
  const c = await makeContestants({ root: snap, indexPath, url, secretKey });
  const { createFloorClient } = await import(pathToFileURL(BUNDLE).href);
  const floor = createFloorClient({ secretKey, apiUrl: url });
  const waits = { n: 0 };
  const rateLimit = mode === "hot" ? { rateLimit: HOT_RATE_LIMIT } : {};
  const defaults = c.ours.createClerkMetadataClient({ secretKey, apiUrl: url, onWait: () => waits.n++, ...rateLimit });
  const getOne = {
    floor: () => floor.get(GET_USER),
    ours: c.get.ours,
    oursDefault: () => defaults.getUserPublicMetadata(GET_USER),
    fetchTimeout: c.getReference.fetchTimeout,
    clerk: c.get.clerk,
    fetch: c.get.fetch,
  };
  const getPool = {
    floor: poolGet((id) => floor.get(id)),
    ours: c.getPool.ours,
    oursDefault: poolGet((id) => defaults.getUserPublicMetadata(id)),
    fetchTimeout: c.asUsers.get.fetchTimeout,
    clerk: c.getPool.clerk,
    fetch: c.getPool.fetch,
  };
  const merge = {
    floor: poolMerge((id, m) => floor.merge(id, m)),
    ours: c.mergePool.ours,
    oursDefault: poolMerge((id, m) => defaults.mergeUserPublicMetadata(id, m)),
    fetchTimeout: c.mergePool.fetchTimeout,
    clerk: c.mergePool.clerk,
    fetch: c.mergePool.fetch,
  };
  // Throughput: calls in flight together name different users (the package shares one request
  // among concurrent reads of one user), as in bench/run.mjs's throughput phase; without the
  // default-options client, whose limiter (100 requests a 10 s) would queue 256 calls in flight.
  const { oursDefault: _queued, ...tp } = getPool;
  // The floor answers as the package does.
  const expected = JSON.stringify(await c.client.getUserPublicMetadata(GET_USER));
  if (JSON.stringify(await floor.get(GET_USER)) !== expected) throw new Error("sanity: the floor's GET differs from the package's");
  const merged = await floor.merge(MERGE_USERS[3], mergeBody(0));
  if (merged.lastSeen !== 0 || merged.prefs?.theme !== "dark") throw new Error("sanity: the floor's merge did not land");
  return { fns: { get: mode === "hot" ? getOne : getPool, merge }, tp, waits, wire: c.wire };
}

/** Cold starts, each contestant right after the warm-up fetch and after the host has settled. */
async function coldStart(server, headers) {
  const names = ["floor", "ours", "clerk", "host"];
  const emptyPath = join(tmp, "empty.mjs");
  writeFileSync(emptyPath, "export default 1;\n");
  const common = {
    url: server.url,
    secretKey: server.secretKey,
    user: GET_USER,
    headers,
    indexUrl: pathToFileURL(indexPath).href,
    floorUrl: pathToFileURL(BUNDLE).href,
    emptyUrl: pathToFileURL(emptyPath).href,
  };
  const args = {};
  for (const k of names) for (const settleMs of [0, CFG.settleMs]) args[`${k}/${settleMs}`] = { ...common, which: `${k}-warm`, settleMs };
  const runs = await coldStarts(args, CFG.coldRuns);
  const of = (settleMs) => Object.fromEntries(names.map((k) => [k, runs[`${k}/${settleMs}`]]));
  return { immediate: of(0), settled: of(CFG.settleMs) };
}

/** Every phase, each against a fresh server. */
async function measure(R) {
  await withServer(async (server) => {
    const { fns, waits, wire } = await contestants(server, "hot");
    R.wire = wire;
    for (const op of ["get", "merge"]) {
      log(`hot ${op}: ${CFG.calls} calls × ${Object.keys(fns[op]).length} contestants, blocks of ${CFG.block}`);
      R[`hot_${op}`] = await sequential(fns[op], { warmup: CFG.warmup, calls: CFG.calls, block: CFG.block });
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
      R[`paced_${op}`] = await paced(fns[op], { seconds: CFG.pacedSeconds, perSecond: CFG.pacedPerSecond, warmup: 1 });
      R[`pacedWaits_${op}`] = waits.n;
    });
  }
  await withServer(async (server) => {
    log(`cold start: ${CFG.coldRuns} fresh processes per contestant and mode`);
    R.cold = await coldStart(server, R.wire.get.headers);
  });
  if (CFG.profile) {
    log("CPU profile: GET and merge, floor vs package vs plain fetch");
    const { result } = await withServer((server) =>
      runChild("floor/profile-child.mjs", {
        BENCH_FLOOR_PROF: JSON.stringify({ url: server.url, secretKey: server.secretKey, root: snap, indexPath, floorPath: BUNDLE, ...CFG.profile }),
      }),
    );
    R.profile = result;
  }
}

// ---------------------------------------------------------------------------------------------
log(`${QUICK ? "quick" : "full"} run; package ${buildNote}; bench deps ${depsState}`);
const R = { loadStart: os.loadavg() };
try {
  await measure(R);
} finally {
  await close();
}
const gz = (b) => gzipSync(b, { level: constants.Z_BEST_COMPRESSION }).length;
R.size = { floor: { raw: floorWasm.length, gzip: gz(floorWasm) }, ours: { raw: ours.wasm.length, gzip: gz(ours.wasm) } };
R.loadEnd = os.loadavg();
R.seconds = (performance.now() - started) / 1000;

const paths = { floorWasm: rel(WASM), oursWasm: rel(oursWasmPath) };
const report = renderReport({ R, CFG, QUICK, NAMES: FLOOR_NAMES, HOT_RATE_LIMIT, buildNote, paths, clerkVersion: clerkVersion() });
mkdirSync(join(BENCH, "results"), { recursive: true });
writeFileSync(join(BENCH, "results", "floor.md"), report);
process.stdout.write(`${report}\n`);
log(`done in ${R.seconds.toFixed(0)} s; wrote bench/results/floor.md`);
