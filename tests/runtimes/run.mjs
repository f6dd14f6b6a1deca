#!/usr/bin/env node
// "Runs wherever fetch runs": the built package, imported the way a user of each runtime imports
// it, against ONE local Clerk-compatible server (Node, 127.0.0.1). For every runtime the same
// scenario (scenario.mjs: the eight functions, then an unknown user, then a merge redirected with a
// 307 to a second local server on another port) runs in that runtime, and this script checks what
// it returned, the errors' fields, the requests both servers recorded and their final state.
//
//   node tests/runtimes/run.mjs [runtime ...]     (needs a built dist/: node scripts/build.mjs --skip-wasm)
//
// Runtimes: node-esm, node-cjs, bun, deno, workerd, edge-runtime. The binaries come from
// tests/runtimes/package.json (installed here with `npm ci` when missing). Prints a pass/fail
// table and ends with "N passed, N failed"; exits 1 on any failure. CLERK_RUNTIMES_KEEP=1 keeps
// the temporary project (bundles, capnp config) for inspection.
//
// How each runtime gets the package (a temporary project whose node_modules/clerk-metadata-wasm
// links to this repo, so the name resolves through the `exports` map):
//   node-esm      node env-module.mjs: `import * as api from "clerk-metadata-wasm"` ("import" → dist/index.mjs), process.env
//   node-cjs      node env-module.cjs: `require("clerk-metadata-wasm")` ("require" → dist/index.cjs), process.env
//   bun           bun run --no-install env-module.mjs ("bun" → dist/index.mjs), process.env
//   deno          deno run --node-modules-dir=manual --allow-net=127.0.0.1 --allow-env --allow-read --no-remote
//                 --no-lock deno.mjs: the bare name and `npm:clerk-metadata-wasm` from the project's
//                 node_modules ("deno" → dist/index.mjs), factory + Deno.env.get
//   workerd       esbuild as wrangler bundles (esm; conditions workerd, worker, browser; `.wasm` → wasm
//                 module) → dist/workerd.mjs + its `.wasm` module; `workerd serve config.capnp` with text
//                 bindings and an outbound network service allowing "local"; compiling wasm from bytes
//                 made to throw, as in production Workers; factory + env bindings
//   edge-runtime  esbuild as Next.js/Vercel bundle edge code (conditions edge-light, worker, browser; one
//                 script) → dist/index.mjs, evaluated in the `edge-runtime` package's EdgeVM with a
//                 process.env like Vercel's; factory + process.env
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EXPECTED_RESULT, expectedRequests, redirectIdFor } from "./scenario.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const hosts = join(here, "hosts");
const modules = join(here, "node_modules");
const PACKAGE_VERSION = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version;
const API_VERSION = "2026-05-12";
const CHILD_TIMEOUT_MS = 60_000;

export const RUNTIMES = ["node-esm", "node-cjs", "bun", "deno", "workerd", "edge-runtime"];

// ---------------------------------------------------------------------------------------------
// Setup: binaries, the local server, the consumer project
// ---------------------------------------------------------------------------------------------

/** `npm ci` in tests/runtimes when node_modules is missing or older than the lock file. */
export function ensureInstalled({ log = console.log } = {}) {
  const marker = join(modules, ".package-lock.json");
  const lock = join(here, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  log("runtimes: installing bun, deno, workerd, edge-runtime (npm ci in tests/runtimes) ...");
  // npm's output to stderr, so a TAP stream on stdout (runtimes.test.mjs) stays clean.
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: here, stdio: ["ignore", 2, 2] });
  if (result.status !== 0) throw new Error(`npm ci in tests/runtimes failed (exit ${result.status})`);
}

/**
 * The runtime's executable: the package's bin, else the platform package's binary (in case npm
 * skipped the install script that moves it into place). Checked with --version.
 */
function binary(name) {
  const platform = { linux: "linux", darwin: "darwin" }[process.platform] ?? process.platform;
  const arch = process.arch === "x64" ? "x64" : "arm64";
  const candidates = {
    bun: [join(modules, "bun", "bin", "bun.exe"), join(modules, "@oven", `bun-${platform}-${arch === "arm64" ? "aarch64" : arch}`, "bin", "bun")],
    deno: [join(modules, "deno", "deno"), join(modules, "@deno", `${platform}-${arch}${platform === "linux" ? "-glibc" : ""}`, "deno")],
    workerd: [
      join(modules, "@cloudflare", `workerd-${platform}-${arch === "x64" ? "64" : arch}`, "bin", "workerd"),
      join(modules, "workerd", "bin", "workerd"),
    ],
  }[name];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const probe = spawnSync(path, ["--version"], { encoding: "utf8", timeout: 20_000 });
    if (probe.status === 0) return { path, version: probe.stdout.trim().split("\n")[0] };
  }
  throw new Error(`no working ${name} binary in tests/runtimes/node_modules (tried ${candidates.map((c) => relative(here, c)).join(", ")})`);
}

/**
 * Starts the server, builds the consumer project. Returns a context for runRuntime() and close().
 */
export async function setup({ log = console.log } = {}) {
  for (const file of ["dist/index.mjs", "dist/index.cjs", "dist/workerd.mjs", "dist/clerk_metadata_wasm_bg.wasm", "dist/testing.mjs"]) {
    if (!existsSync(join(repo, file))) throw new Error(`${file} is missing: run \`node scripts/build.mjs --skip-wasm\` first`);
  }
  ensureInstalled({ log });
  const { startLocalClerkServer } = await import(pathToFileURL(join(repo, "dist", "testing.mjs")).href);
  const users = {};
  const redirected = {};
  for (const name of RUNTIMES) {
    const { userId, redirectId } = ids(name);
    users[userId] = { public_metadata: { old: true }, private_metadata: { keep: "me" } };
    redirected[redirectId] = { public_metadata: { untouched: true } };
  }
  const server = await startLocalClerkServer({ users: { ...users, ...redirected } });
  // Another origin holding the same redirect users, so a client that followed the 307 would succeed there.
  const elsewhere = await startLocalClerkServer({ users: redirected });

  // The consumer project: package.json + node_modules/clerk-metadata-wasm -> this repo.
  const project = mkdtempSync(join(tmpdir(), "clerk-metadata-wasm-runtimes-"));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "runtime-consumer", private: true, type: "module", dependencies: { "clerk-metadata-wasm": "*" } }, null, 2),
  );
  mkdirSync(join(project, "node_modules"));
  symlinkSync(repo, join(project, "node_modules", "clerk-metadata-wasm"), "dir");
  cpSync(join(here, "scenario.mjs"), join(project, "scenario.mjs"));
  for (const file of readdirSync(hosts)) cpSync(join(hosts, file), join(project, file));

  return {
    server,
    elsewhere,
    project,
    async close() {
      await server.close();
      await elsewhere.close();
      if (process.env.CLERK_RUNTIMES_KEEP) log(`runtimes: kept ${project}`);
      else rmSync(project, { recursive: true, force: true });
    },
  };
}

function ids(name) {
  const slug = name.replace(/-/g, "_");
  const userId = `user_rt_${slug}`;
  return { userId, missingId: `user_rt_missing_${slug}`, redirectId: redirectIdFor(userId) };
}

/** A minimal environment for a child: no inherited secrets, no CLERK_* unless given. */
function childEnv(extra = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir(), TMPDIR: tmpdir(), NO_COLOR: "1", ...extra };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env;
}

/** Runs a command to completion; resolves {code, stdout, stderr}. */
function exec(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], timeout: CHILD_TIMEOUT_MS, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The JSON after "RESULT " in a child's stdout. */
function parseResult({ code, signal, stdout, stderr }) {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (code !== 0 || line === undefined) {
    throw new Error(`exit ${code}${signal ? ` (${signal})` : ""}, no RESULT line\n--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`);
  }
  return JSON.parse(line.slice("RESULT ".length));
}

const tail = (text, n = 30) => text.split("\n").slice(-n).join("\n");

// ---------------------------------------------------------------------------------------------
// The runtimes
// ---------------------------------------------------------------------------------------------

const clerkEnv = (server) => ({ CLERK_SECRET_KEY: server.secretKey, CLERK_API_URL: server.url });

async function nodeEsm({ server, project }, { userId, missingId }) {
  const out = parseResult(await exec(process.execPath, ["env-module.mjs", userId, missingId], { cwd: project, env: childEnv(clerkEnv(server)) }));
  assert.match(out.entry, /\/dist\/index\.mjs$/, "import resolves to dist/index.mjs");
  return { ...out, entry: "dist/index.mjs" };
}

async function nodeCjs({ server, project }, { userId, missingId }) {
  const out = parseResult(await exec(process.execPath, ["env-module.cjs", userId, missingId], { cwd: project, env: childEnv(clerkEnv(server)) }));
  assert.match(out.entry, /\/dist\/index\.cjs$/, "require resolves to dist/index.cjs");
  return { ...out, entry: "dist/index.cjs" };
}

async function bun({ server, project }, { userId, missingId }) {
  const bin = binary("bun");
  const env = childEnv({ ...clerkEnv(server), DO_NOT_TRACK: "1", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" });
  const out = parseResult(await exec(bin.path, ["run", "--no-install", "env-module.mjs", userId, missingId], { cwd: project, env }));
  assert.match(out.entry, /\/dist\/index\.mjs$/, "the bun condition resolves to dist/index.mjs");
  return { ...out, entry: "dist/index.mjs" };
}

async function deno({ server, project }, { userId, missingId }) {
  const bin = binary("deno");
  const env = childEnv({ ...clerkEnv(server), DENO_NO_UPDATE_CHECK: "1", DENO_DIR: join(project, ".deno"), DENO_NO_PROMPT: "1" });
  const args = [
    "run",
    "--node-modules-dir=manual", // the project's own node_modules, no install
    "--no-remote",
    "--no-lock",
    "--allow-net=127.0.0.1", // the local server only
    "--allow-env",
    "--allow-read",
    "deno.mjs",
    userId,
    missingId,
  ];
  const out = parseResult(await exec(bin.path, args, { cwd: project, env }));
  assert.match(out.entry, /\/dist\/index\.mjs$/, "the deno condition resolves to dist/index.mjs");
  assert.equal(out.npmSpecifierSameModule, true, "`npm:clerk-metadata-wasm` is the same module as the bare name");
  return { ...out, entry: "dist/index.mjs" };
}

/** esbuild from the repo's devDependencies. */
async function esbuild() {
  return import(pathToFileURL(join(repo, "node_modules", "esbuild", "lib", "main.js")).href);
}

/** The package files an esbuild metafile pulled in, relative to the repo ("dist/index.mjs", ...). */
function packageInputs(metafile, cwd) {
  return Object.keys(metafile.inputs)
    .map((input) => relative(repo, join(cwd, input)))
    .filter((path) => path.startsWith("dist/"));
}

async function workerd({ server, project }, { userId, missingId }) {
  const bin = binary("workerd");
  const { build } = await esbuild();
  const outdir = join(project, "workerd-out");
  // As wrangler bundles a Worker: ESM, the workerd/worker/browser conditions, `.wasm` imports
  // kept as separate modules (wrangler's CompiledWasm rule; here the `copy` loader).
  const result = await build({
    absWorkingDir: project,
    entryPoints: { worker: "workerd-worker.mjs" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    loader: { ".wasm": "copy" },
    assetNames: "[name]",
    outExtension: { ".js": ".mjs" },
    outdir,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = packageInputs(result.metafile, project);
  assert.deepEqual(inputs.filter((p) => p.endsWith(".mjs") || p.endsWith(".cjs")), ["dist/workerd.mjs"], "the workerd condition picks dist/workerd.mjs");
  const wasmModules = readdirSync(outdir).filter((f) => f.endsWith(".wasm"));
  assert.deepEqual(wasmModules, ["clerk_metadata_wasm_bg.wasm"], "the wasm arrives as a module beside the worker");
  assert.doesNotMatch(readFileSync(join(outdir, "worker.mjs"), "utf8"), /[A-Za-z0-9+/]{4096}/, "worker.mjs holds no inlined (base64) wasm");

  const capnp = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # Outbound fetch: workerd's default "internet" service allows only public addresses; the
    # local Clerk server is on 127.0.0.1, so this one also allows "private" and "local".
    (name = "outbound", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "workerd-out/worker.mjs"),
${wasmModules.map((f) => `    (name = "${f}", wasm = embed "workerd-out/${f}"),`).join("\n")}
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "CLERK_SECRET_KEY", text = ${JSON.stringify(server.secretKey)}),
    (name = "CLERK_API_URL", text = ${JSON.stringify(server.url)}),
  ],
  globalOutbound = "outbound",
);
`;
  writeFileSync(join(project, "config.capnp"), capnp);

  // --control-fd 3: workerd reports the port it bound ("127.0.0.1:0") as JSON lines.
  const child = spawn(bin.path, ["serve", "config.capnp", "--control-fd=3"], {
    cwd: project,
    env: childEnv(), // no CLERK_*: the key reaches the worker only through its bindings
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stdout.on("data", (d) => (stderr += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("close", resolve));
  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`workerd did not listen within 30 s\n${tail(stderr)}`)), 30_000);
      let control = "";
      child.stdio[3].on("data", (d) => {
        control += d;
        for (const line of control.split("\n")) {
          if (!line.trim()) continue;
          try {
            const msg = JSON.parse(line);
            if (msg.event === "listen" && msg.socket === "http") {
              clearTimeout(timer);
              resolve(msg.port);
            }
          } catch {
            // a partial line; wait for more
          }
        }
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        reject(new Error(`workerd exited (${code}) before listening\n${tail(stderr)}`));
      });
    });
    const url = `http://127.0.0.1:${port}/?user=${encodeURIComponent(userId)}&missing=${encodeURIComponent(missingId)}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(CHILD_TIMEOUT_MS) });
    const body = await response.json();
    assert.equal(response.status, 200, `worker answered ${response.status}: ${body.error ?? JSON.stringify(body)}\n${tail(stderr)}`);
    assert.equal(body.bytesCompileRefused, true, "compiling wasm from bytes was refused in the worker (production rule)");
    assert.equal(body.hasProcess, false, "no process global (configuration came from the env bindings)");
    // A second request, after the first has ended, against a server that answers too late.
    server.injectFault({ fault: { kind: "delay", ms: 2000 } });
    const slow = await (await fetch(`http://127.0.0.1:${port}/?slow=${encodeURIComponent(`slow_${userId}`)}`, { signal: AbortSignal.timeout(CHILD_TIMEOUT_MS) })).json();
    assert.equal(slow.code, "timeout", `a later request's deadline fired in workerd: ${JSON.stringify(slow)}`);
    return { host: bin.version, entry: "dist/workerd.mjs + .wasm module", result: body.result };
  } finally {
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(killer);
  }
}

async function edgeRuntime({ server, project }, { userId, missingId }) {
  const { build } = await esbuild();
  // As Next.js/Vercel bundle edge code: the edge-light/worker/browser conditions, one script.
  const result = await build({
    absWorkingDir: project,
    entryPoints: ["edge-function.mjs"],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    conditions: ["edge-light", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    outfile: join(project, "edge-out", "edge-function.js"),
    metafile: true,
    logLevel: "silent",
  });
  const inputs = packageInputs(result.metafile, project);
  assert.deepEqual(inputs, ["dist/index.mjs"], "the edge-light condition picks dist/index.mjs (before worker)");
  const env = childEnv({ ...clerkEnv(server), EDGE_RUNTIME_MODULE: join(modules, "edge-runtime") });
  const out = parseResult(
    await exec(process.execPath, [join(hosts, "edge-host.cjs"), join(project, "edge-out", "edge-function.js"), userId, missingId], {
      cwd: project,
      env,
    }),
  );
  const version = JSON.parse(readFileSync(join(modules, "edge-runtime", "package.json"), "utf8")).version;
  assert.deepEqual(out.probes, { require: "undefined", Buffer: "undefined", window: "undefined" }, "web-standard globals only");
  return { ...out, host: `edge-runtime ${version}`, entry: "dist/index.mjs" };
}

const RUNNERS = { "node-esm": nodeEsm, "node-cjs": nodeCjs, bun, deno, workerd, "edge-runtime": edgeRuntime };

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** The 307 the scenario's last merge gets: to the same path on the other origin. */
function injectRedirect({ server, elsewhere }, { redirectId }) {
  const path = `/v1/users/${redirectId}/metadata`;
  server.injectFault({ fault: { kind: "redirect", status: 307, location: elsewhere.url + path }, method: "PATCH", pathIncludes: path });
}

/** What the servers saw for this runtime's users, and their stored state afterwards. */
function checkServer({ server, elsewhere }, { userId, missingId, redirectId }) {
  const paths = [`/v1/users/${userId}`, `/v1/users/${userId}/metadata`, `/v1/users/${missingId}`, `/v1/users/${redirectId}/metadata`];
  const mine = server.requests.filter((r) => paths.includes(r.path));
  assert.deepEqual(
    mine.map((r) => [r.method, r.path, r.status, r.json]),
    expectedRequests(userId, missingId),
    "the server recorded exactly the expected requests",
  );
  for (const r of mine) {
    const where = `${r.method} ${r.path}`;
    assert.equal(r.authorization, "valid", `${where}: the secret key`);
    assert.equal(r.headers["clerk-api-version"], API_VERSION, `${where}: Clerk-API-Version`);
    assert.equal(r.headers["user-agent"], `clerk-metadata-wasm/${PACKAGE_VERSION}`, `${where}: User-Agent`);
    assert.equal(r.headers["content-type"], r.body === null ? undefined : "application/json", `${where}: Content-Type only with a body`);
    assert.equal(r.query, "", `${where}: no query string`);
  }
  const stored = server.getUser(userId);
  assert.deepEqual(stored.public_metadata, {}, "public metadata cleared on the server");
  assert.deepEqual(stored.private_metadata, { keep: "me" }, "private metadata untouched");
  assert.deepEqual(elsewhere.requests.filter((r) => r.path.includes(redirectId)), [], "nothing was sent to the redirect's Location");
  for (const s of [server, elsewhere]) assert.deepEqual(s.getUser(redirectId).public_metadata, { untouched: true }, "the redirected merge changed nothing");
}

/** Runs one runtime and checks everything; resolves {name, ok, ms, host, entry, error}. */
export async function runRuntime(context, name) {
  const runner = RUNNERS[name];
  if (!runner) throw new Error(`unknown runtime ${name} (known: ${RUNTIMES.join(", ")})`);
  const user = ids(name);
  const started = performance.now();
  try {
    injectRedirect(context, user);
    const out = await runner(context, user);
    assert.deepEqual(out.result, EXPECTED_RESULT, "the scenario's results and errors");
    checkServer(context, user);
    return { name, ok: true, ms: performance.now() - started, host: out.host, entry: out.entry };
  } catch (error) {
    return { name, ok: false, ms: performance.now() - started, error };
  }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

function printTable(rows) {
  const lines = rows.map((r) => [
    r.name,
    r.ok ? "pass" : "FAIL",
    `${(r.ms / 1000).toFixed(1)} s`,
    r.ok ? `${r.entry}  (${r.host})` : String(r.error?.message ?? r.error).split("\n")[0],
  ]);
  const header = ["runtime", "result", "time", "entry (host)"];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  console.log(fmt(header));
  console.log(fmt(widths.map((w) => "-".repeat(w))));
  for (const l of lines) console.log(fmt(l));
}

async function main(argv) {
  const selected = argv.length ? argv : RUNTIMES;
  for (const name of selected) if (!RUNTIMES.includes(name)) throw new Error(`unknown runtime ${name} (known: ${RUNTIMES.join(", ")})`);
  const context = await setup();
  const rows = [];
  try {
    for (const name of selected) rows.push(await runRuntime(context, name));
  } finally {
    await context.close();
  }
  for (const r of rows.filter((r) => !r.ok)) {
    console.log(`\n--- ${r.name} failed:\n${r.error?.stack ?? r.error}`);
  }
  console.log("");
  printTable(rows);
  const passed = rows.filter((r) => r.ok).length;
  console.log(`\n${passed} passed, ${rows.length - passed} failed`);
  return rows.length - passed === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error?.stack ?? error);
      console.log("\n0 passed, 1 failed");
      process.exit(1);
    },
  );
}
