// CPU profile for bench/floor.mjs, in a fresh process: V8's sampling profiler (as `node
// --cpu-prof`, through node:inspector like bench/profile-child.mjs) around interleaved blocks of
// sequential calls of the floor, the package's client (rateLimit: false) and plain fetch (with
// and without AbortSignal.timeout). Self time per call by category; prints one JSON line.
// Args in BENCH_FLOOR_PROF (JSON).
import { Session } from "node:inspector/promises";
import { pathToFileURL } from "node:url";
import { makeContestants } from "../lib/contestants.mjs";
import { GET_USER, MERGE_USERS } from "../lib/server.mjs";
import { rotate } from "../lib/stats.mjs";

const { url, secretKey, root, indexPath, floorPath, calls, rounds, warmup, intervalUs } = JSON.parse(process.env.BENCH_FLOOR_PROF);
const c = await makeContestants({ root, indexPath, url, secretKey });
const { createFloorClient } = await import(pathToFileURL(floorPath).href);
const floor = createFloorClient({ secretKey, apiUrl: url });
let n = 0;
const ops = {
  get: { floor: () => floor.get(GET_USER), ours: c.get.ours, fetchTimeout: c.getReference.fetchTimeout, fetch: c.get.fetch },
  merge: {
    floor: () => floor.merge(MERGE_USERS[3], { lastSeen: n++, prefs: { theme: "dark", lang: "en" } }),
    ours: c.merge.ours,
    fetchTimeout: c.asUsers.merge.fetchTimeout,
    fetch: c.merge.fetch,
  },
};
const names = Object.keys(ops.get);

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
async function profiled(fn, count) {
  await session.post("Profiler.start");
  for (let i = 0; i < count; i++) await fn();
  return (await session.post("Profiler.stop")).profile;
}
/** The wasm module a profile spent most self time in, of those not in `except`. */
function busiestWasm(profile, except = []) {
  const urls = new Map(profile.nodes.map((x) => [x.id, x.callFrame.url]));
  const count = new Map();
  for (const id of profile.samples) {
    const u = urls.get(id);
    if (u.startsWith("wasm://") && !except.includes(u)) count.set(u, (count.get(u) ?? 0) + 1);
  }
  return [...count].sort((a, b) => b[1] - a[1])[0]?.[0];
}

// Which wasm module is whose: plain fetch runs only the host's (undici's llhttp). Not every wasm
// frame of a block is its contestant's: wasm-bindgen frees objects from a FinalizationRegistry,
// whose callbacks run wherever the GC puts them, so each module is the busiest one of its block.
for (const op of Object.values(ops)) for (const fn of Object.values(op)) for (let i = 0; i < warmup; i++) await fn();
const hostWasm = busiestWasm(await profiled(ops.get.fetch, 300));
const floorWasm = busiestWasm(await profiled(ops.get.floor, 300), [hostWasm]);
const oursWasm = busiestWasm(await profiled(ops.get.ours, 300), [hostWasm, floorWasm]);
if (!floorWasm || !oursWasm || floorWasm === oursWasm) throw new Error(`profile: wasm modules not told apart (${hostWasm}, ${floorWasm}, ${oursWasm})`);

function category({ url, functionName }) {
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)" || functionName === "(root)") return "V8/native (program)";
  if (url.startsWith("wasm://")) return url === floorWasm ? "floor wasm" : url === oursWasm ? "package wasm" : "undici (llhttp wasm)";
  if (url.includes("/bench/floor/out/")) return "floor JS glue";
  if (url.includes("/dist/index.mjs")) return "package JS (dist/index.mjs)";
  if (url.startsWith("node:internal/deps/undici")) return "undici (fetch) JS";
  if (url.startsWith("node:")) return "Node internals JS";
  if (url.includes("/bench/")) return "bench harness";
  if (url === "") return "V8 builtins / runtime";
  return "other JS";
}

const out = {};
for (const [op, fns] of Object.entries(ops)) {
  const acc = Object.fromEntries(names.map((x) => [x, { calls: 0, busyMs: 0, cats: {} }]));
  for (let r = 0; r < rounds; r++) {
    for (const name of rotate(names, r)) {
      const count = Math.ceil(calls / rounds);
      const profile = await profiled(fns[name], count);
      const byId = new Map(profile.nodes.map((x) => [x.id, x.callFrame]));
      const a = acc[name];
      a.calls += count;
      for (let i = 0; i < profile.samples.length; i++) {
        const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
        const cat = category(byId.get(profile.samples[i]));
        a.cats[cat] = (a.cats[cat] ?? 0) + ms;
        if (cat !== "idle") a.busyMs += ms;
      }
    }
  }
  out[op] = acc;
}
session.disconnect();
out.wasmModules = { host: hostWasm, floor: floorWasm, ours: oursWasm };
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
