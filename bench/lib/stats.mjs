// Small statistics helpers shared by the bench scripts.

/** Sorted copy (numeric). */
export function sorted(values) {
  return Float64Array.from(values).sort();
}

/** Nearest-rank percentile (p in 0..100) of an already sorted array. */
export function percentileSorted(s, p) {
  if (s.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export function median(values) {
  const s = sorted(values);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Rotates `list` left by `by` (so round r starts with a different contestant). */
export function rotate(list, by) {
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

export const fmt = {
  us: (ms) => (Number.isFinite(ms) ? `${(ms * 1000).toFixed(0)} µs` : "n/a"),
  ms: (ms, d = 1) => (Number.isFinite(ms) ? `${ms.toFixed(d)} ms` : "n/a"),
  ratio: (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "n/a"),
  int: (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a"),
  bytes(n) {
    if (!Number.isFinite(n)) return "n/a";
    const sign = n < 0 ? "−" : "";
    const a = Math.abs(n);
    if (a < 1024) return `${sign}${a} B`;
    if (a < 1024 * 1024) return `${sign}${(a / 1024).toFixed(1)} KiB`;
    return `${sign}${(a / 1024 / 1024).toFixed(2)} MiB`;
  },
  /** Bytes with an explicit sign, for growth figures. */
  signedBytes(n) {
    if (!Number.isFinite(n)) return "n/a";
    const s = fmt.bytes(Math.abs(n));
    return `${n > 0 ? "+" : n < 0 ? "−" : "±"}${s} (${n} B)`;
  },
};

export const met = (ok) => (ok === undefined ? "— (not judged: too few calls)" : ok ? "✅ met" : "❌ missed");
