// Throughput: `conc` calls kept in flight together, contestants interleaved in rounds.
import { median, rotate } from "./stats.mjs";

/** The throughput phase of bench/run.mjs and bench/floor.mjs, so their figures compare. */
export const THROUGHPUT = { conc: 256, warmup: 2_048, rounds: 4, calls: 4_096 };
/** The same in --quick runs (a smoke test: one round). */
export const THROUGHPUT_QUICK = { conc: 256, warmup: 256, rounds: 1, calls: 1_024 };

/** Runs `fn` `total` times with `conc` calls in flight; the wall time and this process's CPU. */
export async function inFlight(fn, total, conc) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      await fn();
    }
  };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuUs: c.user + c.system };
}

export async function throughput(fns, { warmup, rounds, calls, conc }) {
  const names = Object.keys(fns);
  for (const n of names) await inFlight(fns[n], warmup, conc);
  const per = Object.fromEntries(names.map((n) => [n, { rates: [], ms: 0, cpuUs: 0, calls: 0 }]));
  for (let r = 0; r < rounds; r++) {
    for (const n of rotate(names, r)) {
      const { ms, cpuUs } = await inFlight(fns[n], calls, conc);
      per[n].rates.push((calls / ms) * 1000);
      per[n].ms += ms;
      per[n].cpuUs += cpuUs;
      per[n].calls += calls;
    }
  }
  return Object.fromEntries(
    names.map((n) => [
      n,
      { calls: per[n].calls, perSec: median(per[n].rates), min: Math.min(...per[n].rates), max: Math.max(...per[n].rates), cpuUsPerCall: per[n].cpuUs / per[n].calls },
    ]),
  );
}
