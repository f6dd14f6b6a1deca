// CPU profile for bench/floor.mjs, in a fresh process: lib/profile.mjs's interleaved profiled
// blocks of sequential calls of the floor, the package's client (rateLimit: false) and plain fetch
// (with and without AbortSignal.timeout), with the floor's wasm and JS glue as categories of their
// own. Self time per call by category; prints one JSON line. Args in BENCH_FLOOR_PROF (JSON).
import { Session } from "node:inspector/promises";
import { pathToFileURL } from "node:url";
import { makeContestants, poolMerge } from "../lib/contestants.mjs";
import { PACKAGE_CATEGORIES, profileRounds } from "../lib/profile.mjs";
import { GET_USER } from "../lib/server.mjs";

const { url, secretKey, root, indexPath, floorPath, calls, rounds, warmup, intervalUs } = JSON.parse(process.env.BENCH_FLOOR_PROF);
const c = await makeContestants({ root, indexPath, url, secretKey });
const { createFloorClient } = await import(pathToFileURL(floorPath).href);
const floor = createFloorClient({ secretKey, apiUrl: url });
// The requests of bench/floor.mjs's back-to-back mode: GETs of one user, merges over the pool.
const ops = {
  get: { floor: () => floor.get(GET_USER), ours: c.get.ours, fetchTimeout: c.getReference.fetchTimeout, fetch: c.get.fetch },
  merge: {
    floor: poolMerge((id, m) => floor.merge(id, m)),
    ours: c.mergePool.ours,
    fetchTimeout: c.mergePool.fetchTimeout,
    fetch: c.mergePool.fetch,
  },
};

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

const FLOOR_CATEGORIES = { wasm: "floor wasm", glue: "floor JS glue" };
const floorCategory = ({ url: frameUrl }) => {
  if (frameUrl === floorWasm) return FLOOR_CATEGORIES.wasm;
  if (frameUrl.includes("/bench/floor/out/")) return FLOOR_CATEGORIES.glue;
  return undefined;
};
const out = {};
for (const [op, fns] of Object.entries(ops)) {
  out[op] = await profileRounds(session, fns, { calls, rounds, root, ourWasmUrls: new Set([oursWasm]), categories: [floorCategory] });
}
session.disconnect();
out.wasmModules = { host: hostWasm, floor: floorWasm, ours: oursWasm };
// The categories that are each library's own code (its wasm and its JS).
out.own = { floor: Object.values(FLOOR_CATEGORIES), ours: Object.values(PACKAGE_CATEGORIES) };
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
