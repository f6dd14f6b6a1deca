// CPU profile of the sequential loop, in a fresh process (so the profiler's overhead never
// touches the measured run). Uses the same V8 sampling profiler as `node --cpu-prof`, started
// through node:inspector around each measured block only (warm-up excluded); contestants are
// interleaved in rounds like the main run and their blocks summed. Prints one JSON line; writes
// each contestant's first-round .cpuprofile into BENCH_PROF.outDir.
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeContestants } from "./lib/contestants.mjs";
import { accumulate, finish, newAccumulator, wasmUrls } from "./lib/profile.mjs";
import { rotate } from "./lib/stats.mjs";

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
const acc = Object.fromEntries(which.map((n) => [n, { acc: newAccumulator(), wallMs: 0, cpuMs: 0, calls: 0 }]));
const block = Math.ceil(calls / rounds);
for (let r = 0; r < rounds; r++) {
  for (const name of rotate(which, r)) {
    const fn = contestants[op][name];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await session.post("Profiler.start");
    for (let i = 0; i < block; i++) await fn();
    const { profile } = await session.post("Profiler.stop");
    const a = acc[name];
    a.wallMs += performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    a.cpuMs += (cpu.user + cpu.system) / 1000;
    a.calls += block;
    accumulate(a.acc, profile, { root, ourWasmUrls });
    if (r < which.length && outDir) writeFileSync(join(outDir, `${op}-${name}.cpuprofile`), JSON.stringify(profile));
  }
}
session.disconnect();
const out = Object.fromEntries(which.map((n) => [n, { ...finish(acc[n].acc), calls: acc[n].calls, wallMs: acc[n].wallMs, cpuMs: acc[n].cpuMs }]));
out._ourWasmUrls = [...ourWasmUrls];
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
