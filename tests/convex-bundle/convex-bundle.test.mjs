// Proves clerk-metadata-wasm survives Convex's bundling, in both of Convex's runtimes.
//
// Run: node --test tests/convex-bundle/   (needs a built dist/: `npm run build`, or
// `node scripts/build.mjs --skip-wasm` when only the TypeScript changed)
//
// What happens:
//  1. fixture/convex/ is copied into a temporary project whose node_modules/clerk-metadata-wasm
//     links to this repo, so the package is resolved by name through its `exports` map, as an app
//     would resolve it. users.ts carries "use node"; a copy without it (usersDefault.ts) stands for
//     code in Convex's default runtime.
//  2. The project is bundled the way `npx convex deploy` does, twice:
//     - "esbuild … with Convex's options": this repo's esbuild with the options, plugins and
//       entry-point rules of Convex 1.48's bundler (convex/dist/esm/bundler/{index,debugBundle,
//       wasm,serverOnly}.js), restated in convex-bundler.mjs: platform "node" for "use node" files,
//       "browser" for the default runtime, format esm, target esnext, conditions ["convex",
//       "module"]. Always runs.
//     - "convex CLI": the real CLI from examples/convex/node_modules (Convex's own code and its
//       pinned esbuild), `convex deploy --debug-bundle-path`, which writes exactly the modules a
//       push would upload and stops. It runs offline: the deployment is a "self-hosted" URL on
//       127.0.0.1 that must receive no request. Skipped until `npm install` ran in examples/convex.
//  3. The Node-runtime modules run in a fresh Node process (only CLERK_SECRET_KEY, CLERK_API_URL
//     and PATH in its environment) against a local Clerk-compatible server started here: every
//     function, an unknown user, then the server's stored state and recorded requests are checked.
//  4. The default-runtime modules must bundle, hold no `require("fs")`/`__dirname`, and run in a
//     `vm` context holding only web-standard globals plus `process.env` (no require, no Buffer).
//     Convex's output is ESM with shared chunks; vm.SourceTextModule needs a flag on Node 20, so
//     the output is linked into one IIFE by a second esbuild pass that changes nothing else.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path, { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import * as esbuild from "esbuild";
import {
  assertNoFileAccess,
  bareContext,
  bareImports,
  bundledInputs,
  bundleWithConvexCli,
  bundleWithConvexOptions,
  convexCliAvailable,
  convexPackage,
  convexVersion,
  run,
  layOutModules,
} from "./convex-bundler.mjs";
import { runCalls } from "./run-actions.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const runner = join(here, "run-actions.mjs");
const distEntry = join(repo, "dist", "index.mjs");

if (!existsSync(distEntry) || !existsSync(join(repo, "dist", "testing.mjs"))) {
  throw new Error("dist/ is missing: run `npm run build` (or `node scripts/build.mjs --skip-wasm`) first");
}
const { startLocalClerkServer, LOCAL_SECRET_KEY } = await import(pathToFileURL(join(repo, "dist", "testing.mjs")).href);

// ---------------------------------------------------------------------------------------------
// The bundlers: Convex 1.48's esbuild options restated, and the real CLI (convex-bundler.mjs)

const bundlers = [
  {
    name: `esbuild ${esbuild.version} with Convex's options`,
    available: () => true,
    bundle: bundleWithConvexOptions,
  },
  {
    name: `convex ${convexVersion ?? "(not installed)"} CLI: convex deploy --debug-bundle-path`,
    available: convexCliAvailable,
    // The real CLI, offline: `--debug-bundle-path` writes what a push would upload and stops
    // before any request (see convexDeployOffline).
    bundle: bundleWithConvexCli,
  },
];

// ---------------------------------------------------------------------------------------------
// The scenario: every function of convex/utils/clerk.ts, then an unknown user.

const USER = "user_bundle_1";
const MISSING = "user_missing";
const SEED = {
  [USER]: {
    public_metadata: { role: "customer", temporaryData: { step: 2 }, debugInfo: "x", preferences: { theme: "light" } },
    private_metadata: { stripeCustomerId: "cus_123" },
    unsafe_metadata: { onboarding: "done" },
  },
};
const REPLACED = {
  role: "store_owner",
  storeId: "store_42",
  preferences: { theme: "dark", notifications: true },
  temporaryData: { step: 3 },
  oldPreferences: { theme: "light" },
  debugInfo: "trace",
};
const FINAL = {
  role: "admin",
  storeId: "store_42",
  preferences: { theme: "dark", notifications: true, language: "en" },
  verified: true,
  limits: { stores: 3 },
};
const notFound = (operation) => ({
  name: "ClerkMetadataError",
  code: "resource_not_found",
  status: 404,
  operation,
});

const get = (user) => [`GET /v1/users/${user}`];
const write = (method, user, publicMetadata) => [`${method} /v1/users/${user}/metadata`, { public_metadata: publicMetadata }];

/**
 * [action, args, expected result (a value, or { error }), the requests it must send: [line, body?]].
 * The requests are the package's documented plan: one request per call, except
 * setUserPublicMetadataKey with an object value, which reads first.
 */
const SCENARIO = [
  ["getMetadata", { userId: USER }, SEED[USER].public_metadata, [get(USER)]],
  ["replaceMetadata", { userId: USER, metadata: REPLACED }, null, [write("PUT", USER, REPLACED)]],
  ["getMetadata", { userId: USER }, REPLACED, [get(USER)]],
  [
    "mergeMetadata",
    { userId: USER, metadata: { preferences: { language: "en" }, verified: true } },
    null,
    [write("PATCH", USER, { preferences: { language: "en" }, verified: true })],
  ],
  [
    "removeKeys",
    { userId: USER, keys: ["temporaryData", "oldPreferences", "debugInfo"] },
    null,
    [write("PATCH", USER, { temporaryData: null, oldPreferences: null, debugInfo: null })],
  ],
  ["setKey", { userId: USER, key: "role", value: "admin" }, null, [write("PATCH", USER, { role: "admin" })]],
  ["setKey", { userId: USER, key: "limits", value: { stores: 3 } }, null, [get(USER), write("PATCH", USER, { limits: { stores: 3 } })]],
  ["getKey", { userId: USER, key: "role" }, { found: true, value: "admin" }, [get(USER)]],
  ["getKey", { userId: USER, key: "missing" }, { found: false, value: null }, [get(USER)]],
  ["hasKey", { userId: USER, key: "verified" }, true, [get(USER)]],
  ["hasKey", { userId: USER, key: "missing" }, false, [get(USER)]],
  ["getMetadata", { userId: USER }, FINAL, [get(USER)]],
  ["clearMetadata", { userId: USER }, null, [write("PUT", USER, {})]],
  ["getMetadata", { userId: USER }, {}, [get(USER)]],
  [
    "describeFailure",
    { userId: MISSING },
    { failed: true, isClerkMetadataError: true, message: "Failed to get user metadata: User not found", ...notFound("get") },
    [get(MISSING)],
  ],
  [
    "mergeMetadata",
    { userId: MISSING, metadata: { role: "admin" } },
    { error: { message: "Failed to merge user metadata: User not found", ...notFound("merge") } },
    [write("PATCH", MISSING, { role: "admin" })],
  ],
  [
    "hasKey",
    { userId: MISSING, key: "role" },
    { error: { message: "Failed to check key in user metadata: User not found", ...notFound("hasKey") } },
    [get(MISSING)],
  ],
];
const CALLS = SCENARIO.map(([action, args]) => ({ action, args }));

/** Checks each call's outcome, what the server stored, and every request it received. */
function assertScenario(results, server, label) {
  assert.equal(results.length, SCENARIO.length, `${label}: one result per call`);
  SCENARIO.forEach(([action, args, expected], i) => {
    const result = results[i];
    const what = `${label}: call ${i} ${action}(${JSON.stringify(args)})`;
    if (expected !== null && typeof expected === "object" && "error" in expected) {
      assert.equal(result.ok, false, `${what} should fail, got ${JSON.stringify(result)}`);
      assert.deepEqual(result.error, expected.error, what);
      assert.match(result.error.message, /^Failed to .+ user metadata: User not found$/, what);
    } else {
      assert.equal(result.ok, true, `${what} failed: ${JSON.stringify(result.error)}`);
      assert.deepEqual(result.value, expected, what);
    }
  });

  // Stored state: the public field ends empty; the other two fields were never touched.
  const stored = server.getUser(USER);
  assert.deepEqual(stored.public_metadata, {}, `${label}: public metadata cleared`);
  assert.deepEqual(stored.private_metadata, SEED[USER].private_metadata, `${label}: private metadata untouched`);
  assert.deepEqual(stored.unsafe_metadata, SEED[USER].unsafe_metadata, `${label}: unsafe metadata untouched`);
  assert.equal(server.getUser(MISSING), undefined, `${label}: no user created by a failed write`);

  // Recorded requests: exactly the planned ones, in order, with the key from the environment.
  const expected = SCENARIO.flatMap(([, , , requests]) => requests);
  const lines = server.requests.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(lines, expected.map(([line]) => line), `${label}: requests, in order`);
  server.requests.forEach((r, i) => {
    const [line, body] = expected[i];
    assert.equal(r.authorization, "valid", `${label}: ${line} authorization`);
    assert.equal(r.query, "", `${label}: ${line} query`);
    assert.ok(r.headers["clerk-api-version"], `${label}: ${line} has clerk-api-version`);
    if (body === undefined) assert.equal(r.body, null, `${label}: ${line} has no body`);
    else assert.deepEqual(r.json, body, `${label}: ${line} body`);
  });
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Runs the bundled module in a fresh Node process; resolves with the runner's results. */
async function runInFreshNode(modulePath, env) {
  const { code, stdout, stderr } = await run(process.execPath, [runner, modulePath], {
    cwd: dirname(modulePath),
    env: { PATH: process.env.PATH ?? "", ...env },
    input: JSON.stringify(CALLS),
  });
  const line = stdout.split("\n").find((l) => l.startsWith("RESULTS "));
  if (code !== 0 || line === undefined) {
    throw new Error(`runner exited with ${code}\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
  return { results: JSON.parse(line.slice("RESULTS ".length)), stderr };
}

// ---------------------------------------------------------------------------------------------
// The tests

let server;
let project;
let env;

before(async () => {
  server = await startLocalClerkServer({ users: SEED });
  env = { CLERK_SECRET_KEY: LOCAL_SECRET_KEY, CLERK_API_URL: server.url };

  // A throwaway app: convex/ from the fixture, the package linked by name.
  project = realpathSync(mkdtempSync(join(tmpdir(), "convex-bundle-")));
  cpSync(join(here, "fixture", "convex"), join(project, "convex"), { recursive: true });
  const nodeSource = readFileSync(join(project, "convex", "users.ts"), "utf8");
  const defaultSource = nodeSource.replace(/^"use node";\n/, "");
  assert.notEqual(defaultSource, nodeSource, 'fixture users.ts must start with "use node"');
  writeFileSync(join(project, "convex", "usersDefault.ts"), defaultSource);
  mkdirSync(join(project, "node_modules"));
  symlinkSync(repo, join(project, "node_modules", "clerk-metadata-wasm"), "dir");
  // The CLI refuses to push without `convex` among the app's dependencies.
  if (existsSync(convexPackage)) symlinkSync(realpathSync(convexPackage), join(project, "node_modules", "convex"), "dir");
  const dependencies = { "clerk-metadata-wasm": `file:${repo}`, convex: "1.48.0" };
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "bundle-fixture", private: true, type: "module", dependencies }));
});

after(async () => {
  await server?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

test("the package name resolves through its exports map (a deep import is refused)", async () => {
  // If `exports` were ignored, this deep path would resolve as a plain file.
  await assert.rejects(
    esbuild.build({
      stdin: { contents: 'export * from "clerk-metadata-wasm/dist/index.mjs";', resolveDir: join(project, "convex") },
      absWorkingDir: project,
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      conditions: ["convex", "module"],
      logLevel: "silent",
    }),
    (error) => {
      const notes = error.errors.flatMap((e) => e.notes.map((n) => n.text)).join("\n");
      assert.match(notes, /The path "\.\/dist\/index\.mjs" is not exported by package "clerk-metadata-wasm"/);
      return true;
    },
  );
});

for (const bundler of bundlers) {
  // Skipped only outside CI: in CI (scripts/test.sh installs the example first) a missing
  // install must fail, not quietly run fewer tests.
  const skip = bundler.available() || process.env.CI ? false : "examples/convex is not installed (npm install there)";
  describe(bundler.name, { skip }, () => {
    let out;
    let output;

    before(async () => {
      output = await bundler.bundle(project);
      out = layOutModules([...output.isolate.modules, ...output.node.modules], "convex-bundle-out-");
    });

    after(() => {
      if (out) rmSync(out, { recursive: true, force: true });
    });

    test("bundles both runtimes, resolving the package to dist/index.mjs by name", (t) => {
      const paths = (modules) => modules.map((m) => m.path).filter((p) => !p.startsWith("_deps/"));
      assert.deepEqual(paths(output.node.modules), ["users.js"], '"use node" modules');
      assert.deepEqual(paths(output.isolate.modules), ["usersDefault.js"], "default-runtime modules");
      for (const [environment, bundle] of Object.entries({ node: output.node, isolate: output.isolate })) {
        const { modules } = bundle;
        const inputs = bundledInputs(project, bundle);
        assert.ok(inputs.includes(join(project, "convex", environment === "node" ? "users.ts" : "usersDefault.ts")));
        const fromRepo = inputs.filter((p) => p.startsWith(repo + path.sep));
        // The whole package arrives as its built ESM entry, found through `exports` → "import".
        assert.deepEqual(fromRepo, [realpathSync(distEntry)], `${environment}: inputs from the package`);
        assert.ok(modules.some((m) => m.path === (environment === "node" ? "users.js" : "usersDefault.js")));
        for (const m of modules) {
          assert.deepEqual(bareImports(m.source), [], `${environment} ${m.path}: unbundled imports`);
          assertNoFileAccess(m.source, `${environment} ${m.path}`);
        }
        const bytes = modules.reduce((n, m) => n + m.source.length, 0);
        t.diagnostic(`${environment}: ${modules.map((m) => m.path).join(", ")} (${bytes} bytes)`);
      }
    });

    test('"use node" bundle: all eight functions and an unknown user, in a fresh Node process', async (t) => {
      server.reset(SEED);
      const { results, stderr } = await runInFreshNode(join(out, "users.js"), env);
      const lines = assertScenario(results, server, "node runtime");
      assert.doesNotMatch(stderr, /warning|error/i, `runner stderr: ${stderr}`);
      t.diagnostic(`${lines.length} requests: ${[...new Set(lines.map((l) => l.split(" ")[0]))].join("/")}`);
    });

    test("default-runtime bundle: no fs/__dirname, runs in a bare vm context (no require, no Buffer)", async (t) => {
      const entry = join(out, "usersDefault.js");
      const source = readFileSync(entry, "utf8");
      assert.doesNotMatch(source, /require\s*\(\s*["'](node:)?fs["']\s*\)/);
      assert.doesNotMatch(source, /__dirname/);

      // Link Convex's ESM output (entry + chunks) into one script; nothing else is transformed.
      const linked = await esbuild.build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        format: "iife",
        globalName: "__convexModule",
        platform: "neutral",
        target: "esnext",
        logLevel: "silent",
      });
      assert.equal(linked.outputFiles.length, 1);

      const context = bareContext(env);
      assert.equal(
        vm.runInContext("[typeof require, typeof Buffer, typeof global, typeof module, typeof queueMicrotask].join()", context),
        "undefined,undefined,undefined,undefined,undefined",
      );
      vm.runInContext(linked.outputFiles[0].text, context, { filename: "usersDefault.js" });
      const exports = vm.runInContext("__convexModule", context);

      // First getUserPublicMetadata alone: one authenticated GET.
      server.reset(SEED);
      // Arguments are made in the context's realm, as Convex's runtime makes them.
      const parseInContext = vm.runInContext("JSON.parse", context);
      const inRealm = (args) => parseInContext(JSON.stringify(args));
      const [first] = await runCalls(exports, [{ action: "getMetadata", args: { userId: USER } }], inRealm);
      assert.deepEqual(first, { action: "getMetadata", ok: true, value: SEED[USER].public_metadata });
      assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path} ${r.authorization}`), [`GET /v1/users/${USER} valid`]);

      // And the whole scenario, as in the Node runtime.
      server.reset(SEED);
      const results = await runCalls(exports, CALLS, inRealm);
      const lines = assertScenario(results, server, "default runtime (vm)");
      t.diagnostic(`${lines.length} requests`);
    });
  });
}
