// One cold start: a fresh Node process, from before the dynamic import to after the first
// completed GET. Prints one JSON line. Spawned by run.mjs and floor.mjs; args in BENCH_COLD (JSON):
// { which, url, secretKey, user, headers, indexUrl?, floorUrl?, emptyUrl?, settleMs? }.
//
// which: "ours" (indexUrl, the package's dist/index.mjs) | "floor" (floorUrl, bench/floor's
// bundle) | "clerk" | "fetch" (plain fetch, no library) | "host" (no library: emptyUrl, an empty
// module, imported, then fetch + AbortSignal.timeout: what any library pays at least), each
// optionally with "-warm": one plain fetch to the server made BEFORE the clock starts, so the
// figure is the library's own cold cost without the host's one-off fetch (undici) initialisation.
// settleMs (with -warm) then waits that long, so the host's own work left over from that fetch
// (V8's background compilation, GC) finishes before the clock starts instead of landing on
// whatever runs first.
//
// Fields: importMs (import), createMs (client creation), firstCallMs (the first GET), callMs
// (createMs + firstCallMs), totalMs (import → GET resolved), wasmCompileMs and wasmInstantiateMs
// (inside the clock), bootMs and sinceProcessStartMs (the process's own start-up before the clock,
// and the end of the GET since the process started).
import { timeWasmConstructors } from "./lib/wasm-timing.mjs";
const bootMs = performance.now();
const { which, url, secretKey, indexUrl, floorUrl, emptyUrl, user, headers, settleMs = 0 } = JSON.parse(process.env.BENCH_COLD);
const lib = which.replace(/-warm$/, "");
if (which.endsWith("-warm")) {
  const res = await fetch(`${url}/v1/users/${user}`, { headers });
  await res.json();
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
}

/** Per contestant: import, then create a client, then `get(client)` resolving with the metadata. */
const contestants = {
  ours: {
    load: () => import(indexUrl),
    create: (m) => m.createClerkMetadataClient({ secretKey, apiUrl: url, rateLimit: false }),
    get: (client) => client.getUserPublicMetadata(user),
  },
  floor: {
    load: () => import(floorUrl),
    create: (m) => m.createFloorClient({ secretKey, apiUrl: url }),
    get: (client) => client.get(user),
  },
  clerk: {
    load: () => import("@clerk/backend"),
    create: (m) => m.createClerkClient({ secretKey, apiUrl: url }),
    get: async (clerk) => (await clerk.users.getUser(user)).publicMetadata,
  },
  fetch: { load: async () => {}, create: () => ({}), get: () => plainGet({ headers }) },
  host: { load: () => import(emptyUrl), create: () => ({}), get: () => plainGet({ headers, signal: AbortSignal.timeout(10_000) }) },
};
async function plainGet(init) {
  const res = await fetch(`${url}/v1/users/${user}`, init);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()).public_metadata;
}
const contestant = contestants[lib];
if (!contestant) throw new Error(`unknown contestant ${which}`);

// Time spent compiling and instantiating wasm (the glue's initSync on the first client), for the
// contestants that load wasm; the others' figures stay 0 (undici's own wasm is not theirs).
const wasmMs = lib === "ours" || lib === "floor" ? timeWasmConstructors() : { compile: 0, instantiate: 0 };
const t0 = performance.now();
const loaded = await contestant.load();
const imported = performance.now();
const client = contestant.create(loaded);
const created = performance.now();
const result = await contestant.get(client);
const t1 = performance.now();
if (typeof result?.role !== "string") throw new Error("cold start: unexpected result");
process.stdout.write(
  `${JSON.stringify({
    importMs: imported - t0,
    createMs: created - imported,
    firstCallMs: t1 - created,
    callMs: t1 - imported,
    totalMs: t1 - t0,
    bootMs,
    sinceProcessStartMs: t1,
    wasmCompileMs: wasmMs.compile,
    wasmInstantiateMs: wasmMs.instantiate,
  })}\n`,
);
process.exit(0);
