// Runs one bench child process (a cold start, a profile, a memory run): a fresh `node`, so its
// figures start from nothing and its overhead (a profiler, --expose-gc) stays out of the
// measuring process.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, rotate } from "./stats.mjs";

const BENCH = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Runs `node [flags] bench/<script>` with `env` added to this process's.
 * @returns its last stdout line parsed as JSON, and its wall time (spawn → exit, ms)
 */
export async function runChild(script, env, { flags = [], timeoutMs = 600_000 } = {}) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...flags, join(BENCH, script)], {
    cwd: BENCH,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = await once(child, "exit");
  const wallMs = performance.now() - t0;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} exited ${code ?? signal}: ${err.trim().slice(-2000)}`);
  const line = out.trim().split("\n").at(-1);
  return { result: JSON.parse(line), wallMs };
}

/**
 * Cold starts in fresh processes (bench/cold-child.mjs): each of `args` (label → its BENCH_COLD
 * arguments) once to warm the file cache (discarded), then `rounds` rounds, interleaved with the
 * first label rotating.
 * @returns per label: the median of each field the child prints and of the process wall time,
 *   `runs`, and `all` (every run's totalMs)
 */
export async function coldStarts(args, rounds) {
  const labels = Object.keys(args);
  const env = (label) => ({ BENCH_COLD: JSON.stringify(args[label]) });
  for (const label of labels) await runChild("cold-child.mjs", env(label), { timeoutMs: 60_000 });
  const rows = Object.fromEntries(labels.map((label) => [label, []]));
  for (let r = 0; r < rounds; r++) {
    for (const label of rotate(labels, r)) {
      const { result, wallMs } = await runChild("cold-child.mjs", env(label), { timeoutMs: 60_000 });
      rows[label].push({ ...result, wallMs });
    }
  }
  return Object.fromEntries(
    labels.map((label) => {
      const fields = Object.keys(rows[label][0]);
      const medians = Object.fromEntries(fields.map((f) => [f, median(rows[label].map((x) => x[f]))]));
      return [label, { runs: rounds, ...medians, all: rows[label].map((x) => x.totalMs) }];
    }),
  );
}
