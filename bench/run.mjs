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
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { coldStarts, runChild } from "./lib/child.mjs";
import { makeContestants } from "./lib/contestants.mjs";
import { THROUGHPUT, THROUGHPUT_QUICK, throughput } from "./lib/in-flight.mjs";
import { paced, sequential } from "./lib/loops.mjs";
import { clerkVersion as installedClerkVersion, ensureBenchDeps, readBuild, sha, writeSnapshot } from "./lib/preconditions.mjs";
import { hasRedisServer, makeRedisContestants, startRedisServer } from "./lib/redis.mjs";
import { renderRunReport } from "./lib/run-report.mjs";
import { GET_USER, serverPool } from "./lib/server.mjs";
import { measureSizes } from "./lib/size.mjs";
import { judgeRun } from "./lib/targets.mjs";
import { codeByCrate, sections } from "./lib/wasm-anatomy.mjs";

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
      "  --memory-calls N  calls of this package in the memory phase (default 100000; quick 1000)\n" +
      "  --memory-baseline-calls N  calls of plain fetch / @clerk/backend there (default 20000; quick 1000)\n" +
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
const memoryCallsArg = intArg("--memory-calls", 10_000_000);
// The CPU profile's own counts (it runs only for a missed latency or cold-start target).
const profileRun = { calls: 3_000, rounds: 6, warmup: 500, intervalUs: 100 };
const CFG = QUICK
  ? { pacedSeconds: 3, pacedPerSecond: 8, seqWarmup: 100, seqCalls: 400, redisCalls: 400, block: 25, tp: THROUGHPUT_QUICK, coldRuns: 2, memCalls: 1_000, memBaselineCalls: 1_000, memWarmup: 200, memEvery: 500, memConc: 32, profile: false, profileRun, anatomy: false, packEachDep: false }
  : { pacedSeconds: 40, pacedPerSecond: 8, seqWarmup: 500, seqCalls: 5_000, redisCalls: 2_000, block: 50, tp: THROUGHPUT, coldRuns: 10, memCalls: 100_000, memBaselineCalls: 20_000, memWarmup: 5_000, memEvery: 10_000, memConc: 32, profile: true, profileRun, anatomy: true, packEachDep: true };
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

/**
 * Makes sure dist/ is built from the current pkg/ and js/ (rebuilding it if not), then snapshots
 * dist/index.mjs and the .wasm into `dir`, so every phase measures the same build even if someone
 * rebuilds while the bench runs.
 */
async function snapshotBuild(dir) {
  let note = "fresh";
  for (let attempt = 0; attempt < 3; attempt++) {
    const b = readBuild(ROOT);
    if (b.state === "fresh") {
      const indexPath = writeSnapshot(b.indexText, dir);
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

const depsState = SAVED ? "n/a" : ensureBenchDeps(log);
const tmp = mkdtempSync(join(os.tmpdir(), "clerk-metadata-wasm-bench-"));
const build = SAVED ? { wasm: Buffer.from(SAVED.wasmBase64, "base64") } : await snapshotBuild(tmp);
const distNote = SAVED ? SAVED.distNote : `${build.note}; measured snapshot: dist/index.mjs ${build.indexSha}, wasm ${build.wasmSha}`;
const resultsDir = join(BENCH, "results");
mkdirSync(resultsDir, { recursive: true });
const { withServer, close } = serverPool(ROOT, tmp);

// ---------------------------------------------------------------------------------------------
// Phases not in lib/: cold start and memory, each in fresh processes.
async function coldStart(server, runs, headers) {
  const common = { url: server.url, secretKey: server.secretKey, indexUrl: pathToFileURL(build.indexPath).href, user: GET_USER, headers };
  const names = ["ours", "clerk", "fetch", "ours-warm", "clerk-warm"];
  return coldStarts(Object.fromEntries(names.map((which) => [which, { ...common, which }])), runs);
}

// Each contestant in its own fresh process and against its own fresh server.
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
const clerkVersion = SAVED?.clerkVersion ?? installedClerkVersion();

/** Every phase but the analyses, each against a fresh server. */
async function measure(R) {
  const contestants = (server) => makeContestants({ root: ROOT, indexPath: build.indexPath, url: server.url, secretKey: server.secretKey });
  const seq = { warmup: CFG.seqWarmup, calls: CFG.seqCalls, block: CFG.block };
  await withServer(async (server) => {
    const c = await contestants(server);
    R.wire = c.wire;
    log(`sequential GET: ${CFG.seqCalls} calls × ${Object.keys(c.get).length + 1} contestants`);
    R.seqGet = await sequential({ ...c.get, ...c.getReference }, seq);
    log(`sequential merge: ${CFG.seqCalls} calls × ${Object.keys(c.merge).length} contestants`);
    R.seqMerge = await sequential(c.merge, seq);
  });

  // A fresh server (and so a fresh default client, with an empty limiter) for each operation.
  for (const op of ["get", "merge"]) {
    await withServer(async (server) => {
      const c = await contestants(server);
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
        R.redisGet = await sequential(c.get, { ...seq, calls: CFG.redisCalls });
        R.redisMerge = await sequential(c.merge, { ...seq, calls: CFG.redisCalls });
        await c.close();
      } finally {
        await redis.stop();
      }
    });
  } else {
    log("redis limiter: skipped (no redis-server)");
  }

  await withServer(async (server) => {
    const c = await contestants(server);
    log(`throughput GET: ${CFG.tp.rounds} rounds × ${CFG.tp.calls} calls, ${CFG.tp.conc} in flight`);
    R.tp = await throughput({ ...c.getPool, oursSameUser: c.get.ours }, CFG.tp);
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
}

/** For missed targets (full mode): a CPU profile of the sequential loop, where the wasm's bytes go. */
async function analyse(R, T) {
  const missedLatency = !T.get.ok || !T.merge.ok;
  if (CFG.profile && (missedLatency || !T.cold.ok)) {
    R.profile = {};
    for (const op of ["get", "merge"]) {
      log(`CPU profile: sequential ${op}, ${CFG.profileRun.calls} calls per contestant`);
      R.profile[op] = await withServer(async (server) =>
        (
          await runChild("profile-child.mjs", {
            BENCH_PROF: JSON.stringify({ url: server.url, secretKey: server.secretKey, root: ROOT, indexPath: build.indexPath, ...CFG.profileRun, which: ["ours", "fetch", "clerk"], op, outDir: resultsDir }),
          })
        ).result,
      );
    }
  }
  const shippedHasNames = sections(build.wasm).some((sec) => sec.name === 'custom "name"');
  if (!T.wasm.ok && shippedHasNames) {
    // The shipped module carries its own names: attribute its code exactly, no re-optimisation.
    R.anatomy = { ...codeByCrate(build.wasm), exact: true };
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
}

const R = SAVED?.results ?? { loadStart: os.loadavg() };
if (!SAVED) {
  log(`mode ${QUICK ? "quick" : "full"}; dist ${distNote}; bench deps ${depsState}`);
  try {
    await measure(R);
    await analyse(R, judgeRun(R).T);
  } finally {
    await close();
  }
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
} else {
  await close();
}

// ---------------------------------------------------------------------------------------------
const meta = { machine, commit, distNote, pkgVersion, clerkVersion };
const report = renderRunReport({ R, CFG, QUICK, ...judgeRun(R), shippedWasm: build.wasm, meta });
process.stdout.write(`${report}\n`);
if (!SAVED) {
  writeFileSync(join(resultsDir, "latest.md"), report);
  log(`done in ${R.runSeconds.toFixed(0)} s; wrote bench/results/latest.md`);
}
