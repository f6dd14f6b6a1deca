// The one-call-at-a-time loops: back to back (latency with nothing between calls) and paced (as
// users call it). Contestants are interleaved (the first one rotates each round) so machine noise
// lands on all of them; each gets the same number of calls.
import { median, percentileSorted, rotate, sorted } from "./stats.mjs";

/** calls, median and p99 (ms) of `samples`, and the client CPU per call (µs) from `cpuUs`. */
function summary(samples, cpuUs) {
  const s = sorted(samples);
  return { calls: s.length, median: median(s), p99: percentileSorted(s, 99), cpuUsPerCall: cpuUs / s.length };
}

/**
 * Back to back, in blocks of `block` calls per contestant (warm-up interleaved the same way and
 * excluded). Client CPU is this process's user + system time around each block.
 */
export async function sequential(fns, { warmup, calls, block }) {
  const names = Object.keys(fns);
  for (let w = 0; w < warmup; w += block) {
    for (const n of names) for (let i = 0; i < Math.min(block, warmup - w); i++) await fns[n]();
  }
  const samples = Object.fromEntries(names.map((n) => [n, new Float64Array(calls)]));
  const cpuUs = Object.fromEntries(names.map((n) => [n, 0]));
  const done = Object.fromEntries(names.map((n) => [n, 0]));
  const rounds = Math.ceil(calls / block);
  for (let r = 0; r < rounds; r++) {
    for (const n of rotate(names, r)) {
      const fn = fns[n];
      const s = samples[n];
      const count = Math.min(block, calls - done[n]);
      const c0 = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await fn();
        s[done[n]++] = performance.now() - t0;
      }
      const c = process.cpuUsage(c0);
      cpuUs[n] += c.user + c.system;
    }
  }
  return Object.fromEntries(names.map((n) => [n, summary(samples[n], cpuUs[n])]));
}

/**
 * `perSecond` calls a second per contestant for `seconds` seconds, interleaved (order rotating),
 * after `warmup` calls each (excluded). With default options that stays under Clerk's limits, so
 * a package's limiter never waits: what is measured is its bookkeeping, not a queue. Client CPU
 * is `process.cpuUsage()` around each call (µs resolution).
 */
export async function paced(fns, { seconds, perSecond, warmup = 0 }) {
  const names = Object.keys(fns);
  for (const n of names) for (let i = 0; i < warmup; i++) await fns[n]();
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const cpuUs = Object.fromEntries(names.map((n) => [n, 0]));
  for (let second = 0; second < seconds; second++) {
    const next = performance.now() + 1000;
    for (let i = 0; i < perSecond; i++) {
      for (const n of rotate(names, second + i)) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await fns[n]();
        samples[n].push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpuUs[n] += c.user + c.system;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  return Object.fromEntries(names.map((n) => [n, summary(samples[n], cpuUs[n])]));
}
