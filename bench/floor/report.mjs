// The markdown report of bench/floor.mjs: one function per section, each adding its lines to the
// report's `md` (lib/markdown.mjs).
import os from "node:os";
import { markdown } from "../lib/markdown.mjs";
import { fmt } from "../lib/stats.mjs";
import { TARGETS } from "../lib/targets.mjs";

const mark = (ok) => (ok ? "✅" : "❌");
const opName = (op) => (op === "get" ? "GET" : "merge");

function header({ md: { L }, R, QUICK, buildNote, clerkVersion }) {
  const cpu = os.cpus()[0]?.model?.trim() ?? "unknown";
  const load = (l) => l.map((x) => x.toFixed(2)).join(" / ");
  L.push(`# The floor of the package's design${QUICK ? " (--quick)" : ""}`, "");
  L.push(
    "bench/floor/ is the thinnest client the mandated design allows: the HTTP exchange in Rust over the host's global `fetch` " +
      "(web-sys `RequestInit`/`Headers`/`Response`/`AbortController`, `JsFuture`, `future_to_promise`), one `AbortController` and one " +
      "`setTimeout` per request, the body copied into wasm and parsed by serde_json (preserve_order, raw_value) into a borrowed " +
      "`RawValue` handed to the host's `JSON.parse`, options through serde-wasm-bindgen; no validation, retry, limiter or cache. " +
      "Same release profile, allocator (talc), dependency versions and wasm-opt flags as the package; bundled with the wasm inlined as base64 and " +
      "instantiated with `initSync` on the first client, as the package is.",
    "",
  );
  L.push(`**Machine:** ${cpu}, ${os.availableParallelism?.() ?? os.cpus().length} cores · **Node** ${process.version} · load average (1/5/15 min) ${load(R.loadStart)} at start, ${load(R.loadEnd)} at end.`);
  L.push(`**Run:** ${new Date().toISOString()} · run time ${R.seconds.toFixed(0)} s · @clerk/backend ${clerkVersion} · package ${buildNote}.`);
  L.push("Contestants interleaved in rounds (the first one rotates each round); local Clerk-compatible server in its own process, a fresh one per phase. Medians and ratios only: absolute times move with the machine's load.", "");
}

function targets({ md: { L, row, head }, R, CFG, HOT_RATE_LIMIT }) {
  L.push("## Targets", "");
  head("Figure", "floor", "package, client (rateLimit: false)", "package, default options", "target");
  const atMost = (x, limit) => `${fmt.ratio(x)} ${mark(x <= limit)}`;
  for (const [mode, label] of [["hot", "back to back"], ["paced", `paced, ${CFG.pacedPerSecond}/s`]]) {
    for (const op of ["get", "merge"]) {
      const t = R[`${mode}_${op}`];
      const cells = (base, limit) => ["floor", "ours", "oursDefault"].map((k) => atMost(t[k].median / t[base].median, limit));
      row(`${opName(op)} median ÷ @clerk/backend (${label})`, ...cells("clerk", TARGETS.vsClerk), `≤ ${fmt.ratio(TARGETS.vsClerk)}`);
      row(`${opName(op)} median ÷ fetch + AbortSignal.timeout (${label})`, ...cells("fetchTimeout", TARGETS.vsFetchTimeout), `≤ ${fmt.ratio(TARGETS.vsFetchTimeout)}`);
    }
  }
  for (const [mode, label] of [["immediate", "clock right after the warm-up fetch, as bench/run.mjs"], ["settled", `host settled ${CFG.settleMs} ms first`]]) {
    const C = R.cold[mode];
    const cell = (k) => `${fmt.ms(C[k].totalMs)} = ${atMost(C[k].totalMs / C.clerk.totalMs, TARGETS.coldVsClerk)}`;
    row(`cold start, import → first GET, ÷ @clerk/backend's ${fmt.ms(C.clerk.totalMs)} (${label})`, cell("floor"), cell("ours"), "(as the client)", `≤ ${fmt.ratio(TARGETS.coldVsClerk)}`);
  }
  const tpCell = (k) => {
    const x = R.tp[k].perSec / R.tp.clerk.perSec;
    return `${fmt.ratio(x)} ${mark(x >= TARGETS.throughputVsClerk)}`;
  };
  row(`throughput, GET, ${CFG.tp.conc} in flight, ÷ @clerk/backend`, tpCell("floor"), tpCell("ours"), "—", `≥ ${fmt.ratio(TARGETS.throughputVsClerk)}`);
  const sizeCell = (k) => `${fmt.int(R.size[k].gzip)} B ${mark(R.size[k].gzip <= TARGETS.wasmGzipBytes)}`;
  row(".wasm gzip -9", sizeCell("floor"), sizeCell("ours"), "(same module)", `≤ ${fmt.int(TARGETS.wasmGzipBytes)} B`);
  L.push("");
  L.push(
    `Default options keep the rate limiter on. Paced, they are the true defaults (Clerk's 100 requests and 10 writes per user a 10 s; ${CFG.pacedPerSecond} calls a second stay under them). ` +
      `Back to back, those windows would fill within a second, so the hot rows use \`rateLimit: ${JSON.stringify(HOT_RATE_LIMIT)}\` (each window is 50 ms longer in the limiter, its safety margin): the same bookkeeping, a limit never reached. ` +
      `Limiter waits seen (onWait): hot ${R.hotWaits}, paced GET ${R.pacedWaits_get}, paced merge ${R.pacedWaits_merge}.`,
    "",
  );
}

/** One table of per-call figures (one operation, one mode). */
function perCallTable({ md: { L, row, head }, NAMES }, title, t) {
  L.push(`### ${title}`, "");
  head("Contestant", "calls", "median", "p99", "÷ fetch + timeout", "÷ @clerk/backend", "÷ floor", "median − floor", "client CPU / call", "CPU − floor");
  for (const [k, v] of Object.entries(t)) {
    row(
      NAMES[k],
      fmt.int(v.calls),
      fmt.us(v.median),
      fmt.us(v.p99),
      fmt.ratio(v.median / t.fetchTimeout.median),
      fmt.ratio(v.median / t.clerk.median),
      fmt.ratio(v.median / t.floor.median),
      k === "floor" ? "—" : `${((v.median - t.floor.median) * 1000).toFixed(0)} µs`,
      `${v.cpuUsPerCall.toFixed(0)} µs`,
      k === "floor" ? "—" : `${(v.cpuUsPerCall - t.floor.cpuUsPerCall).toFixed(0)} µs`,
    );
  }
  L.push("");
}

function perCall(ctx) {
  const { md, R, CFG } = ctx;
  md.L.push(`## 1. Per call, back to back (${fmt.int(CFG.warmup)} warm-up calls each excluded, blocks of ${CFG.block})`, "");
  perCallTable(ctx, "GET public metadata", R.hot_get);
  perCallTable(ctx, "Merge public metadata", R.hot_merge);
  md.L.push(
    "Client CPU / call: the measuring process's user + system CPU around each block (the server is another process). " +
      "Every contestant sends the same requests: GETs read one user; merges write the 512 seeded users round-robin, each contestant the same sequence of users and bodies.",
    "",
  );
  md.L.push(`## 2. Per call, paced (${CFG.pacedSeconds} s × ${CFG.pacedPerSecond} calls a second per contestant, round-robin over 512 users)`, "");
  perCallTable(ctx, "GET public metadata", R.paced_get);
  perCallTable(ctx, "Merge public metadata", R.paced_merge);
  md.L.push("Client CPU / call here is `process.cpuUsage()` around each call (µs resolution).", "");
}

function throughputSection({ md: { L, row, head }, R, CFG, NAMES }) {
  L.push(`## 2b. Throughput, GET, ${CFG.tp.conc} calls in flight (${CFG.tp.rounds} rounds × ${fmt.int(CFG.tp.calls)} calls, median of rounds)`, "");
  head("Contestant", "calls/s", "range over rounds", "÷ @clerk/backend", "÷ floor", "client CPU / call");
  for (const [k, v] of Object.entries(R.tp)) {
    row(NAMES[k], fmt.int(v.perSec), `${fmt.int(v.min)}–${fmt.int(v.max)}`, fmt.ratio(v.perSec / R.tp.clerk.perSec), fmt.ratio(v.perSec / R.tp.floor.perSec), `${v.cpuUsPerCall.toFixed(0)} µs`);
  }
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  L.push(
    "",
    "Calls go round-robin over 512 seeded users. Where two contestants' ranges over rounds overlap, the ratio between them is within this run's run-to-run noise. " +
      `On ${cores} cores the server process shares the CPU with the client, so calls/s is partly bound by the server; client CPU / call is each contestant's own part.`,
    "",
  );
}

function coldStart({ md: { L, row, head }, R, CFG, NAMES }) {
  L.push(`## 3. Cold start (fresh \`node\`, fetch warm; medians of ${CFG.coldRuns} runs each, interleaved)`, "");
  L.push(
    "Each child (bench/cold-child.mjs) makes one plain fetch to the server, then the clock runs from the dynamic `import()` to the first GET resolved. " +
      `*Right after* starts the clock as soon as that fetch is read, as bench/run.mjs's warm cold starts do: the host's own leftover work from it (V8's background compilation, GC) then lands on whatever runs first. *Settled* waits ${CFG.settleMs} ms first. ` +
      "The host-only row is what any library pays at least in that position: a dynamic import (of an empty module) and a second fetch with `AbortSignal.timeout`.",
    "",
  );
  for (const [mode, label] of [["immediate", "Right after the warm-up fetch"], ["settled", "Settled"]]) {
    const C = R.cold[mode];
    L.push(`### ${label} (${fmt.ratio(TARGETS.coldVsClerk)} of @clerk/backend = ${fmt.ms(C.clerk.totalMs * TARGETS.coldVsClerk, 2)})`, "");
    head("Contestant", "import", "create client", "first GET", "import → first GET", "wasm compile + instantiate", "÷ @clerk/backend", "÷ floor");
    for (const [k, v] of Object.entries(C)) {
      const wasm = k === "floor" || k === "ours" ? `${fmt.ms(v.wasmCompileMs, 2)} + ${fmt.ms(v.wasmInstantiateMs, 2)}` : "—";
      row(NAMES[k], fmt.ms(v.importMs, 2), fmt.ms(v.createMs, 2), fmt.ms(v.firstCallMs, 2), fmt.ms(v.totalMs, 2), wasm, fmt.ratio(v.totalMs / C.clerk.totalMs), fmt.ratio(v.totalMs / C.floor.totalMs));
    }
    L.push("");
  }
  L.push(
    "Each column is its own median, so the parts need not add up to the total. The wasm is compiled and instantiated inside \"create client\" (`initSync` on the first client); V8 compiles wasm functions lazily, on their first call, so creating the client and the first GET also pay for compiling the functions they run.",
    "",
  );
}

function size({ md: { L, row, head }, R, paths }) {
  const limit = `≤ ${fmt.int(TARGETS.wasmGzipBytes)} B: `;
  L.push("## 4. Size", "");
  head("Module", "raw", "gzip -9", "÷ floor (gzip)", "target");
  row(`floor \`${paths.floorWasm}\``, `${fmt.int(R.size.floor.raw)} B`, `${fmt.int(R.size.floor.gzip)} B`, "1.00×", limit + mark(R.size.floor.gzip <= TARGETS.wasmGzipBytes));
  row(`package \`${paths.oursWasm}\``, `${fmt.int(R.size.ours.raw)} B`, `${fmt.int(R.size.ours.gzip)} B`, fmt.ratio(R.size.ours.gzip / R.size.floor.gzip), limit + mark(R.size.ours.gzip <= TARGETS.wasmGzipBytes));
  L.push("");
}

function profile({ md: { L, row, head }, R, CFG, NAMES }) {
  const P = CFG.profile;
  L.push("## 5. Where the CPU goes (self time per call, µs)", "");
  L.push(
    `V8's sampling profiler (${P.intervalUs} µs interval) through \`node:inspector\`, in a fresh process, around ${fmt.int(P.calls)} sequential calls per contestant (the requests of section 1; plain fetch with and without \`AbortSignal.timeout\` for the host's own share) in ${P.rounds} interleaved rounds after ${fmt.int(P.warmup)} warm-up calls; idle (waiting for the server) excluded. ` +
      `Each wasm module is the one busiest in its own contestant's block (host ${R.profile.wasmModules.host}, floor ${R.profile.wasmModules.floor}, package ${R.profile.wasmModules.ours}); wasm-bindgen's FinalizationRegistry callbacks can run in another contestant's block. ` +
      "The profiler's overhead inflates every figure alike; compare columns, not with the tables above.",
    "",
  );
  const names = ["floor", "ours", "fetchTimeout", "fetch"];
  for (const op of ["get", "merge"]) {
    const ms = Object.fromEntries(names.map((k) => [k, Object.fromEntries(R.profile[op][k].categories.map((c) => [c.name, c.ms]))]));
    const cats = [...new Set(names.flatMap((k) => Object.keys(ms[k])))].filter((c) => c !== "idle").sort((a, b) => (ms.ours[b] ?? 0) - (ms.ours[a] ?? 0));
    const us = (k, x) => ((x * 1000) / R.profile[op][k].calls).toFixed(1);
    L.push(`### ${opName(op)}`, "");
    head("Category", ...names.map((k) => NAMES[k]));
    for (const c of cats) row(c, ...names.map((k) => us(k, ms[k][c] ?? 0)));
    row("**own code (wasm + JS glue)**", ...names.map((k) => `**${us(k, (R.profile.own[k] ?? []).reduce((a, c) => a + (ms[k][c] ?? 0), 0))}**`));
    row("**total busy**", ...names.map((k) => `**${us(k, R.profile[op][k].busyMs)}**`));
    L.push("");
  }
}

/**
 * @param ctx `{ R, CFG, QUICK, NAMES, HOT_RATE_LIMIT, buildNote, paths: { floorWasm, oursWasm },
 *   clerkVersion }` from bench/floor.mjs
 */
export function renderReport(ctx) {
  const md = markdown();
  const c = { ...ctx, md };
  header(c);
  targets(c);
  perCall(c);
  throughputSection(c);
  coldStart(c);
  size(c);
  if (ctx.R.profile) profile(c);
  md.L.push(`_Regenerate with \`node bench/floor.mjs\` (flags: --quick, --paced-seconds N, --calls N, --cold-runs N, --no-profile); report also in bench/results/floor.md._`, "");
  return md.L.join("\n");
}
