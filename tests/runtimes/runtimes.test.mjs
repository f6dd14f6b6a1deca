// node:test wrapper of run.mjs: one test per runtime (Node ESM and CJS, Bun, Deno, workerd,
// Vercel's edge-runtime), sharing one local Clerk server and one consumer project.
// Run: node --test tests/runtimes/   (needs a built dist/: node scripts/build.mjs --skip-wasm;
// installs the runtime binaries with `npm ci` in tests/runtimes on first use)
import { after, before, test } from "node:test";
import { RUNTIMES, runRuntime, setup } from "./run.mjs";

let context;
before(async () => {
  context = await setup({ log: (message) => console.error(message) });
}, { timeout: 300_000 });
after(async () => {
  await context?.close();
});

for (const name of RUNTIMES) {
  test(`${name}: the eight functions, the server's requests, a resource_not_found error and a refused redirect`, { timeout: 120_000 }, async (t) => {
    const row = await runRuntime(context, name);
    if (!row.ok) throw row.error;
    t.diagnostic(`${name}: ${row.entry} (${row.host}), ${(row.ms / 1000).toFixed(1)} s`);
  });
}
