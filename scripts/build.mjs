#!/usr/bin/env node
// Builds the package: the wasm core with wasm-pack (into pkg/), then the bundles and type
// declarations in dist/. Run through `npm run build`; scripts/setup.sh installs the toolchain.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
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

// 3. Declarations. tsc emits one .d.ts per module into .cache/types. The modules an entry's
//    declarations reach (following relative imports) are copied into dist/types/, each with a
//    .d.cts twin whose relative imports name .cjs twins, so CJS consumers resolve CJS declarations
//    throughout; dist/<entry>.d.ts and .d.cts re-export their module's. A reachable import that
//    leaves js/ (the wasm glue in pkg/) fails the build: the public types must not depend on it.
const types = join(root, ".cache", "types");
rmSync(types, { recursive: true, force: true });
run(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json", "--outDir", types]);
const relativeImports = (text) =>
  [...text.matchAll(/(?:from\s+|import\()["'](\.{1,2}\/[^"']*)["']/g)].map((m) => m[1]);
const shipped = new Set();
const ship = (module) => {
  if (shipped.has(module)) return;
  const file = join(types, `${module}.d.ts`);
  if (!existsSync(file)) throw new Error(`build: declarations of js/${module}.ts are missing`);
  shipped.add(module);
  const text = readFileSync(file, "utf8");
  for (const specifier of relativeImports(text)) {
    const target = relative(types, resolve(dirname(file), specifier)).replace(/\.js$/, "");
    if (target.startsWith("..")) throw new Error(`build: js/${module}.ts's declarations import ${specifier}, outside js/`);
    ship(target);
  }
  const out = join(root, "dist", "types", module);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.d.ts`, text);
  writeFileSync(`${out}.d.cts`, text.replace(/((?:from\s+|import\()["']\.{1,2}\/[^"']*)\.js(["'])/g, "$1.cjs$2"));
};
for (const [entry, source] of [["index", "index"], ["testing", "testing"], ["convex", "convex"], ["redis", "redis"]]) {
  ship(source);
  writeFileSync(join(root, "dist", `${entry}.d.ts`), `export * from "./types/${source}.js";\n`);
  writeFileSync(join(root, "dist", `${entry}.d.cts`), `export * from "./types/${source}.cjs";\n`);
}
const size = (file) => readFileSync(join(root, file)).length;
console.log(
  `build: pkg/clerk_metadata_wasm_bg.wasm ${size("pkg/clerk_metadata_wasm_bg.wasm")} B, dist/index.mjs ${size("dist/index.mjs")} B`,
);
