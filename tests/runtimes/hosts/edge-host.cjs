// Hosts the bundled edge function (edge-function.mjs, bundled by run.mjs) in Vercel's
// `edge-runtime` package: an EdgeVM (web-standard globals only: no require, no Buffer, no
// process.* beyond the env object the edge sandbox provides), then one request through the
// function's fetch handler with the VM's own dispatchFetch.
// Usage: EDGE_RUNTIME_MODULE=<path to edge-runtime> node edge-host.cjs <bundle.js> <userId> <missingId>
"use strict";
const { readFileSync } = require("node:fs");
const { EdgeRuntime } = require(process.env.EDGE_RUNTIME_MODULE);

const [bundle, userId, missingId] = process.argv.slice(2);
const runtime = new EdgeRuntime({
  // What Vercel's edge sandbox exposes as process.env; nothing else of process.
  extend(context) {
    context.process = { env: { CLERK_SECRET_KEY: process.env.CLERK_SECRET_KEY, CLERK_API_URL: process.env.CLERK_API_URL } };
    return context;
  },
  initialCode: readFileSync(bundle, "utf8"),
});

(async () => {
  const url = `http://edge.local/?user=${encodeURIComponent(userId)}&missing=${encodeURIComponent(missingId)}`;
  const response = await runtime.dispatchFetch(url);
  await response.waitUntil();
  const body = await response.json();
  if (response.status !== 200) throw new Error(`edge function answered ${response.status}: ${body.error ?? JSON.stringify(body)}`);
  const probes = runtime.evaluate(`({ require: typeof require, Buffer: typeof Buffer, window: typeof window })`);
  // Exit once printed: timers left in the VM (the client's rate-limit windows) would otherwise
  // keep this host process alive for their full 10 s.
  process.stdout.write(`RESULT ${JSON.stringify({ host: body.host, probes, result: body.result })}\n`, () => process.exit(0));
})().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exitCode = 1;
});
