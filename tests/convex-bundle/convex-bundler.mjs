// Convex's bundling, for the tests of this folder: Convex 1.48's esbuild options restated, the real
// Convex CLI run offline, and the checks a bundled module must pass to run in Convex.
//
// Used by convex-bundle.test.mjs (the main entry) and convex-entry.test.mjs (clerk-metadata-wasm/convex).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path, { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, "..", "..");
/** The example app's Convex install: the CLI, and the peer dependencies of clerk-metadata-wasm/convex. */
export const exampleModules = join(repo, "examples", "convex", "node_modules");
export const convexPackage = join(exampleModules, "convex");
export const convexVersion = existsSync(join(convexPackage, "package.json"))
  ? JSON.parse(readFileSync(join(convexPackage, "package.json"), "utf8")).version
  : undefined;
export const convexCliAvailable = () => existsSync(join(convexPackage, "bin", "main.js"));

// ---------------------------------------------------------------------------------------------
// Convex 1.48's bundler, restated (convex/dist/esm/bundler/{index,debugBundle,wasm,serverOnly}.js)

/** `convex-wasm`: a `.wasm` import becomes `new WebAssembly.Module(bytes)`. */
export const wasmPlugin = {
  name: "convex-wasm",
  setup(build) {
    build.onResolve({ filter: /\.wasm$/ }, (args) => {
      if (args.namespace === "wasm-stub") return { path: args.path, namespace: "wasm-binary" };
      if (args.resolveDir === "") return undefined;
      return {
        path: path.isAbsolute(args.path) ? args.path : path.join(args.resolveDir, args.path),
        namespace: "wasm-stub",
      };
    });
    build.onLoad({ filter: /.*/, namespace: "wasm-stub" }, (args) => ({
      contents: `import wasm from ${JSON.stringify(args.path)}
          export default new WebAssembly.Module(wasm)`,
    }));
    build.onLoad({ filter: /.*/, namespace: "wasm-binary" }, (args) => ({
      contents: readFileSync(args.path),
      loader: "binary",
    }));
  },
};

/** `convex-server-only`: `import "server-only"` is stubbed. */
export const serverOnlyPlugin = {
  name: "convex-server-only",
  setup(build) {
    build.onResolve({ filter: /^server-only$/ }, (args) => ({ path: args.path, namespace: "server-only-stub" }));
    build.onLoad({ filter: /.*/, namespace: "server-only-stub" }, () => ({ contents: "", loader: "js" }));
  },
};

/** `convex-async-hooks-shim`: the default runtime's async_hooks come from globals. */
export const asyncHooksShim = (platform) => ({
  name: "convex-async-hooks-shim",
  setup(build) {
    if (platform !== "browser") return;
    build.onResolve({ filter: /^(node:)?async_hooks$/ }, (args) => ({ path: args.path, namespace: "async-hooks-shim" }));
    build.onLoad({ filter: /.*/, namespace: "async-hooks-shim" }, () => ({
      contents: `export const AsyncLocalStorage = globalThis.AsyncLocalStorage;
        export const AsyncResource = globalThis.AsyncResource;
        export default { AsyncLocalStorage, AsyncResource };`,
      loader: "js",
    }));
  },
});

/** Convex's `innerEsbuild` options, for `platform` "node" ("use node" files) or "browser" (the default runtime). */
export function convexEsbuildOptions({ entryPoints, platform, dir, chunksFolder, cwd }) {
  return {
    // The CLI runs in the project root; esbuild's working directory is that root.
    absWorkingDir: cwd,
    entryPoints,
    bundle: true,
    platform,
    format: "esm",
    target: "esnext",
    jsx: "automatic",
    outdir: "out",
    outbase: dir,
    conditions: ["convex", "module"],
    plugins: [asyncHooksShim(platform), serverOnlyPlugin, wasmPlugin],
    write: false,
    sourcemap: true,
    sourcesContent: false,
    splitting: true,
    chunkNames: path.join(chunksFolder, "[hash]"),
    treeShaking: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    minifyWhitespace: false,
    keepNames: true,
    define: { "process.env.NODE_ENV": '"production"' },
    metafile: true,
    logLevel: "silent",
  };
}

/** Convex's entry-point rules, reduced to what these fixtures exercise. */
export function entryPointsByEnvironment(dir) {
  const isolate = [];
  const node = [];
  const walk = (folder) => {
    for (const entry of readdirSorted(folder)) {
      const full = join(folder, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        walk(full);
        continue;
      }
      if (!/\.(js|mjs|cjs|ts|tsx|mts|cts|jsx)$/.test(rel)) continue;
      if (rel.startsWith(`_generated${path.sep}`) || entry.name.startsWith(".")) continue;
      if (entry.name === "schema.ts" || (entry.name.match(/\./g) ?? []).length > 1) continue;
      const source = readFileSync(full, "utf8");
      const useNode = source.split("\n").some((line) => /^\s*("|')use node("|');?\s*$/.test(line));
      (useNode ? node : isolate).push(full);
    }
  };
  walk(dir);
  return { isolate, node };
}

function readdirSorted(folder) {
  return readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Output files as Convex uploads them: `{ path, source, environment }`, source maps dropped. */
export function toModules(result, environment, cwd) {
  return result.outputFiles
    .filter((file) => !file.path.endsWith(".map"))
    .map((file) => ({
      path: path.relative(join(cwd, "out"), file.path).split(path.sep).join("/"),
      source: file.text,
      environment,
    }));
}

/** The files esbuild inlined, as absolute paths: from its metafile, else from its `// path` comments. */
export function bundledInputs(cwd, { metafile, modules }) {
  const relative = metafile
    ? Object.keys(metafile.inputs)
    : modules.flatMap((m) => [...m.source.matchAll(/^\/\/ (\S+\.[cm]?[jt]sx?)$/gm)].map((x) => x[1]));
  return [...new Set(relative.map((p) => path.resolve(cwd, p)))];
}

/**
 * Bundles `<cwd>/convex` with Convex's options: the default runtime (platform "browser") and the
 * "use node" files (platform "node"), as `npx convex deploy` would. Fails on any esbuild error or warning.
 */
export async function bundleWithConvexOptions(cwd) {
  const dir = join(cwd, "convex");
  const { isolate, node } = entryPointsByEnvironment(dir);
  const isolateResult = await esbuild.build(
    convexEsbuildOptions({ entryPoints: isolate, platform: "browser", dir, chunksFolder: "_deps", cwd }),
  );
  const nodeResult = await esbuild.build(
    convexEsbuildOptions({ entryPoints: node, platform: "node", dir, chunksFolder: path.join("_deps", "node"), cwd }),
  );
  for (const r of [isolateResult, nodeResult]) {
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
  }
  return {
    isolate: { modules: toModules(isolateResult, "isolate", cwd), metafile: isolateResult.metafile },
    node: { modules: toModules(nodeResult, "node", cwd), metafile: nodeResult.metafile },
  };
}

// ---------------------------------------------------------------------------------------------
// The real Convex CLI, offline

/**
 * Runs `convex deploy <args> --codegen disable --typecheck disable -y` in `cwd` with the CLI at
 * `cli` (default: the example's), offline: the deployment is a "self-hosted" URL pointing at a
 * tripwire server (which must see no request), so the CLI looks nothing up; codegen and typecheck
 * are off so the stand-in _generated/ stays as it is. Only flags that stop before the first
 * request may be passed (`--debug-bundle-path`, or `--write-push-request` with `--push-all-modules`).
 */
export async function convexDeployOffline(cwd, args, { cli = join(convexPackage, "bin", "main.js") } = {}) {
  const tripwire = await startTripwire();
  const home = mkdtempSync(join(tmpdir(), "convex-bundle-home-"));
  try {
    const { code, stdout, stderr } = await run(
      process.execPath,
      [cli, "deploy", ...args, "--codegen", "disable", "--typecheck", "disable", "-y"],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: home,
          CONVEX_SELF_HOSTED_URL: tripwire.url,
          CONVEX_SELF_HOSTED_ADMIN_KEY: "self-hosted|offline-bundle-check",
          CONVEX_VERSION_API_ORIGIN: tripwire.url, // the version check (cloud deployments only)
        },
      },
    );
    assert.equal(code, 0, `convex deploy ${args.join(" ")} failed\nstdout: ${stdout}\nstderr: ${stderr}`);
    assert.deepEqual(tripwire.requests, [], "the CLI contacted the deployment");
    return { stdout, stderr };
  } finally {
    await tripwire.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * The real CLI's `convex deploy --debug-bundle-path`: writes exactly the modules a push would
 * upload and stops before any request. Returns them as `{ isolate, node }`, each `{ modules }`
 * (`{ path, source, environment, sourceMap }`). `options.cli`: as for convexDeployOffline.
 */
export async function bundleWithConvexCli(cwd, options) {
  const outDir = join(mkdtempSync(join(tmpdir(), "convex-bundle-debug-")), "bundle");
  try {
    const { stdout, stderr } = await convexDeployOffline(cwd, ["--debug-bundle-path", outDir], options);
    const config = JSON.parse(readFileSync(join(outDir, "fullConfig.json"), "utf8"));
    const modules = config.modules.map(({ path: p, source, environment, sourceMap }) => ({ path: p, source, environment, sourceMap }));
    return {
      cliOutput: `${stdout}${stderr}`,
      isolate: { modules: modules.filter((m) => m.environment === "isolate") },
      node: { modules: modules.filter((m) => m.environment === "node") },
    };
  } finally {
    rmSync(dirname(outDir), { recursive: true, force: true });
  }
}

/** A server on 127.0.0.1 that answers 503 to everything and records what it was asked. */
export async function startTripwire() {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(503).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Runs a program; resolves with its exit code and output (killed after 120 s). */
export function run(command, args, { cwd, env, input }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

// ---------------------------------------------------------------------------------------------
// Checks of the output

/** Non-relative import specifiers left in a module's source (what would need node_modules). */
/**
 * Writes bundled modules out as Convex uploads them, by path, into a fresh folder away from any
 * node_modules (so a package left unbundled could not be found); `where(m)` is a module's path
 * there. Returns the folder.
 */
export function layOutModules(modules, prefix, where = (m) => m.path) {
  const out = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
  for (const m of modules) {
    assert.ok(!path.isAbsolute(m.path) && !m.path.split("/").includes(".."), `module path ${m.path}`);
    const file = join(out, where(m));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, m.source);
  }
  return out;
}

export function bareImports(source) {
  const specifiers = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g)) {
    if (!m[1].startsWith("./") && !m[1].startsWith("../")) specifiers.push(m[1]);
  }
  return specifiers;
}

/** What would break in Convex: reading files next to the bundle, or Node-only module imports. */
export function assertNoFileAccess(source, what) {
  assert.doesNotMatch(source, /\b__dirname\b/, `${what}: mentions __dirname`);
  assert.doesNotMatch(source, /\b__filename\b/, `${what}: mentions __filename`);
  assert.doesNotMatch(source, /require\s*\(\s*["'](node:)?fs(\/promises)?["']\s*\)/, `${what}: require("fs")`);
  assert.doesNotMatch(source, /from\s*["'](node:)?fs(\/promises)?["']/, `${what}: imports fs`);
  assert.doesNotMatch(source, /import\.meta\.url/, `${what}: resolves a file from import.meta.url`);
  assert.doesNotMatch(source, /readFileSync|\.wasm["']/, `${what}: reads a .wasm file`);
}

/** The globals of the default-runtime check: web-standard APIs and process.env, nothing of Node's. */
export function bareContext(env) {
  return vm.createContext({
    fetch,
    Headers,
    Response,
    AbortSignal,
    setTimeout,
    clearTimeout,
    TextEncoder,
    TextDecoder,
    WebAssembly,
    atob,
    URL,
    console,
    process: { env: { ...env } },
  });
}
