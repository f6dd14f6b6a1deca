// Proves clerk-metadata-wasm/convex (dist/convex.mjs) survives Convex's bundling, in the example
// app that uses it: examples/convex/convex, with its two components, in Convex's default runtime.
//
// Run: node --test tests/convex-bundle/   (needs a built dist/: `npm run build`, or
// `node scripts/build.mjs --skip-wasm` when only the TypeScript changed)
//
// What happens:
//  1. examples/convex/convex/ is copied into a temporary project, laid out as an app that
//     installed the package: node_modules/clerk-metadata-wasm links to this repo (resolved by name
//     through its `exports` map), and the optional peer dependencies of the convex entry
//     (convex, convex-helpers, @convex-dev/rate-limiter, @convex-dev/workpool) link to this repo's
//     own node_modules (its devDependencies, at the versions examples/convex pins; a diagnostic
//     says if they drift). Not to
//     examples/convex/node_modules: esbuild follows symlinks, so dist/convex.mjs (really in this
//     repo) resolves `convex/server` from this repo's node_modules whatever the app links; linking
//     the app to the same copies keeps one convex in the bundle, as an installed package would.
//     (Linked to the example's install instead, the default-runtime bundle carries two copies of
//     convex; so does a deploy straight from examples/convex, whose package is a `file:` link.)
//  2. The project is bundled the way `npx convex deploy` does, twice:
//     - "esbuild … with Convex's options" (convex-bundler.mjs): the root modules, split by "use
//       node", plus schema.ts as Convex's bundleSchema bundles it (platform "browser").
//     - "convex CLI": the real CLI of the app (its node_modules/convex, so this repo's convex
//       devDependency: Convex's own code and its pinned esbuild; examples/convex need not be
//       installed), offline against a tripwire URL, run twice: `convex deploy
//       --debug-bundle-path` (the root modules a push would upload), then `convex deploy
//       --write-push-request … --push-all-modules`, the whole push request: the app's
//       convex.config.js, schema.js and modules, and every component's definition, schema and
//       functions. Components need no deployment to bundle: the CLI builds the component graph
//       and bundles definitions and implementations locally, and only then asks the deployment
//       (for module hashes, skipped by --push-all-modules; then to push). The definitions are
//       not written by --debug-bundle-path (root modules only), hence the second run.
//  3. The default-runtime modules (clerkJobs.js, scale.js) must carry dist/convex.mjs and
//     dist/index.mjs, no `require("fs")`/`__dirname`/bare import, and the wasm inlined; loaded in a
//     `vm` context with only web-standard globals plus `process.env` (Convex evaluates each module
//     on push to list its functions), they export registered Convex functions whose argument
//     validators export; schema.js exports the job tables. No function is run: that is
//     examples/convex's convex-test suite.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path, { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as esbuild from "esbuild";
import {
  assertNoFileAccess,
  bareContext,
  bareImports,
  bundleWithConvexCli,
  bundleWithConvexOptions,
  convexDeployOffline,
  convexEsbuildOptions,
  layOutModules,
} from "./convex-bundler.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = realpathSync(join(here, "..", ".."));
const example = join(repo, "examples", "convex");
const distConvex = join(repo, "dist", "convex.mjs");
const distIndex = join(repo, "dist", "index.mjs");
/** The peer dependencies the app links from this repo's node_modules. */
const PEERS = ["convex", "convex-helpers", "@convex-dev/rate-limiter", "@convex-dev/workpool"];
const peerSource = (name) => join(repo, "node_modules", name);

if (!existsSync(distConvex) || !existsSync(distIndex)) {
  throw new Error("dist/ is missing: run `npm run build` (or `node scripts/build.mjs --skip-wasm`) first");
}

const version = (dir) => {
  const file = join(dir, "package.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).version : undefined;
};
const convexVersion = version(peerSource("convex"));

// ---------------------------------------------------------------------------------------------
// The bundlers

/** Convex's bundleSchema: schema.ts alone, for the default runtime. */
async function bundleSchemaWithConvexOptions(cwd) {
  const dir = join(cwd, "convex");
  const result = await esbuild.build(
    convexEsbuildOptions({ entryPoints: [join(dir, "schema.ts")], platform: "browser", dir, chunksFolder: "_deps", cwd }),
  );
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings, []);
  const modules = result.outputFiles.filter((f) => !f.path.endsWith(".map"));
  assert.deepEqual(modules.map((f) => path.relative(join(cwd, "out"), f.path)), ["schema.js"]);
  return { path: "schema.js", source: modules[0].text, environment: "isolate" };
}

const bundlers = [
  {
    name: `esbuild ${esbuild.version} with Convex's options`,
    available: () => true,
    async bundle(cwd) {
      return { ...(await bundleWithConvexOptions(cwd)), schema: await bundleSchemaWithConvexOptions(cwd) };
    },
  },
  {
    name: `convex ${convexVersion ?? "(not installed)"} CLI: convex deploy --debug-bundle-path, --write-push-request`,
    available: () => existsSync(join(peerSource("convex"), "bin", "main.js")),
    async bundle(cwd) {
      // The app's own CLI (node_modules/convex → this repo's devDependency), as `npx convex` runs it.
      const cli = join(cwd, "node_modules", "convex", "bin", "main.js");
      const output = await bundleWithConvexCli(cwd, { cli });
      const outDir = mkdtempSync(join(tmpdir(), "convex-entry-push-"));
      try {
        await convexDeployOffline(cwd, ["--write-push-request", join(outDir, "push"), "--push-all-modules"], { cli });
        const push = JSON.parse(readFileSync(join(outDir, "push.json"), "utf8"));
        return { ...output, push, schema: push.appDefinition.schema };
      } finally {
        rmSync(outDir, { recursive: true, force: true });
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * The files a bundle inlined, as absolute paths: from esbuild's metafile, else from each module's
 * source map (whose sources are relative to the map, next to the module under <cwd>/out). Packages
 * that ship source maps (convex, @convex-dev/*) show their src/ files there; dist/ ships none.
 */
function bundledInputs(cwd, { metafile, modules }) {
  if (metafile) return [...new Set(Object.keys(metafile.inputs).map((p) => path.resolve(cwd, p)))];
  const inputs = modules.flatMap((m) => {
    assert.equal(typeof m.sourceMap, "string", `${m.path}: source map`);
    const base = dirname(join(cwd, "out", m.path));
    return JSON.parse(m.sourceMap).sources.map((s) => path.resolve(base, s));
  });
  return [...new Set(inputs)];
}

/** The inputs that are files of the package itself (not of its node_modules). */
const packageFiles = (inputs) =>
  inputs.filter((p) => p.startsWith(repo + path.sep) && !p.includes(`${path.sep}node_modules${path.sep}`)).sort();

/** Root modules (not the shared chunks under _deps/). */
const rootPaths = (modules) => modules.map((m) => m.path).filter((p) => !p.startsWith("_deps/"));

/** Links a module and its chunks (ESM, in `dir`) into one script defining `__convexModule`. */
async function linkToScript(entry) {
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
  return linked.outputFiles[0].text;
}

/** Evaluates a bundled module in a fresh bare context; returns its exports. */
async function loadInBareContext(entry, env = {}) {
  const context = bareContext(env);
  assert.equal(
    vm.runInContext("[typeof require, typeof Buffer, typeof global, typeof module].join()", context),
    "undefined,undefined,undefined,undefined",
  );
  vm.runInContext(await linkToScript(entry), context, { filename: path.basename(entry) });
  return vm.runInContext("__convexModule", context);
}

/** What a registered Convex function is: which of query/mutation/action, and internal or public. */
function registration(fn) {
  if (typeof fn !== "function") return undefined;
  const kinds = ["isQuery", "isMutation", "isAction"].filter((k) => fn[k] === true);
  const visibility = ["isInternal", "isPublic"].filter((k) => fn[k] === true);
  if (kinds.length !== 1 || visibility.length !== 1) return undefined;
  return `${visibility[0] === "isInternal" ? "internal" : "public"} ${kinds[0].slice(2).toLowerCase()}`;
}

/** The argument validator a registered function exports to Convex, as JSON. */
const exportedArgs = (fn) => JSON.parse(fn.exportArgs());

/** The wasm module inlined as base64 (its text starts with "\0asm" → "AGFzbQ"). */
function inlinedWasm(sources) {
  const literals = sources.flatMap((s) => [...s.matchAll(/["'`](AGFzbQ[A-Za-z0-9+/]+={0,2})["'`]/g)].map((m) => m[1]));
  return literals.map((b64) => new Uint8Array(Buffer.from(b64, "base64")));
}

// ---------------------------------------------------------------------------------------------
// The tests

let project;

before(() => {
  // A throwaway app: convex/ from the example, the package and its peers linked by name.
  project = realpathSync(mkdtempSync(join(tmpdir(), "convex-entry-")));
  cpSync(join(example, "convex"), join(project, "convex"), { recursive: true });
  mkdirSync(join(project, "node_modules", "@convex-dev"), { recursive: true });
  symlinkSync(repo, join(project, "node_modules", "clerk-metadata-wasm"), "dir");
  const dependencies = { "clerk-metadata-wasm": `file:${repo}` };
  for (const name of PEERS) {
    // Missing only if this repo's `npm install` did not run; the bundles then fail on the import.
    if (!existsSync(peerSource(name))) continue;
    symlinkSync(realpathSync(peerSource(name)), join(project, "node_modules", name), "dir");
    dependencies[name] = version(peerSource(name));
  }
  // The CLI refuses to push without `convex` among the app's dependencies.
  const manifest = { name: "convex-entry-fixture", private: true, type: "module", dependencies };
  writeFileSync(join(project, "package.json"), JSON.stringify(manifest));
});

after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

test("clerk-metadata-wasm/convex resolves through the exports map to dist/convex.mjs (a deep import is refused)", async (t) => {
  // The example imports the package by name only.
  const specifiers = [];
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.[cm]?[jt]s$/.test(entry.name)) {
        for (const m of readFileSync(full, "utf8").matchAll(/["'](clerk-metadata-wasm[^"']*)["']/g)) specifiers.push(m[1]);
      }
    }
  };
  walk(join(project, "convex"));
  assert.ok(specifiers.includes("clerk-metadata-wasm/convex"), "the example imports clerk-metadata-wasm/convex");
  assert.deepEqual([...new Set(specifiers)].sort(), ["clerk-metadata-wasm", "clerk-metadata-wasm/convex"]);
  // The peers are this repo's devDependencies; say so if the example pins other versions.
  const pins = JSON.parse(readFileSync(join(example, "package.json"), "utf8")).dependencies;
  const peers = PEERS.map((name) => {
    const linked = version(peerSource(name));
    return `${name}@${linked}${pins[name] !== undefined && pins[name] !== linked ? ` (examples/convex pins ${pins[name]})` : ""}`;
  });
  t.diagnostic(`peers: ${peers.join(", ")}`);

  const build = (contents) =>
    esbuild.build({
      stdin: { contents, resolveDir: join(project, "convex") },
      absWorkingDir: project,
      bundle: true,
      write: false,
      platform: "browser",
      format: "esm",
      conditions: ["convex", "module"],
      external: ["convex", "convex/*", "@convex-dev/*"],
      metafile: true,
      logLevel: "silent",
    });
  const { metafile } = await build('export * from "clerk-metadata-wasm/convex";');
  const stdin = metafile.inputs["<stdin>"];
  assert.deepEqual(
    stdin.imports.map(({ path: p, original }) => ({ path: path.resolve(project, p), original })),
    [{ path: distConvex, original: "clerk-metadata-wasm/convex" }],
  );
  await assert.rejects(build('export * from "clerk-metadata-wasm/dist/convex.mjs";'), (error) => {
    const notes = error.errors.flatMap((e) => e.notes.map((n) => n.text)).join("\n");
    assert.match(notes, /The path "\.\/dist\/convex\.mjs" is not exported by package "clerk-metadata-wasm"/);
    return true;
  });
});

for (const bundler of bundlers) {
  // Skipped only outside CI: in CI (scripts/test.sh installs the repo first) a missing install
  // must fail, not quietly run fewer tests.
  const skip = bundler.available() || process.env.CI ? false : "this repo's convex devDependency is not installed (npm install)";
  describe(bundler.name, { skip }, () => {
    let out;
    let output;

    before(async () => {
      output = await bundler.bundle(project);
      // By environment: the two runtimes' bundles may hold modules of the same path.
      out = layOutModules([...output.isolate.modules, ...output.node.modules, output.schema], "convex-entry-out-", (m) => join(m.environment, m.path));
    });

    after(() => {
      if (out) rmSync(out, { recursive: true, force: true });
    });

    test("clerkJobs.js and scale.js are default-runtime modules carrying dist/convex.mjs and dist/index.mjs", (t) => {
      const isolate = rootPaths(output.isolate.modules);
      const node = rootPaths(output.node.modules);
      for (const p of ["clerkJobs.js", "scale.js"]) {
        assert.ok(isolate.includes(p), `${p} is a default-runtime module (isolate: ${isolate.join(", ")})`);
        assert.ok(!node.includes(p), `${p} is not a "use node" module`);
      }
      t.diagnostic(`isolate: ${isolate.join(", ")}; node: ${node.join(", ")}; schema: ${output.schema.path}`);

      const inputs = bundledInputs(project, output.isolate);
      for (const p of ["clerkJobs.ts", "scale.ts"]) assert.ok(inputs.includes(join(project, "convex", p)), `inputs include ${p}`);
      // The convex entry and, through its `./index.mjs`, the main entry: nothing else of the package.
      assert.deepEqual(packageFiles(inputs), [distConvex, distIndex].sort(), "default runtime: inputs from the package");
      if (output.isolate.metafile) {
        // esbuild's own record of the resolution: by name through `exports`, then relative.
        const importsOf = (file) => output.isolate.metafile.inputs[path.relative(project, file)].imports;
        const jobs = importsOf(join(project, "convex", "clerkJobs.ts")).find((i) => path.resolve(project, i.path) === distConvex);
        assert.equal(jobs?.original, "clerk-metadata-wasm/convex", "clerkJobs.ts reaches dist/convex.mjs by name");
        const index = importsOf(distConvex).find((i) => path.resolve(project, i.path) === distIndex);
        assert.equal(index?.original, "./index.mjs", "dist/convex.mjs reaches dist/index.mjs relatively");
      }

      // The peers are bundled, each from one copy: the app's. dist/convex.mjs imports them by name
      // and carries none of its own.
      for (const name of ["convex", "@convex-dev/rate-limiter", "@convex-dev/workpool"]) {
        const marker = `${path.sep}node_modules${path.sep}${name.split("/").join(path.sep)}${path.sep}`;
        const roots = [...new Set(inputs.filter((p) => p.includes(marker)).map((p) => p.slice(0, p.indexOf(marker))))];
        assert.deepEqual(roots, [repo], `${name}: bundled from one copy, the app's (found under: ${roots.join(", ")})`);
      }

      // "use node" modules carry only the main entry (through utils/clerk.ts).
      assert.deepEqual(packageFiles(bundledInputs(project, output.node)), [distIndex], '"use node": inputs from the package');
    });

    test("no require(fs), __dirname or unbundled import; the wasm arrives inlined, no .wasm file read", (t) => {
      const modules = [...output.isolate.modules, ...output.node.modules, output.schema];
      for (const m of modules) {
        assert.deepEqual(bareImports(m.source), [], `${m.environment} ${m.path}: unbundled imports`);
        assertNoFileAccess(m.source, `${m.environment} ${m.path}`);
        assert.doesNotMatch(m.source, /\brequire\s*\(/, `${m.environment} ${m.path}: calls require`);
      }
      for (const environment of ["isolate", "node"]) {
        const inputs = bundledInputs(project, output[environment]);
        assert.deepEqual(inputs.filter((p) => /\.wasm$/.test(p)), [], `${environment}: no .wasm input`);
        if (output[environment].metafile) {
          const namespaces = Object.keys(output[environment].metafile.inputs).filter((p) => /^wasm-(stub|binary):/.test(p));
          assert.deepEqual(namespaces, [], `${environment}: no .wasm import went through convex-wasm`);
        }
        // One wasm module, inlined as base64, and it is the client's.
        const wasm = inlinedWasm(output[environment].modules.map((m) => m.source));
        assert.equal(wasm.length, 1, `${environment}: one inlined wasm module`);
        assert.ok(WebAssembly.validate(wasm[0]), `${environment}: the inlined bytes are valid wasm`);
        const exports = WebAssembly.Module.exports(new WebAssembly.Module(wasm[0])).map((e) => e.name);
        assert.ok(exports.includes("wasmclient_new"), `${environment}: the inlined wasm is the client (${exports.length} exports)`);
        t.diagnostic(`${environment}: ${wasm[0].length} bytes of wasm inlined`);
      }
      const bytes = output.isolate.modules.reduce((n, m) => n + m.source.length, 0);
      t.diagnostic(`isolate: ${output.isolate.modules.map((m) => m.path).join(", ")} (${bytes} bytes)`);
    });

    test("clerkJobs.js and scale.js load in a bare vm context and export registered Convex functions", async (t) => {
      const jobs = await loadInBareContext(join(out, "isolate", "clerkJobs.js"));
      assert.equal(jobs.clerk?.constructor?.name, "ClerkConvex", "clerkJobs.clerk is a ClerkConvex");
      const expected = {
        runBatch: "internal action",
        pendingItems: "internal query",
        recordResults: "internal mutation",
        batchFinished: "internal mutation",
      };
      for (const [name, kind] of Object.entries(expected)) {
        assert.equal(registration(jobs[name]), kind, `clerkJobs.${name}`);
        assert.equal(exportedArgs(jobs[name]).type, "object", `clerkJobs.${name}: exports its argument validator`);
      }
      for (const name of ["runBatch", "pendingItems"]) {
        assert.deepEqual(Object.keys(exportedArgs(jobs[name]).value).sort(), ["from", "jobId", "to"], `clerkJobs.${name} args`);
      }
      assert.deepEqual(Object.keys(jobs).sort(), ["clerk", "mirror", ...Object.keys(expected)].sort(), "clerkJobs exports");

      const scale = await loadInBareContext(join(out, "isolate", "scale.js"));
      const kinds = Object.fromEntries(Object.entries(scale).map(([name, fn]) => [name, registration(fn)]));
      for (const [name, kind] of Object.entries(kinds)) {
        assert.match(String(kind), /^public (query|mutation|action)$/, `scale.${name} is a registered public function`);
        assert.equal(exportedArgs(scale[name]).type, "object", `scale.${name}: exports its argument validator`);
      }
      assert.equal(kinds.backfillRole, "public mutation");
      assert.equal(kinds.grantPermission, "public action");
      t.diagnostic(Object.entries(kinds).map(([name, kind]) => `${name}: ${kind}`).join(", "));
    });

    test("schema.js: clerkMetadataTables, bundled for the default runtime, export their tables and indexes", async () => {
      assert.equal(output.schema.path, "schema.js");
      assert.equal(output.schema.environment, "isolate");
      const schema = (await loadInBareContext(join(out, "isolate", "schema.js"))).default;
      const { tables } = JSON.parse(schema.export());
      const byName = Object.fromEntries(tables.map((table) => [table.tableName, table]));
      assert.ok(byName.clerkMetadataJobs, `tables: ${Object.keys(byName).join(", ")}`);
      assert.ok(byName.clerkMetadataJobItems, `tables: ${Object.keys(byName).join(", ")}`);
      assert.deepEqual(
        byName.clerkMetadataJobItems.indexes.map((index) => [index.indexDescriptor, index.fields]),
        [
          ["by_job_index", ["jobId", "index"]],
          ["by_job_status", ["jobId", "status"]],
        ],
      );
    });

    if (bundler.name.includes("CLI")) {
      test("the push request, written offline: convex.config.js with both components, their definitions, and the same modules", (t) => {
        const { push } = output;
        const app = push.appDefinition;
        assert.equal(app.definition.path, "convex.config.js");
        // The CLI names component directories relative to the functions directory (convex/).
        const functionsDir = join(project, "convex");
        const components = (paths) => paths.map((p) => path.resolve(functionsDir, p));
        const rateLimiter = join(repo, "node_modules", "@convex-dev", "rate-limiter", "dist", "component");
        const workpool = join(repo, "node_modules", "@convex-dev", "workpool", "dist", "component");
        assert.deepEqual(components(app.dependencies).sort(), [rateLimiter, workpool].sort(), "the app uses both components");
        const definitions = new Map(push.componentDefinitions.map((c) => [path.resolve(functionsDir, c.definitionPath), c]));
        for (const dir of [rateLimiter, workpool]) {
          const component = definitions.get(dir);
          assert.ok(component, `${dir}: a component definition (${[...definitions.keys()].join(", ")})`);
          assert.equal(component.definition.path, "convex.config.js");
          assert.ok(component.functions.length > 0, `${dir}: its functions are bundled`);
          for (const m of component.functions) assert.deepEqual(bareImports(m.source), [], `${dir} ${m.path}: unbundled imports`);
        }
        // What --debug-bundle-path wrote is what the push uploads.
        const key = (m) => `${m.environment} ${m.path}`;
        const pushed = new Map(app.changedModules.map((m) => [key(m), m.source]));
        const debug = [...output.isolate.modules, ...output.node.modules];
        assert.deepEqual([...pushed.keys()].sort(), debug.map(key).sort());
        for (const m of debug) assert.equal(pushed.get(key(m)), m.source, `${key(m)}: same source`);
        t.diagnostic(
          `components: ${[...definitions.keys()].map((dir) => path.relative(join(repo, "node_modules"), dir)).join(", ")}`,
        );
      });
    }
  });
}
