// Profiles interleaved blocks of calls with V8's sampling profiler (the one behind `node
// --cpu-prof`, through node:inspector) and summarises them: self time per function and per
// category, accumulated over the blocks (one per contestant and round).
import { rotate } from "./stats.mjs";

/** The categories of the package's own code. */
export const PACKAGE_CATEGORIES = { wasm: "clerk-metadata-wasm wasm code", js: "clerk-metadata-wasm JS (dist/index.mjs)" };

/**
 * A frame's category. `categories` are extra rules `(frame) => name | undefined`, tried before
 * the built-in ones past idle, GC and program (e.g. another wasm module and its JS glue).
 */
function category(frame, { ourWasmUrls, categories }) {
  const { url, functionName } = frame;
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)" || functionName === "(root)") return "V8/native (program)";
  for (const rule of categories) {
    const name = rule(frame);
    if (name) return name;
  }
  if (url.startsWith("wasm://")) return ourWasmUrls.has(url) ? PACKAGE_CATEGORIES.wasm : "undici (llhttp wasm)";
  if (url.includes("/dist/index.mjs")) return PACKAGE_CATEGORIES.js;
  if (url.includes("@clerk/") || url.includes("/node_modules/")) return "@clerk/backend + deps JS";
  if (url.startsWith("node:internal/deps/undici")) return "undici (fetch) JS";
  if (url.startsWith("node:")) return "Node internals JS";
  if (url.includes("/bench/")) return "bench harness";
  if (url === "") return "V8 builtins / runtime";
  return "other JS";
}

function shortUrl(url, root) {
  if (!url) return "";
  let u = url.replace(/^file:\/\//, "");
  if (root && u.startsWith(root)) u = u.slice(root.length + 1);
  u = u.replace(/^.*\/clerk-metadata-wasm-bench-[^/]+\//, "");
  return u.replace(/^node:internal\//, "node:");
}

/** The wasm modules a profile ran (their wasm:// URLs). */
export function wasmUrls(profile) {
  return new Set(profile.nodes.map((n) => n.callFrame.url).filter((u) => u.startsWith("wasm://")));
}

export function newAccumulator() {
  return { fns: new Map(), cats: new Map(), busyMs: 0, idleMs: 0 };
}

/** Adds one profile's self times into `acc`. */
export function accumulate(acc, profile, { root, ourWasmUrls = new Set(), categories = [] } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i + 1] is the time from sample i to the next one: attribute it to sample i.
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  for (const [id, ms] of self) {
    const frame = byId.get(id).callFrame;
    const cat = category(frame, { ourWasmUrls, categories });
    acc.cats.set(cat, (acc.cats.get(cat) ?? 0) + ms);
    if (cat === "idle") {
      acc.idleMs += ms;
      continue;
    }
    acc.busyMs += ms;
    const where = frame.url.startsWith("wasm://") ? "" : `  ${shortUrl(frame.url, root)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    const key = `${frame.functionName || "(anonymous)"}${where}`;
    const f = acc.fns.get(key) ?? { key, ms: 0, category: cat };
    f.ms += ms;
    acc.fns.set(key, f);
  }
  return acc;
}

export function finish(acc) {
  return {
    busyMs: acc.busyMs,
    idleMs: acc.idleMs,
    categories: [...acc.cats].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms),
    top: [...acc.fns.values()].sort((a, b) => b.ms - a.ms).slice(0, 25),
  };
}

/**
 * Profiles `rounds` interleaved blocks of each contestant in `fns` (`calls` split evenly over the
 * rounds, the first contestant rotating), through an inspector `session` with the profiler enabled.
 * `onProfile(name, round, profile)` sees each raw profile.
 * @returns per contestant: `finish`'s summary, calls, wall and CPU time (ms) of its blocks
 */
export async function profileRounds(session, fns, { calls, rounds, root, ourWasmUrls, categories, onProfile = () => {} }) {
  const names = Object.keys(fns);
  const per = Object.fromEntries(names.map((n) => [n, { acc: newAccumulator(), wallMs: 0, cpuMs: 0, calls: 0 }]));
  const block = Math.ceil(calls / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const name of rotate(names, r)) {
      const fn = fns[name];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await session.post("Profiler.start");
      for (let i = 0; i < block; i++) await fn();
      const { profile } = await session.post("Profiler.stop");
      const a = per[name];
      a.wallMs += performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      a.cpuMs += (cpu.user + cpu.system) / 1000;
      a.calls += block;
      accumulate(a.acc, profile, { root, ourWasmUrls, categories });
      onProfile(name, r, profile);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { ...finish(per[n].acc), calls: per[n].calls, wallMs: per[n].wallMs, cpuMs: per[n].cpuMs }]));
}
