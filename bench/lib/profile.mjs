// Summarises V8 CPU profiles (.cpuprofile): self time per function and per category, accumulated
// over several profiles (one per interleaved round).

function category(frame, { root, ourWasmUrls }) {
  const { url, functionName } = frame;
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)" || functionName === "(root)") return "V8/native (program)";
  if (url.startsWith("wasm://")) return ourWasmUrls.has(url) ? "clerk-metadata-wasm wasm code" : "undici (llhttp wasm)";
  if (url.includes("/dist/index.mjs")) return "clerk-metadata-wasm JS (dist/index.mjs)";
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
export function accumulate(acc, profile, { root, ourWasmUrls = new Set() } = {}) {
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
    const cat = category(frame, { root, ourWasmUrls });
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
