// CPU profile of the sequential loop, in a fresh process (so the profiler's overhead never
// touches the measured run). Uses the same V8 sampling profiler as `node --cpu-prof`, started
// through node:inspector around each measured block only (warm-up excluded); contestants are
// interleaved in rounds like the main run and their blocks summed. Prints one JSON line; writes
// each contestant's first-round .cpuprofile into BENCH_PROF.outDir.
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeContestants } from "./lib/contestants.mjs";
import { profileRounds, wasmUrls } from "./lib/profile.mjs";

const { url, secretKey, root, indexPath, calls, warmup, rounds, which, op, outDir, intervalUs } = JSON.parse(process.env.BENCH_PROF);
const contestants = await makeContestants({ root, indexPath, url, secretKey });
const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: intervalUs });

// Which wasm:// module is ours: the one running while the client rejects a call before any
// fetch (an empty user id is refused by the wasm core). Every other wasm frame is the host's
// (undici's llhttp parser).
await session.post("Profiler.start");
for (let i = 0; i < 3000; i++) await contestants.client.getUserPublicMetadata("").catch(() => {});
const ourWasmUrls = wasmUrls((await session.post("Profiler.stop")).profile);

for (const name of which) for (let i = 0; i < warmup; i++) await contestants[op][name]();
const fns = Object.fromEntries(which.map((n) => [n, contestants[op][n]]));
const onProfile = (name, round, profile) => {
  if (round === 0 && outDir) writeFileSync(join(outDir, `${op}-${name}.cpuprofile`), JSON.stringify(profile));
};
const out = await profileRounds(session, fns, { calls, rounds, root, ourWasmUrls, onProfile });
session.disconnect();
out._ourWasmUrls = [...ourWasmUrls];
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
