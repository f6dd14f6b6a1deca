// Where one GET's time goes, on a real request to the local server: from the call to `fetch`,
// `fetch` to the response head, the head to the whole body, and the body to the resolved promise.
// The first and last are the package's own work. Run: node bench/split.mjs (after a build).
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startServer, seedUsers, GET_USER } from "./lib/server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const seed = join(mkdtempSync(join(tmpdir(), "split-")), "users.json");
writeFileSync(seed, JSON.stringify(seedUsers()));
const server = await startServer(root, seed);
const ours = await import(pathToFileURL(join(root, "dist", "index.mjs")).href);

const realFetch = globalThis.fetch;
let fetched, headed, bodied;
globalThis.fetch = (url, init) => {
  fetched = performance.now();
  return realFetch(url, init).then((response) => {
    headed = performance.now();
    const read = response.arrayBuffer.bind(response);
    response.arrayBuffer = () => read().then((body) => ((bodied = performance.now()), body));
    return response;
  });
};
const client = ours.createClerkMetadataClient({ secretKey: server.secretKey, apiUrl: server.url, rateLimit: false });
const parts = { "call → fetch": [], "fetch → head": [], "head → body": [], "body → resolved": [] };
for (let i = 0; i < 3500; i++) {
  const called = performance.now();
  await client.getUserPublicMetadata(GET_USER);
  const resolved = performance.now();
  if (i < 500) continue; // warm-up
  parts["call → fetch"].push(fetched - called);
  parts["fetch → head"].push(headed - fetched);
  parts["head → body"].push(bodied - headed);
  parts["body → resolved"].push(resolved - bodied);
}
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const [part, values] of Object.entries(parts)) console.log(`${part.padEnd(16)} ${(median(values) * 1000).toFixed(1)} µs (median of 3000)`);
await server.stop();
process.exit(0);
