// The markdown report of bench/floor.mjs.
import os from "node:os";
import { fmt } from "../lib/stats.mjs";

const WASM_GZIP_LIMIT = 100_000;
const mark = (ok) => (ok ? "✅" : "❌");

export function renderReport({ R, CFG, NAMES, HOT_RATE_LIMIT, buildNote, clerkVersion }) {
  const L = [];
  const row = (...cells) => L.push(`| ${cells.join(" | ")} |`);
  const head = (...cells) => {
    row(...cells);
    row(...cells.map((_, i) => (i === 0 ? "---" : "---:")));
  };
  const cpu = os.cpus()[0]?.model?.trim() ?? "unknown";
  const load = (l) => l.map((x) => x.toFixed(2)).join(" / ");

  L.push("# The floor of the package's design", "");
  L.push(
    "bench/floor/ is the thinnest client the mandated design allows: the HTTP exchange in Rust over the host's global `fetch` " +
      "(web-sys `RequestInit`/`Headers`/`Response`/`AbortController`, `JsFuture`, `future_to_promise`), one `AbortController` and one " +
      "`setTimeout` per request, the body copied into wasm and parsed by serde_json (preserve_order, raw_value) into a borrowed " +
      "`RawValue` handed to the host's `JSON.parse`, options through serde-wasm-bindgen; no validation, retry, limiter or cache. " +
      "Same release profile, dependency versions and wasm-opt flags as the package; bundled with the wasm inlined as base64 and " +
      "instantiated with `initSync` on the first client, as the package is.",
    "",
  );
  L.push(`**Machine:** ${cpu}, ${os.availableParallelism?.() ?? os.cpus().length} cores · **Node** ${process.version} · load average (1/5/15 min) ${load(R.loadStart)} at start, ${load(R.loadEnd)} at end.`);
  L.push(`**Run:** ${new Date().toISOString()} · run time ${R.seconds.toFixed(0)} s · @clerk/backend ${clerkVersion} · package ${buildNote}.`);
  L.push("Contestants interleaved in rounds (the first one rotates each round); local Clerk-compatible server in its own process, a fresh one per phase. Medians and ratios only: absolute times move with the machine's load.", "");

  // Targets, for the floor and the package side by side.
  const ratio = (a, b) => a / b;
  L.push("## Targets", "");
  head("Figure", "floor", "package, client (rateLimit: false)", "package, default options", "target");
  for (const [mode, label] of [["hot", "back to back"], ["paced", `paced, ${CFG.pacedPerSecond}/s`]]) {
    for (const op of ["get", "merge"]) {
      const t = R[`${mode}_${op}`];
      const cell = (k, base, limit) => {
        const x = ratio(t[k].median, t[base].median);
        return `${fmt.ratio(x)} ${mark(x <= limit)}`;
      };
      const opName = op === "get" ? "GET" : "merge";
      row(`${opName} median ÷ @clerk/backend (${label})`, cell("floor", "clerk", 1), cell("ours", "clerk", 1), cell("oursDefault", "clerk", 1), "≤ 1.00×");
      row(`${opName} median ÷ fetch + AbortSignal.timeout (${label})`, cell("floor", "fetchTimeout", 1.1), cell("ours", "fetchTimeout", 1.1), cell("oursDefault", "fetchTimeout", 1.1), "≤ 1.10×");
    }
  }
  for (const [mode, label] of [["immediate", "clock right after the warm-up fetch, as bench/cold-child.mjs"], ["settled", "host settled 100 ms first"]]) {
    const C = R.cold[mode];
    const coldCell = (k) => {
      const x = C[k].totalMs / C.clerk.totalMs;
      return `${fmt.ms(C[k].totalMs)} = ${fmt.ratio(x)} ${mark(x <= 0.25)}`;
    };
    row(`cold start, import → first GET, ÷ @clerk/backend's ${fmt.ms(C.clerk.totalMs)} (${label})`, coldCell("floor"), coldCell("ours"), "(as the client)", "≤ 0.25×");
  }
  const tpCell = (k) => {
    const x = R.tp[k].perSec / R.tp.clerk.perSec;
    return `${fmt.ratio(x)} ${mark(x >= 1)}`;
  };
  row(`throughput, GET, ${CFG.tp.conc} in flight, ÷ @clerk/backend`, tpCell("floor"), tpCell("ours"), "—", "≥ 1.00×");
  const sizeCell = (k) => `${fmt.int(R.size[k].gzip)} B ${mark(R.size[k].gzip <= WASM_GZIP_LIMIT)}`;
  row(".wasm gzip -9", sizeCell("floor"), sizeCell("ours"), "(same module)", `≤ ${fmt.int(WASM_GZIP_LIMIT)} B`);
  L.push("");
  L.push(
    `Default options keep the rate limiter on. Paced, they are the true defaults (Clerk's 100 requests and 10 writes per user a 10 s; ${CFG.pacedPerSecond} calls a second stay under them). ` +
      `Back to back, those windows would fill within a second, so the hot rows use \`rateLimit: ${JSON.stringify(HOT_RATE_LIMIT)}\` (each window is 50 ms longer in the limiter, its safety margin): the same bookkeeping, a limit never reached. ` +
      `Limiter waits seen (onWait): hot ${R.hotWaits}, paced GET ${R.pacedWaits_get}, paced merge ${R.pacedWaits_merge}.`,
    "",
  );

  const perCall = (title, t, calls) => {
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
    if (calls) L.push(calls, "");
  };
  L.push(`## 1. Per call, back to back (${fmt.int(CFG.warmup)} warm-up calls each excluded, blocks of ${CFG.block})`, "");
  perCall("GET public metadata", R.hot_get);
  perCall("Merge public metadata", R.hot_merge);
  L.push(
    "Client CPU / call: the measuring process's user + system CPU around each block (the server is another process). " +
      "GETs read one user (the default-options client goes round-robin over 512 seeded users, all with the same metadata); merges write one user per contestant, or round-robin.",
    "",
  );
  L.push(`## 2. Per call, paced (${CFG.pacedSeconds} s × ${CFG.pacedPerSecond} calls a second per contestant, round-robin over 512 users)`, "");
  perCall("GET public metadata", R.paced_get);
  perCall("Merge public metadata", R.paced_merge);
  L.push("Client CPU / call here is `process.cpuUsage()` around each call (µs resolution).", "");

  L.push(`## 2b. Throughput, GET, ${CFG.tp.conc} calls in flight (${CFG.tp.rounds} rounds × ${fmt.int(CFG.tp.calls)} calls, median of rounds)`, "");
  head("Contestant", "calls/s", "range over rounds", "÷ @clerk/backend", "÷ floor", "client CPU / call");
  for (const [k, v] of Object.entries(R.tp)) {
    row(NAMES[k], fmt.int(v.perSec), `${fmt.int(v.min)}–${fmt.int(v.max)}`, fmt.ratio(v.perSec / R.tp.clerk.perSec), fmt.ratio(v.perSec / R.tp.floor.perSec), `${v.cpuUsPerCall.toFixed(0)} µs`);
  }
  L.push("", "On 2 cores the server process shares the CPU with the client, so calls/s is partly bound by the server; client CPU / call is each contestant's own part.", "");

  L.push(`## 3. Cold start (fresh \`node\`, fetch warm; medians of ${CFG.coldRuns} runs each, interleaved)`, "");
  L.push(
    "Each child makes one plain fetch to the server, then the clock runs from the dynamic `import()` to the first GET resolved. " +
      "*Right after* starts the clock as soon as that fetch is read, as bench/cold-child.mjs does: the host's own leftover work from it (V8's background compilation, GC) then lands on whatever runs first. *Settled* waits 100 ms first. " +
      "The host-only row is what any library pays at least in that position: a dynamic import (of an empty module) and a second fetch with `AbortSignal.timeout`.",
    "",
  );
  const coldNames = {
    floor: NAMES.floor,
    ours: "clerk-metadata-wasm (client, rateLimit: false)",
    clerk: "@clerk/backend",
    host: "host only (no library)",
  };
  for (const [mode, label] of [["immediate", "Right after the warm-up fetch"], ["settled", "Settled"]]) {
    const C = R.cold[mode];
    L.push(`### ${label} (¼ of @clerk/backend = ${fmt.ms(C.clerk.totalMs / 4, 2)})`, "");
    head("Contestant", "import", "create client", "first GET", "import → first GET", "wasm compile + instantiate", "÷ @clerk/backend", "÷ floor");
    for (const [k, v] of Object.entries(C)) {
      const wasm = k === "floor" || k === "ours" ? `${fmt.ms(v.wasmCompileMs, 2)} + ${fmt.ms(v.wasmInstantiateMs, 2)}` : "—";
      row(coldNames[k], fmt.ms(v.importMs, 2), fmt.ms(v.createMs, 2), fmt.ms(v.callMs, 2), fmt.ms(v.totalMs, 2), wasm, fmt.ratio(v.totalMs / C.clerk.totalMs), fmt.ratio(v.totalMs / C.floor.totalMs));
    }
    L.push("");
  }
  L.push(
    "Each column is its own median, so the parts need not add up to the total. The wasm is compiled and instantiated inside \"create client\" (`initSync` on the first client); V8 compiles wasm functions lazily, on their first call, so creating the client and the first GET also pay for compiling the functions they run.",
    "",
  );

  L.push("## 4. Size", "");
  head("Module", "raw", "gzip -9", "÷ floor (gzip)", "target");
  row("floor `bench/floor/out/clerk_metadata_floor_bg.wasm`", `${fmt.int(R.size.floor.raw)} B`, `${fmt.int(R.size.floor.gzip)} B`, "1.00×", `≤ 100 KB: ${mark(R.size.floor.gzip <= WASM_GZIP_LIMIT)}`);
  row("package `pkg/clerk_metadata_wasm_bg.wasm`", `${fmt.int(R.size.ours.raw)} B`, `${fmt.int(R.size.ours.gzip)} B`, fmt.ratio(R.size.ours.gzip / R.size.floor.gzip), `≤ 100 KB: ${mark(R.size.ours.gzip <= WASM_GZIP_LIMIT)}`);
  L.push("");

  if (R.profile) {
    L.push("## 5. Where the CPU goes (self time per call, µs)", "");
    L.push(
      "V8's sampling profiler (100 µs interval) through `node:inspector`, in a fresh process, around 2,400 sequential calls per contestant (plain fetch with and without `AbortSignal.timeout` for the host's own share) in 6 interleaved rounds after 300 warm-up calls; idle (waiting for the server) excluded. " +
        `Each wasm module is the one busiest in its own contestant's block (host ${R.profile.wasmModules.host}, floor ${R.profile.wasmModules.floor}, package ${R.profile.wasmModules.ours}); wasm-bindgen's FinalizationRegistry callbacks can run in another contestant's block. ` +
        "The profiler's overhead inflates every figure alike; compare columns, not with the tables above.",
      "",
    );
    const own = { floor: ["floor wasm", "floor JS glue"], ours: ["package wasm", "package JS (dist/index.mjs)"] };
    for (const op of ["get", "merge"]) {
      const P = R.profile[op];
      const names = ["floor", "ours", "fetchTimeout", "fetch"];
      const cats = [...new Set(names.flatMap((k) => Object.keys(P[k].cats)))].filter((c) => c !== "idle").sort((a, b) => (P.ours.cats[b] ?? 0) - (P.ours.cats[a] ?? 0));
      const us = (k, ms) => ((ms * 1000) / P[k].calls).toFixed(1);
      L.push(`### ${op === "get" ? "GET" : "merge"}`, "");
      head("Category", ...names.map((k) => NAMES[k]));
      for (const c of cats) row(c, ...names.map((k) => us(k, P[k].cats[c] ?? 0)));
      row("**own code (wasm + JS glue)**", ...names.map((k) => `**${us(k, (own[k] ?? []).reduce((a, c) => a + (P[k].cats[c] ?? 0), 0))}**`));
      row("**total busy**", ...names.map((k) => `**${us(k, P[k].busyMs)}**`));
      L.push("");
    }
  }
  L.push(`_Regenerate with \`node bench/floor.mjs\` (flags: --paced-seconds N, --calls N, --cold-runs N, --no-profile); report also in bench/results/floor.md._`, "");
  return L.join("\n");
}
