// The markdown report of bench/run.mjs (`npm run bench`): one function per section, each adding
// its lines to the report's `md` (lib/markdown.mjs). Reads only the results, so a saved run
// re-renders the same (--from-json).
import { gzipSync, constants } from "node:zlib";
import { NAMES } from "./contestants.mjs";
import { markdown } from "./markdown.mjs";
import { REDIS_NAMES } from "./redis.mjs";
import { fmt, met } from "./stats.mjs";
import { TARGETS } from "./targets.mjs";
import { dataText, sections } from "./wasm-anatomy.mjs";

/** The title, machine, load and run. */
function header({ md: { L }, R, QUICK, meta: { machine, commit, distNote, pkgVersion, clerkVersion } }) {
  L.push(`# clerk-metadata-wasm benchmark${QUICK ? " (--quick)" : ""}`, "");
  L.push(`**Machine:** ${machine.cpu}, ${machine.cores} cores, ${fmt.bytes(machine.mem)} RAM · **Node** ${machine.node} (V8 ${machine.v8}) · ${machine.os}`);
  L.push(`**Load average** (1/5/15 min) at start ${R.loadStart.map((x) => x.toFixed(2)).join(" / ")}, at end ${R.loadEnd.map((x) => x.toFixed(2)).join(" / ")} (other work on the machine shows up as noise; the interleaving spreads it over all contestants).`);
  L.push(
    `**Run:** ${R.finishedAt} · clerk-metadata-wasm ${pkgVersion} @ ${commit} (dist ${distNote}) vs @clerk/backend ${clerkVersion} · ` +
      `local server (scripts/local-server.mjs --no-write-limit) in its own process, a fresh one per phase · contestants interleaved in rounds · run time ${R.runSeconds.toFixed(0)} s`,
  );
  if (R.distChanged) L.push("", "**Note:** dist/index.mjs changed while the bench ran (a concurrent build). Every figure except `npm pack` comes from the snapshot taken at the start; `npm pack` reads the tree as it was during the size phase.");
  L.push("");
}

/** Every target, measured and judged. */
function targets({ md: { L, row, head }, R, CFG, T, G, heapTrendLimit }) {
  L.push("## Targets", "");
  head("Figure", "Measured", "Target", "target / met?");
  for (const [op, label] of [["get", "GET"], ["merge", "merge"]]) {
    for (const r of T[op].rows) {
      row(`${label} median, ${NAMES[r.k]}, vs plain fetch + AbortSignal.timeout`, fmt.ratio(r.vsFetch), `≤ ${fmt.ratio(TARGETS.vsFetchTimeout)}`, met(r.vsFetch <= TARGETS.vsFetchTimeout));
      row(`${label} median, ${NAMES[r.k]}, vs @clerk/backend`, fmt.ratio(r.vsClerk), `≤ ${fmt.ratio(TARGETS.vsClerk)}`, met(r.vsClerk <= TARGETS.vsClerk));
    }
  }
  row("cold start, fetch already warm (import → first call) vs @clerk/backend", `${fmt.ms(R.cold["ours-warm"].totalMs)} vs ${fmt.ms(R.cold["clerk-warm"].totalMs)} = ${fmt.ratio(T.cold.ratio)}`, `≤ ${fmt.ratio(TARGETS.coldVsClerk)}`, met(T.cold.ok));
  row(`throughput, ${CFG.tp.conc} in flight, vs @clerk/backend`, fmt.ratio(T.tp.ratio), `≥ ${fmt.ratio(TARGETS.throughputVsClerk)}`, met(T.tp.ok));
  row(".wasm gzip -9", `${fmt.int(R.size.wasm.gzip)} B`, `≤ ${TARGETS.wasmGzipBytes / 1000} KB (${fmt.int(TARGETS.wasmGzipBytes)} B)`, met(T.wasm.ok));
  row("unpacked package vs @clerk/backend + deps", `${fmt.bytes(R.size.pack.unpackedSize)} vs ${fmt.bytes(R.size.clerk.unpackedSize)} = ${(T.unpacked.ratio * 100).toFixed(1)} %`, `≤ ${TARGETS.unpackedVsClerk * 100} %`, met(T.unpacked.ok));
  row(
    `memory growth over ${fmt.int(CFG.memCalls)} calls`,
    `wasm ${fmt.signedBytes(G.ours.wasm)}, externref table ${G.ours.table >= 0 ? "+" : ""}${G.ours.table}, JS heap ${fmt.signedBytes(G.ours.heap)} (2nd half, lowest of 3 samples: ${fmt.signedBytes(G.ours.heapSecondHalf)})`,
    `none: wasm +0 B, table +0, heap 2nd half < ${fmt.bytes(heapTrendLimit)}`,
    met(T.mem.ok),
  );
  L.push("");
}

/** 1. Sequential latency. */
function sequentialSection({ md: { L, row, head }, R, CFG }) {
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
}

/** 1b. As users call it (the per-call targets). */
function pacedSection({ md: { L, row, head }, R, CFG }) {
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
}

/** 1c. The Redis limiter against the built-in one. */
function redisSection({ md: { L, row, head }, R, CFG }) {
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
}

/** 2. Throughput. */
function throughputSection({ md: { L, row, head }, R, CFG, meta: { machine } }) {
  L.push(`## 2. Throughput, GET, ${CFG.tp.conc} calls in flight (${CFG.tp.rounds} rounds × ${fmt.int(CFG.tp.calls)} calls, median of rounds)`, "");
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
}

/** 3. Cold start. */
function coldSection({ md: { L, row, head }, R, T }) {
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
    const target = k === "ours-warm" ? `≤ ${fmt.ratio(TARGETS.coldVsClerk)} of @clerk/backend, warm: ${met(T.cold.ok)}` : k === "clerk-warm" ? "baseline" : "—";
    row(coldLabel[k], fmt.ms(v.importMs), fmt.ms(v.callMs), fmt.ms(v.totalMs), k.startsWith("ours") ? `${fmt.ms(v.wasmCompileMs)} + ${fmt.ms(v.wasmInstantiateMs)}` : "—", fmt.ms(v.sinceProcessStartMs), fmt.ms(v.wallMs), fmt.ratio(v.totalMs / base.totalMs), target);
  }
  L.push(
    "",
    "Measured inside the child with `performance.now()` from just before the dynamic `import()` to just after the call resolved; \"process wall time\" is spawn → exit seen by the parent (includes Node's own start-up and teardown). " +
      "\"fetch already warm\" rows make one plain fetch to the server before the clock starts, isolating each library's own cost from Node's one-off fetch (undici) initialisation; they are compared with @clerk/backend's warm row.",
    "",
  );
}

/** 4. Size. */
function sizeSection({ md: { L, row, head }, R, T, meta: { clerkVersion } }) {
  const S = R.size;
  L.push("## 4. Size", "");
  head("What", "raw / unpacked", "gzip -9 / tarball", "target / met?");
  row("`pkg/clerk_metadata_wasm_bg.wasm`", `${fmt.int(S.wasm.raw)} B`, `${fmt.int(S.wasm.gzip)} B`, `≤ ${TARGETS.wasmGzipBytes / 1000} KB gzip: ${met(T.wasm.ok)}`);
  row("`dist/index.mjs` (wasm inlined as base64)", `${fmt.int(S.indexMjs.raw)} B`, `${fmt.int(S.indexMjs.gzip)} B`, "—");
  row(`root package \`npm pack --dry-run\` (${S.pack.files.length} files)`, `${fmt.int(S.pack.unpackedSize)} B`, `${fmt.int(S.pack.size)} B tarball`, `≤ ${TARGETS.unpackedVsClerk * 100} % of @clerk/backend + deps: ${met(T.unpacked.ok)} (${(T.unpacked.ratio * 100).toFixed(1)} %)`);
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
}

/** 5. Memory. */
function memorySection({ md: { L, row, head }, R, CFG, T, G }) {
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
}

/** Where the time goes, when the profile ran (a missed latency or cold-start target). */
function profileSection({ md: { L, row, head }, R, CFG }) {
  const run = CFG.profileRun;
  L.push("## Where the time goes (CPU profile of the sequential loop)", "");
  L.push(
    `V8 sampling profiler (the one behind \`node --cpu-prof\`, ${run.intervalUs} µs interval), started through \`node:inspector\` around ${fmt.int(run.calls)} sequential calls per contestant (${run.rounds} interleaved rounds, after ${fmt.int(run.warmup)} warm-up calls), in a fresh process; ` +
      "self time per call, idle (waiting for the server) excluded. \"undici (llhttp wasm)\" is Node's own HTTP parser (the wasm modules a plain fetch runs); \"clerk-metadata-wasm wasm code\" is every other wasm frame. Raw profiles (first round): `bench/results/*.cpuprofile`.",
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

/** Where the .wasm bytes go, when the size target is missed. */
function wasmBytesSection({ md: { L, row, head }, R, T, shippedWasm }) {
  const secs = sections(shippedWasm);
  const text = dataText(shippedWasm);
  L.push("## Where the .wasm bytes go", "");
  L.push(`Sections of the shipped module: ${secs.map((s) => `${s.name} ${fmt.int(s.size)}`).join(" · ")}. Of the data section, ${fmt.int(text.paths)} B are Rust source paths (panic locations: ${text.byCrate.map(([c, b]) => `${c} ${b}`).join(", ")}).`, "");
  const custom = secs.filter((sec) => sec.id === 0).reduce((a, sec) => a + sec.size, 0);
  if (custom > 1024) {
    // Each section with its header (id byte + LEB size), custom ones dropped.
    const stripped = Buffer.concat([shippedWasm.subarray(0, 8), ...secs.filter((sec) => sec.id !== 0).map((sec) => shippedWasm.subarray(sec.headerStart, sec.end))]);
    const strippedGz = gzipSync(stripped, { level: constants.Z_BEST_COMPRESSION }).length;
    L.push(
      `Custom sections (${secs.filter((sec) => sec.id === 0).map((sec) => sec.name).join(", ")}) take ${fmt.int(custom)} B = ${((custom / shippedWasm.length) * 100).toFixed(1)} % of the file and are not needed at run time; without them the module is ${fmt.int(stripped.length)} B, ${fmt.int(strippedGz)} B gzip -9 (target ${fmt.int(TARGETS.wasmGzipBytes)} B).`,
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

/**
 * @param ctx `{ R, CFG, QUICK, T, G, heapTrendLimit, shippedWasm, meta: { machine, commit,
 *   distNote, pkgVersion, clerkVersion } }`: the results, the run's options, lib/targets.mjs's
 *   judgement and the wasm the run measured
 */
export function renderRunReport(ctx) {
  const md = markdown((c) => /^(Contestant|Figure|What|Package|Crate|Function|Category|At)/.test(c));
  const c = { ...ctx, md };
  for (const section of [header, targets, sequentialSection, pacedSection, redisSection, throughputSection, coldSection, sizeSection, memorySection]) section(c);
  if (ctx.R.profile) profileSection(c);
  if (!ctx.T.wasm.ok) wasmBytesSection(c);
  md.L.push(`_Run time ${ctx.R.runSeconds.toFixed(0)} s (${ctx.QUICK ? "--quick" : "full"}). Regenerate with \`npm run bench\`; report also in bench/results/latest.md._`, "");
  return md.L.join("\n");
}
