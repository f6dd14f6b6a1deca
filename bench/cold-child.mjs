// One cold start: a fresh Node process, from before the dynamic import to after the first
// completed call. Prints one JSON line. Spawned by run.mjs; args in BENCH_COLD (JSON).
//
// which: "ours" | "clerk" | "fetch" (plain fetch, no library), or "ours-warm" | "clerk-warm":
// the same after one plain fetch to the server made BEFORE the clock starts, so the figure is the
// library's own cold cost without the host's one-off fetch (undici) initialisation.
import { timeWasmConstructors } from "./lib/wasm-timing.mjs";
const bootMs = performance.now();
const { which, url, secretKey, indexUrl, user, headers } = JSON.parse(process.env.BENCH_COLD);
const lib = which.replace(/-warm$/, "");
if (which.endsWith("-warm")) {
  const res = await fetch(`${url}/v1/users/${user}`, { headers });
  await res.json();
}
// For this package: time spent compiling and instantiating wasm (the glue's initSync at first use).
const wasmMs = lib === "ours" ? timeWasmConstructors() : { compile: 0, instantiate: 0 };
const t0 = performance.now();
let imported;
let result;
if (lib === "ours") {
  const { createClerkMetadataClient } = await import(indexUrl);
  imported = performance.now();
  const client = createClerkMetadataClient({ secretKey, apiUrl: url, rateLimit: false });
  result = await client.getUserPublicMetadata(user);
} else if (lib === "clerk") {
  const { createClerkClient } = await import("@clerk/backend");
  imported = performance.now();
  const clerk = createClerkClient({ secretKey, apiUrl: url });
  result = (await clerk.users.getUser(user)).publicMetadata;
} else if (lib === "fetch") {
  imported = performance.now();
  const res = await fetch(`${url}/v1/users/${user}`, { headers });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  result = (await res.json()).public_metadata;
} else {
  throw new Error(`unknown contestant ${which}`);
}
const t1 = performance.now();
if (typeof result?.role !== "string") throw new Error("cold start: unexpected result");
process.stdout.write(
  `${JSON.stringify({ importMs: imported - t0, callMs: t1 - imported, totalMs: t1 - t0, bootMs, sinceProcessStartMs: t1, wasmCompileMs: wasmMs.compile, wasmInstantiateMs: wasmMs.instantiate })}\n`,
);
process.exit(0);
