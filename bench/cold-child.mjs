// One cold start: a fresh Node process, from before the dynamic import to after the first
// completed call. Prints one JSON line. Spawned by run.mjs; args in BENCH_COLD (JSON).
//
// which: "ours" | "clerk" | "fetch" (plain fetch, no library), or "ours-warm" | "clerk-warm":
// the same after one plain fetch to the server made BEFORE the clock starts, so the figure is the
// library's own cold cost without the host's one-off fetch (undici) initialisation.
const bootMs = performance.now();
const { which, url, secretKey, indexUrl, user, headers } = JSON.parse(process.env.BENCH_COLD);
const lib = which.replace(/-warm$/, "");
if (which.endsWith("-warm")) {
  const res = await fetch(`${url}/v1/users/${user}`, { headers });
  await res.json();
}
// For this package: time spent in `new WebAssembly.Module` / `new WebAssembly.Instance` (the
// glue's initSync at first use), caught by wrapping both constructors.
const wasmMs = { compile: 0, instantiate: 0 };
if (lib === "ours") {
  for (const [key, name] of [["compile", "Module"], ["instantiate", "Instance"]]) {
    const Real = WebAssembly[name];
    WebAssembly[name] = new Proxy(Real, {
      construct(target, args, newTarget) {
        const s = performance.now();
        try {
          return Reflect.construct(target, args, newTarget);
        } finally {
          wasmMs[key] += performance.now() - s;
        }
      },
    });
  }
}
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
