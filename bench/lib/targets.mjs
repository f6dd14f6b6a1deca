// The package's targets: judged by bench/run.mjs, and shown for the floor and the package side by
// side by bench/floor.mjs.

export const TARGETS = {
  /** Per-call median ≤ this × @clerk/backend's (GET and merge). */
  vsClerk: 1.0,
  /** Per-call median ≤ this × plain fetch with AbortSignal.timeout (GET and merge). */
  vsFetchTimeout: 1.1,
  /** Cold start (import → first GET, fetch already warm) ≤ this × @clerk/backend's. */
  coldVsClerk: 0.25,
  /** Throughput (GET, calls in flight) ≥ this × @clerk/backend's. */
  throughputVsClerk: 1.0,
  /** The .wasm, gzip -9, at most this many bytes. */
  wasmGzipBytes: 100_000,
  /** The unpacked package ≤ this share of @clerk/backend + its dependencies. */
  unpackedVsClerk: 0.1,
};

// The heap after gc() jumps by up to ~0.7 MiB in about one sample in five (what undici and V8
// still hold at that moment; a 300,000-call run shows no trend under it), so the second-half
// trend compares the lowest of three samples around the middle with the lowest of the last
// three, not two single samples: a leak raises every sample after it, a transient only some.
const heapAround = (samples, index) =>
  Math.min(...samples.slice(Math.max(0, index - 1), Math.min(samples.length, index + 2)).map((s) => s.heapUsed));

/** Growth over one memory run (bench/memory-child.mjs samples). */
function memGrowth(m) {
  const a = m.samples[0];
  const b = m.samples.at(-1);
  const midIndex = Math.floor((m.samples.length - 1) / 2);
  const mid = m.samples[midIndex];
  return {
    rss: b.rss - a.rss,
    heap: b.heapUsed - a.heapUsed,
    heapSecondHalf: heapAround(m.samples, m.samples.length - 2) - heapAround(m.samples, midIndex),
    rssSecondHalf: b.rss - mid.rss,
    external: b.external - a.external,
    wasm: a.wasmMemory === null ? null : b.wasmMemory - a.wasmMemory,
    table: a.externrefTable === null ? null : b.externrefTable - a.externrefTable,
  };
}

/**
 * bench/run.mjs's results against TARGETS.
 * @returns T (per target: the figures and `ok`), G (memory growth per contestant) and the heap
 *   trend limit the memory target used.
 */
export function judgeRun(R) {
  const T = {};
  // Per call, as users call it (default options): each of this package's two ways, for GET and
  // merge, against @clerk/backend and plain fetch with AbortSignal.timeout, in the same run.
  for (const [op, paced] of [["get", R.usersGet], ["merge", R.usersMerge]]) {
    const rows = ["oursTop", "oursDefault"].map((k) => ({
      k,
      vsFetch: paced[k].median / paced.fetchTimeout.median,
      vsClerk: paced[k].median / paced.clerk.median,
    }));
    const vsFetch = Math.max(...rows.map((r) => r.vsFetch));
    const vsClerk = Math.max(...rows.map((r) => r.vsClerk));
    T[op] = { rows, vsFetch, vsClerk, ok: vsFetch <= TARGETS.vsFetchTimeout && vsClerk <= TARGETS.vsClerk };
  }
  // Cold start with fetch already warm (the host's own first load of fetch is not the package's).
  T.cold = { ratio: R.cold["ours-warm"].totalMs / R.cold["clerk-warm"].totalMs };
  T.cold.ok = T.cold.ratio <= TARGETS.coldVsClerk;
  T.tp = { ratio: R.tp.ours.perSec / R.tp.clerk.perSec };
  T.tp.ok = T.tp.ratio >= TARGETS.throughputVsClerk;
  T.wasm = { ok: R.size.wasm.gzip <= TARGETS.wasmGzipBytes };
  T.unpacked = { ratio: R.size.pack.unpackedSize / R.size.clerk.unpackedSize };
  T.unpacked.ok = T.unpacked.ratio <= TARGETS.unpackedVsClerk;

  const G = Object.fromEntries(Object.entries(R.mem).map(([k, m]) => [k, memGrowth(m)]));
  // "No growth": wasm linear memory and the externref table end where they started, and the JS
  // heap (after gc) does not trend in the second half: < 256 KiB over those calls, i.e. well
  // under one leaked small object (>= 16 B) per call (50,000 calls × 16 B = 800 KB).
  const ours = R.mem.ours.samples;
  const halfCalls = ours.at(-1).calls - ours[Math.floor((ours.length - 1) / 2)].calls;
  const heapTrendLimit = Math.min(256 * 1024, halfCalls * 5);
  T.mem = { ok: R.mem.ours.wasmCaught && G.ours.wasm === 0 && G.ours.table <= 0 && G.ours.heapSecondHalf < heapTrendLimit };
  // Too few calls (e.g. --quick) for a heap trend to mean anything: not judged.
  if (ours.at(-1).calls < 20_000) T.mem.ok = undefined;
  return { T, G, heapTrendLimit };
}
