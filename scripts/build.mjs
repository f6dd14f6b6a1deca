#!/usr/bin/env node
// Builds the package: the wasm core with wasm-pack (into pkg/), then the bundles and type
// declarations in dist/. Run through `npm run build`; scripts/setup.sh installs the toolchain.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (command, args, env = {}) =>
  execFileSync(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });

// 1. The wasm core. wasm-opt comes from the npm package binaryen (node_modules/.bin first on PATH):
//    Debian's older wasm-opt produces modules that crash in Node.
const cache = join(root, ".cache", "wasm-pack");
mkdirSync(cache, { recursive: true });
if (!process.argv.includes("--skip-wasm")) {
  run("wasm-pack", ["build", "--target", "web", "--release", "--out-dir", "pkg", "--no-pack", "--no-gitignore"], {
    PATH: `${join(root, "node_modules", ".bin")}:${process.env.HOME}/.cargo/bin:${process.env.PATH}`,
    WASM_PACK_CACHE: cache,
  });
}
const wasmPath = join(root, "pkg", "clerk_metadata_wasm_bg.wasm");
const wasmBase64 = readFileSync(wasmPath).toString("base64");

// 2. Bundles: ESM and CJS for each entry, the wasm inlined as base64 (see js/wasm-inline.ts).
rmSync(join(root, "dist"), { recursive: true, force: true });
const common = {
  bundle: true,
  platform: "neutral",
  target: "es2022",
  legalComments: "none",
  define: { __CLERK_METADATA_WASM_BASE64__: JSON.stringify(wasmBase64) },
  logLevel: "warning",
  // The glue's unused async loader mentions import.meta.url; it is tree-shaken out of every bundle.
  logOverride: { "empty-import-meta": "silent" },
};
// The package's own entry (js/index.ts, however it is spelled: ./index.js from js/, ../index.js
// from js/cli/) stays external in the CLI and testing bundles, mapped to the bundle of the same
// format beside them: they share the user's copy of the package (its configureDefaults, its
// default client) instead of carrying a second one.
const packageEntryExternal = (extension) => ({
  name: "package-entry-external",
  setup(build) {
    const entry = join(root, "js", "index.js");
    build.onResolve({ filter: /(^|\/)index\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path) === entry ? { path: `./index.${extension}`, external: true } : undefined,
    );
  },
});
// The engines behind the convex and redis entries are optional peer dependencies: never bundled.
const engines = ["convex", "convex/*", "@convex-dev/*", "convex-helpers", "convex-helpers/*", "standardwebhooks", "redis"];
const entries = [
  ["index", "neutral"],
  ["testing", "node"],
  ["convex", "neutral"],
  ["redis", "node"],
];
for (const [entry, platform] of entries) {
  for (const [format, extension] of [["esm", "mjs"], ["cjs", "cjs"]]) {
    await esbuild.build({
      ...common,
      platform,
      entryPoints: [join(root, "js", `${entry}.ts`)],
      format,
      outfile: join(root, "dist", `${entry}.${extension}`),
      external: engines,
      plugins: entry === "index" ? [] : [packageEntryExternal(extension)],
    });
  }
}
// The command-line tool (`npx clerk-metadata-wasm`), one ESM file with its shebang.
await esbuild.build({
  ...common,
  platform: "node",
  entryPoints: [join(root, "js", "cli.ts")],
  format: "esm",
  outfile: join(root, "dist", "cli.mjs"),
  banner: { js: "#!/usr/bin/env node" },
  plugins: [packageEntryExternal("mjs")],
});
// The entry for Cloudflare Workers (`workerd`/`worker` conditions): ESM only, the wasm NOT inlined
// but imported as a module (js/module-entry.ts). The import stays external, rewritten to the copy
// of the wasm placed beside the bundle, so wrangler/workerd load it as a precompiled module.
writeFileSync(join(root, "dist", "clerk_metadata_wasm_bg.wasm"), readFileSync(wasmPath));
await esbuild.build({
  ...common,
  entryPoints: [join(root, "js", "module-entry.ts")],
  format: "esm",
  outfile: join(root, "dist", "workerd.mjs"),
  plugins: [
    {
      name: "wasm-module-import",
      setup(build) {
        build.onResolve({ filter: /clerk_metadata_wasm_bg\.wasm$/ }, () => ({ path: "./clerk_metadata_wasm_bg.wasm", external: true }));
      },
    },
  ],
});

// 3. Declarations. tsc emits one .d.ts per module into .cache/types; each entry's public surface
//    lives in one self-contained module (js/client.ts, js/testing.ts, js/convex.ts, js/redis.ts), so its declaration file is
//    copied as the entry's .d.ts and .d.cts (CJS consumers need the .d.cts twin under nodenext).
const types = join(root, ".cache", "types");
rmSync(types, { recursive: true, force: true });
run(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json", "--outDir", types]);
for (const [entry, source] of [["index", "client"], ["testing", "testing"], ["convex", "convex"], ["redis", "redis"]]) {
  const text = readFileSync(join(types, `${source}.d.ts`), "utf8");
  // The one relative import allowed: the package's own entry (`import type … from "./index.js"`
  // in js/testing.ts), which is dist/index.d.ts beside it; the .d.cts twin names ./index.cjs, so
  // CJS consumers get dist/index.d.cts.
  const imports = [...text.matchAll(/^\s*(?:import|export)[^;]*from\s+["'](\.[^"']*)["']/gm)].map((m) => m[1]);
  if (imports.some((path) => source === "client" || path !== "./index.js")) {
    throw new Error(`build: ${source}.d.ts imports a relative module; keep each entry's public types in one file`);
  }
  writeFileSync(join(root, "dist", `${entry}.d.ts`), text);
  writeFileSync(join(root, "dist", `${entry}.d.cts`), text.replace(/(from\s+["'])\.\/index\.js(["'])/g, "$1./index.cjs$2"));
}
const size = (file) => readFileSync(join(root, file)).length;
console.log(
  `build: pkg/clerk_metadata_wasm_bg.wasm ${size("pkg/clerk_metadata_wasm_bg.wasm")} B, dist/index.mjs ${size("dist/index.mjs")} B`,
);
