// What bench/run.mjs and bench/floor.mjs need before measuring: the bench's own dependencies
// (@clerk/backend, pinned in bench/package-lock.json) and a dist/index.mjs built from the current
// pkg/ wasm, snapshotted so a rebuild during the run changes nothing measured.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Installs the bench's dependencies (npm ci in bench/) when missing; says which. */
export function ensureBenchDeps(log) {
  if (existsSync(join(BENCH, "node_modules", "@clerk", "backend", "package.json"))) return "present";
  log("installing bench dependencies (npm ci in bench/)");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: BENCH, stdio: ["ignore", "inherit", "inherit"], timeout: 300_000 });
  return "installed by npm ci";
}

/** The installed @clerk/backend's version. */
export function clerkVersion() {
  return JSON.parse(readFileSync(join(BENCH, "node_modules", "@clerk", "backend", "package.json"), "utf8")).version;
}

export const sha = (data) => createHash("sha256").update(data).digest("hex").slice(0, 12);

/**
 * Reads `root`'s dist/index.mjs and pkg/ wasm together and says whether the first is built from
 * the current second (inlines it, and is newer than the glue and js/ sources).
 * @returns `{ state: "fresh", indexText, wasm }`, or `{ state }` saying what is wrong
 */
export function readBuild(root) {
  const index = join(root, "dist", "index.mjs");
  if (!existsSync(index)) return { state: "missing" };
  const wasm = readFileSync(join(root, "pkg", "clerk_metadata_wasm_bg.wasm"));
  const indexText = readFileSync(index, "utf8");
  if (!indexText.includes(wasm.toString("base64"))) return { state: "stale (its inlined wasm is not pkg/'s)" };
  const built = statSync(index).mtimeMs;
  const js = join(root, "js");
  const sources = [...(existsSync(js) ? readdirSync(js).map((f) => join(js, f)) : []), join(root, "pkg", "clerk_metadata_wasm.js")];
  const newer = sources.filter((f) => statSync(f).mtimeMs > built);
  if (newer.length) return { state: `stale (older than ${newer.map((f) => relative(root, f)).join(", ")})` };
  return { state: "fresh", indexText, wasm };
}

/**
 * Writes `indexText` to `dir`/dist/index.mjs. dist/index.mjs is self-contained (the wasm is
 * inlined), so the copy measures the same build whatever happens to the checkout meanwhile.
 */
export function writeSnapshot(indexText, dir) {
  if (/^\s*import[\s{*]/m.test(indexText) || /\bimport\(/.test(indexText)) throw new Error("dist/index.mjs imports other files; cannot snapshot it");
  mkdirSync(join(dir, "dist"), { recursive: true });
  const indexPath = join(dir, "dist", "index.mjs");
  writeFileSync(indexPath, indexText);
  return indexPath;
}
