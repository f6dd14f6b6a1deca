// One cold start for bench/floor.mjs: a fresh Node process makes one plain fetch to the server
// first (so the host's fetch is warm), optionally waits settleMs, then the clock runs from the
// dynamic import to the first GET resolved. Prints one JSON line. Args in BENCH_FLOOR_COLD (JSON).
//
// which: "floor" (bench/floor/out/floor.mjs) | "ours" (the package's dist/index.mjs) | "clerk" |
// "host" (no library: an empty module imported, then fetch + AbortSignal.timeout)
import { timeWasmConstructors } from "../lib/wasm-timing.mjs";
const { which, settleMs, url, secretKey, floorUrl, oursUrl, emptyUrl, user, headers } = JSON.parse(process.env.BENCH_FLOOR_COLD);
const warm = await fetch(`${url}/v1/users/${user}`, { headers });
await warm.json();
// settleMs > 0: the host's own work left over from that fetch (V8's background compilation, GC)
// finishes before the clock starts, instead of landing on whatever runs first.
if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));

// Time spent compiling and instantiating wasm (the glue's initSync on first client).
const wasmMs = timeWasmConstructors();

const t0 = performance.now();
let imported;
let created;
let result;
if (which === "floor") {
  const { createFloorClient } = await import(floorUrl);
  imported = performance.now();
  const client = createFloorClient({ secretKey, apiUrl: url });
  created = performance.now();
  result = await client.get(user);
} else if (which === "ours") {
  const { createClerkMetadataClient } = await import(oursUrl);
  imported = performance.now();
  const client = createClerkMetadataClient({ secretKey, apiUrl: url, rateLimit: false });
  created = performance.now();
  result = await client.getUserPublicMetadata(user);
} else if (which === "clerk") {
  const { createClerkClient } = await import("@clerk/backend");
  imported = performance.now();
  const clerk = createClerkClient({ secretKey, apiUrl: url });
  created = performance.now();
  result = (await clerk.users.getUser(user)).publicMetadata;
} else if (which === "host") {
  // What any library pays at least: a dynamic import (of an empty module) and the host's fetch
  // with a timeout signal, made a second time in the process.
  await import(emptyUrl);
  imported = performance.now();
  created = imported;
  const res = await fetch(`${url}/v1/users/${user}`, { headers, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  result = (await res.json()).public_metadata;
} else {
  throw new Error(`unknown contestant ${which}`);
}
const t1 = performance.now();
if (typeof result?.role !== "string") throw new Error("cold start: unexpected result");
process.stdout.write(
  `${JSON.stringify({ importMs: imported - t0, createMs: created - imported, callMs: t1 - created, totalMs: t1 - t0, wasmCompileMs: wasmMs.compile, wasmInstantiateMs: wasmMs.instantiate })}\n`,
);
process.exit(0);
