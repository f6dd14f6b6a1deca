// Builds the floor into out/: cargo (release profile as the root crate's), wasm-bindgen
// --target web, wasm-opt with the flags of the root Cargo.toml's wasm-pack profile (read from it,
// so the two cannot drift apart), then one ESM bundle, out/floor.mjs, with the wasm inlined as
// base64 exactly as scripts/build.mjs does for the package. `node bench/floor/build.mjs`, or run
// by bench/floor.mjs.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const FLOOR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(FLOOR, "..", "..");
const OUT = join(FLOOR, "out");
export const BUNDLE = join(OUT, "floor.mjs");
export const WASM = join(OUT, "clerk_metadata_floor_bg.wasm");
const SOURCES = [join("..", "..", "Cargo.toml"), "Cargo.toml", "Cargo.lock", "entry.mjs", "build.mjs", ...readdirSync(join(FLOOR, "src")).map((f) => join("src", f))];

/** The root Cargo.toml's `[package.metadata.wasm-pack.profile.release] wasm-opt = [...]` flags. */
export function wasmOptFlags() {
  const toml = readFileSync(join(ROOT, "Cargo.toml"), "utf8");
  const section = toml.split(/^\[package\.metadata\.wasm-pack\.profile\.release\]\s*$/m)[1];
  const line = section?.match(/^wasm-opt\s*=\s*\[(.*)\]\s*$/m)?.[1];
  if (line === undefined) throw new Error("Cargo.toml: no wasm-opt = [...] under [package.metadata.wasm-pack.profile.release]");
  return [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
}

/** Whether out/floor.mjs is missing or older than any source. */
export function isStale() {
  if (!existsSync(BUNDLE)) return true;
  const built = statSync(BUNDLE).mtimeMs;
  return SOURCES.some((f) => statSync(join(FLOOR, f)).mtimeMs > built);
}

export async function build({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  // The package's toolchain: binaryen's wasm-opt from the root node_modules, cargo's bin.
  const env = { ...process.env, PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.HOME}/.cargo/bin:${process.env.PATH}` };
  const run = (command, args) => execFileSync(command, args, { cwd: FLOOR, env, stdio: ["ignore", "inherit", "inherit"] });
  log("floor: cargo build --release --target wasm32-unknown-unknown");
  run("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown"]);
  run("wasm-bindgen", ["--target", "web", "--out-dir", OUT, join(FLOOR, "target", "wasm32-unknown-unknown", "release", "clerk_metadata_floor.wasm")]);
  run("wasm-opt", [...wasmOptFlags(), WASM, "-o", WASM]);
  const esbuild = await import(join(ROOT, "node_modules", "esbuild", "lib", "main.js"));
  await esbuild.build({
    entryPoints: [join(FLOOR, "entry.mjs")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    legalComments: "none",
    outfile: BUNDLE,
    define: { __FLOOR_WASM_BASE64__: JSON.stringify(readFileSync(WASM).toString("base64")) },
    logLevel: "warning",
    logOverride: { "empty-import-meta": "silent" },
  });
  log(`floor: ${relative(ROOT, WASM)} ${readFileSync(WASM).length} B, ${relative(ROOT, BUNDLE)} ${readFileSync(BUNDLE).length} B`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await build();
