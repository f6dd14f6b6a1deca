// End-to-end tests of the command-line tool (dist/cli.mjs, the package's `bin`) against a local
// Clerk-compatible server. Build first: node scripts/build.mjs --skip-wasm
// Run: node --test tests/js/cli.test.mjs
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../dist/cli.mjs", import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
const { startLocalClerkServer, LOCAL_SECRET_KEY } = await import(new URL("../../dist/testing.mjs", import.meta.url).href);

const WRONG_KEY = "sk_test_wrong_key_that_must_never_be_printed_0000";
/** A production-shaped key, accepted by servers started with it (see liveServer). */
const LIVE_KEY = "sk_live_local_key_that_must_never_be_printed_0000";
const SEED = () => ({
  user_1: {
    public_metadata: { role: "customer", plan: "free", nothing: null, nested: { a: 1, b: { c: 2 } } },
    private_metadata: { stripeId: "cus_123" },
    unsafe_metadata: { theme: "dark" },
  },
  user_2: {},
});

const tmp = mkdtempSync(join(tmpdir(), "clerk-metadata-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
// Each test has its own server (ephemeral port), so tests run in parallel: most of the time is
// spent starting Node and compiling the wasm in the spawned CLI.
const PARALLEL = { concurrency: 4 };

/** A test with its own fresh server seeded with SEED(); `fn` gets `{ server, cli, stored }`. */
function it(name, fn) {
  test(name, async () => {
    const server = await startLocalClerkServer({ users: SEED(), userWriteLimit: false });
    try {
      await fn({
        server,
        cli: (args, options) => cli(server, args, options),
        stored: (id, kind = "public") => server.getUser(id)[`${kind}_metadata`],
      });
    } finally {
      await server.close();
    }
  });
}

/**
 * Runs the CLI with a clean environment (only PATH, plus the server's key and URL unless
 * overridden; `undefined` removes a variable). Asynchronous: the server lives in this process.
 * Every run checks that no secret key appears in stdout or stderr. `onSpawn` gets the child.
 */
function cli(server, args, { env = {}, stdin, onSpawn } = {}) {
  const fullEnv = { PATH: process.env.PATH, CLERK_SECRET_KEY: LOCAL_SECRET_KEY, CLERK_API_URL: server.url, ...env };
  for (const name of Object.keys(fullEnv)) if (fullEnv[name] === undefined) delete fullEnv[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: fullEnv, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        for (const secret of [LOCAL_SECRET_KEY, WRONG_KEY, LIVE_KEY]) {
          assert.ok(!stdout.includes(secret), `stdout leaks a secret key: ${stdout}`);
          assert.ok(!stderr.includes(secret), `stderr leaks a secret key: ${stderr}`);
        }
        assert.doesNotMatch(stdout + stderr, /sk_(test|live)_[A-Za-z0-9]/, "no key-shaped token is printed");
        resolve({ code, stdout, stderr });
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end(stdin ?? "");
    onSpawn?.(child);
  });
}

/** The run failed with `code`, nothing on stdout and exactly one prefixed line on stderr. */
function assertFails(r, code, pattern) {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^clerk-metadata-wasm: [^\n]+\n$/, "one line on stderr");
  if (pattern) assert.match(r.stderr, pattern);
}

function assertOk(r) {
  assert.equal(r.code, 0, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stderr, "");
}

const pretty = (value) => `${JSON.stringify(value, null, 2)}\n`;

/** JSON.parse's own message for `text`, as the CLI prints it (on one line). */
function parseMessage(text) {
  try {
    JSON.parse(text);
  } catch (error) {
    return error.message.replace(/\s*[\r\n]+\s*/g, " ");
  }
  throw new Error(`valid JSON: ${text}`);
}

const jsonLines = (text) => text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));

/** Whether util-linux `script` is here to give a command a terminal (for TTY-only behaviour). */
const HAS_SCRIPT = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;

/**
 * Runs the CLI on a pseudo-terminal through `script`, with `input` typed on it; stdout and
 * stderr arrive together, as on a screen.
 */
function cliOnTerminal(server, args, { env = {}, input = "" } = {}) {
  const quote = (arg) => `'${arg.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(" ");
  const fullEnv = { PATH: process.env.PATH, CLERK_SECRET_KEY: LOCAL_SECRET_KEY, CLERK_API_URL: server.url, TERM: "dumb", ...env };
  return new Promise((resolve, reject) => {
    // The timeout ends a run left waiting for input that never came, instead of the whole suite.
    const child = spawn("script", ["-qec", command, "/dev/null"], { env: fullEnv, stdio: ["pipe", "pipe", "pipe"], timeout: 30_000 });
    let screen = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (screen += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (screen += d));
    child.on("error", reject);
    child.on("close", (code) => {
      assert.ok(!screen.includes(LIVE_KEY) && !screen.includes(LOCAL_SECRET_KEY), "no secret key on the terminal");
      resolve({ code, screen });
    });
    // The terminal keeps what is typed until the CLI reads it, so it can be typed at once. (Not
    // an empty input: the end of script's stdin is not reliably passed on as Ctrl-D.)
    child.stdin.end(input);
  });
}

/** An address nothing listens on. */
async function closedPortUrl() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("help and version", PARALLEL, () => {
  it("--help documents every command, option and exit code", async ({ cli }) => {
    const r = await cli(["--help"]);
    assertOk(r);
    for (const usage of [
      "get <userId>",
      "get-key <userId> <key>",
      "has <userId> <key>",
      "set <userId> <key> <json>",
      "merge <userId> <json-object>",
      "remove <userId> <key>...",
      "replace <userId> <json-object>",
      "clear <userId>",
    ]) {
      assert.ok(r.stdout.includes(usage), usage);
    }
    for (const option of ["--kind public|private|unsafe", "--json-file", "--print", "--api-url", "--secret-key", "-h, --help", "--version"]) {
      assert.ok(r.stdout.includes(option), option);
    }
    assert.match(r.stdout, /CLERK_SECRET_KEY/);
    assert.match(r.stdout, /CLERK_API_URL/);
    assert.match(r.stdout, /ps/, "--secret-key is discouraged");
    for (const code of [0, 1, 2, 3, 4, 5, 6]) assert.match(r.stdout, new RegExp(`^  ${code}  \\S`, "m"), `exit code ${code}`);
    assert.match(r.stdout, /get-key of an absent key/);

    assert.equal((await cli(["-h"])).stdout, r.stdout);
    const bare = await cli([]);
    assertOk(bare);
    assert.equal(bare.stdout, r.stdout, "no arguments prints the help, exit 0");
  });

  it("per-command help: <command> --help, -h and help <command>", async ({ cli }) => {
    const r = await cli(["set", "--help"]);
    assertOk(r);
    assert.match(r.stdout, /^Usage: clerk-metadata-wasm set <userId> <key> <json> \[options\]$/m);
    assert.match(r.stdout, /--json-file <path\|->/);
    assert.match(r.stdout, /--print/);
    assert.match(r.stdout, /Exit codes:/);
    assert.equal((await cli(["help", "set"])).stdout, r.stdout);
    assert.equal((await cli(["set", "u", "-h"])).stdout, r.stdout, "help wins over missing arguments");

    const get = await cli(["get", "--help"]);
    assertOk(get);
    assert.match(get.stdout, /^Usage: clerk-metadata-wasm get <userId> \[options\]$/m);
    assert.doesNotMatch(get.stdout, /^  (--print|--json-file)/m, "only the options that apply");
    assertFails(await cli(["help", "nope"]), 2, /unknown command "nope"/);
  });

  it("--version prints the package version", async ({ cli }) => {
    const r = await cli(["--version"]);
    assertOk(r);
    assert.equal(r.stdout, `${PACKAGE.version}\n`);
  });
});

describe("reads", PARALLEL, () => {
  it("get prints the metadata pretty-printed with 2 spaces", async ({ cli }) => {
    const r = await cli(["get", "user_1"]);
    assertOk(r);
    assert.equal(r.stdout, pretty(SEED().user_1.public_metadata));
  });

  it("get-key prints the value as JSON; a stored null is present; an absent key exits 3", async ({ cli }) => {
    let r = await cli(["get-key", "user_1", "role"]);
    assertOk(r);
    assert.equal(r.stdout, '"customer"\n');
    r = await cli(["get-key", "user_1", "nothing"]);
    assertOk(r);
    assert.equal(r.stdout, "null\n");
    assertFails(await cli(["get-key", "user_1", "missing"]), 3, /key "missing" not found in the public metadata of user "user_1"/);
  });

  it("has prints true/false and exits 0/1 like test", async ({ cli }) => {
    let r = await cli(["has", "user_1", "role"]);
    assertOk(r);
    assert.equal(r.stdout, "true\n");
    r = await cli(["has", "user_1", "nothing"]);
    assert.equal(r.code, 0, "a key holding null is present");
    assert.equal(r.stdout, "true\n");
    r = await cli(["has", "user_1", "missing"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "false\n");
    assert.equal(r.stderr, "");
  });
});

describe("writes", PARALLEL, () => {
  it("set stores exactly the JSON value, other keys untouched, and prints nothing", async ({ cli, stored }) => {
    for (const [arg, value] of [
      ['"admin"', "admin"],
      ["-5", -5],
      ['["a","b"]', ["a", "b"]],
    ]) {
      const r = await cli(["set", "user_1", "role", arg]);
      assertOk(r);
      assert.equal(r.stdout, "", "writes print nothing");
      assert.deepEqual(stored("user_1").role, value, arg);
      assert.equal(stored("user_1").plan, "free");
    }
    // null cannot be stored with set (Clerk's merge reads it as "remove"): refused, exit 4.
    assertFails(await cli(["set", "user_1", "role", "null"]), 4, /null/);
    // An object replaces the stored object, it is not merged.
    assertOk(await cli(["set", "user_1", "nested", '{"z":0}']));
    assert.deepEqual(stored("user_1").nested, { z: 0 });
  });

  it("set --print prints the resulting metadata", async ({ cli }) => {
    const r = await cli(["set", "user_2", "role", '"admin"', "--print"]);
    assertOk(r);
    assert.equal(r.stdout, pretty({ role: "admin" }));
  });

  it("merge deep-merges and a null member removes the key", async ({ cli, stored }) => {
    const r = await cli(["merge", "user_1", '{"plan":"pro","role":null,"nested":{"b":{"d":3}}}', "--print"]);
    assertOk(r);
    const expected = { plan: "pro", nothing: null, nested: { a: 1, b: { c: 2, d: 3 } } };
    assert.deepEqual(stored("user_1"), expected);
    assert.deepEqual(JSON.parse(r.stdout), expected);
    assert.equal(r.stdout, pretty(JSON.parse(r.stdout)));
  });

  it("remove removes one or more keys", async ({ cli, stored }) => {
    assertOk(await cli(["remove", "user_1", "role"]));
    assert.deepEqual(Object.keys(stored("user_1")).sort(), ["nested", "nothing", "plan"]);
    const r = await cli(["remove", "user_1", "plan", "nested", "absent"]);
    assertOk(r);
    assert.equal(r.stdout, "");
    assert.deepEqual(stored("user_1"), { nothing: null });
  });

  it("replace replaces the whole field; clear empties it", async ({ cli, stored }) => {
    assertOk(await cli(["replace", "user_1", '{"only":1}']));
    assert.deepEqual(stored("user_1"), { only: 1 });
    assert.deepEqual(stored("user_1", "private"), { stripeId: "cus_123" }, "other fields untouched");
    const r = await cli(["clear", "user_1", "--print"]);
    assertOk(r);
    assert.equal(r.stdout, "{}\n");
    assert.deepEqual(stored("user_1"), {});
  });
});

describe("--kind", PARALLEL, () => {
  it("--kind private reads and writes private metadata only", async ({ cli, stored }) => {
    let r = await cli(["get", "user_1", "--kind", "private"]);
    assertOk(r);
    assert.equal(r.stdout, pretty({ stripeId: "cus_123" }));
    assertOk(await cli(["--kind=private", "set", "user_1", "tier", "3"]));
    assert.deepEqual(stored("user_1", "private"), { stripeId: "cus_123", tier: 3 });
    assert.equal(stored("user_1").tier, undefined, "public untouched");
    r = await cli(["has", "user_1", "stripeId", "--kind", "private"]);
    assert.equal(r.code, 0);
    r = await cli(["has", "user_1", "stripeId"]);
    assert.equal(r.code, 1, "default kind is public");
    assertFails(await cli(["get-key", "user_1", "role", "--kind", "private"]), 3, /key "role" not found in the private metadata/);
  });

  it("--kind unsafe; an unknown kind is a usage error", async ({ server, cli }) => {
    const r = await cli(["get-key", "user_1", "theme", "--kind", "unsafe"]);
    assertOk(r);
    assert.equal(r.stdout, '"dark"\n');
    assertFails(await cli(["get", "user_1", "--kind", "secret"]), 2, /invalid --kind "secret": expected public, private or unsafe/);
    assert.equal(server.requests.length, 1, "refused before any request");
  });
});

describe("--json-file", PARALLEL, () => {
  it("reads the value from a file (a BOM is ignored)", async ({ cli, stored }) => {
    const file = join(tmp, "value.json");
    writeFileSync(file, '\uFEFF{\n  "plan": "enterprise",\n  "seats": 10\n}\n');
    assertOk(await cli(["merge", "user_2", "--json-file", file]));
    assert.deepEqual(stored("user_2"), { plan: "enterprise", seats: 10 });
    assertOk(await cli(["set", "user_2", "copy", "--json-file", file]));
    assert.deepEqual(stored("user_2").copy, { plan: "enterprise", seats: 10 });
  });

  it("- reads stdin", async ({ cli, stored }) => {
    const r = await cli(["replace", "user_2", "--kind", "private", "--json-file", "-", "--print"], { stdin: '{"notes":"vip"}\n' });
    assertOk(r);
    assert.equal(r.stdout, pretty({ notes: "vip" }));
    assert.deepEqual(stored("user_2", "private"), { notes: "vip" });
  });

  it("bad JSON in a file or stdin, a missing file, or both a file and an argument: exit 2", async ({ server, cli }) => {
    const file = join(tmp, "bad.json");
    const bad = '{\n  "a": 1,\n  "b": oops\n}\n';
    writeFileSync(file, bad);
    let r = await cli(["merge", "user_2", "--json-file", file]);
    assertFails(r, 2, /invalid JSON in --json-file ".*bad\.json": /);
    assert.ok(r.stderr.includes(`: ${parseMessage(bad)}`), r.stderr);
    r = await cli(["merge", "user_2", "--json-file", "-"], { stdin: "" });
    assertFails(r, 2, /invalid JSON in stdin: /);
    assert.ok(r.stderr.includes(`: ${parseMessage("")}`), r.stderr);
    assertFails(await cli(["merge", "user_2", "--json-file", join(tmp, "absent.json")]), 2, /cannot read --json-file ".*absent\.json": no such file/);
    assertFails(await cli(["merge", "user_2", "{}", "--json-file", file]), 2, /either as an argument or with --json-file, not both/);
    assertFails(await cli(["get", "user_2", "--json-file", file]), 2, /--json-file applies only to set, merge and replace/);
    assert.equal(server.requests.length, 0, "nothing was sent");
  });
});

describe("usage errors (exit 2)", PARALLEL, () => {
  it("invalid JSON arguments give JSON.parse's message and the argument; a bare word gets a quoting hint", async ({ server, cli, stored }) => {
    let r = await cli(["set", "user_1", "role", "admin"]);
    assertFails(r, 2, /invalid JSON in the <json> argument: /);
    assert.ok(r.stderr.includes(`: ${parseMessage("admin")}`), r.stderr);
    assert.ok(r.stderr.includes(`'"admin"'`), "hint to quote the word");
    r = await cli(["merge", "user_1", "{plan:1}"]);
    assertFails(r, 2, /invalid JSON in the <json-object> argument: /);
    assert.ok(r.stderr.includes(`: ${parseMessage("{plan:1}")}`), r.stderr);
    r = await cli(["set", "user_1", "n", "1 2"]);
    assertFails(r, 2, /invalid JSON in the <json> argument: /);
    assert.ok(r.stderr.includes(`: ${parseMessage("1 2")}`), r.stderr);
    assert.equal(server.requests.length, 0, "nothing was sent");
    assert.equal(stored("user_1").role, "customer");
  });

  it("unknown command or option, missing or extra arguments, misplaced flags", async ({ server, cli }) => {
    assertFails(await cli(["--kind", "private"]), 2, /missing command/);
    assertFails(await cli(["frobnicate", "user_1"]), 2, /unknown command "frobnicate"/);
    assertFails(await cli(["get", "user_1", "--verbose"]), 2, /unknown option --verbose/);
    assertFails(await cli(["get"]), 2, /get: missing <userId>/);
    assertFails(await cli(["set", "user_1", "role"]), 2, /set: missing <json> \(or pass --json-file\)/);
    assertFails(await cli(["remove", "user_1"]), 2, /remove: missing <key>/);
    assertFails(await cli(["clear", "user_1", "user_2"]), 2, /too many arguments/);
    assertFails(await cli(["get", "user_1", "--print"]), 2, /--print applies only to writes/);
    assert.equal(server.requests.length, 0);
  });
});

describe("--json", PARALLEL, () => {
  /** The run failed with `code`, nothing on stdout and one JSON object on stderr; returns it. */
  function jsonFailure(r, code) {
    assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^\{[^\n]*\}\n$/, "one JSON object on one line");
    const error = JSON.parse(r.stderr);
    assert.deepEqual(Object.keys(error).sort(), ["clerkTraceId", "code", "message", "operation", "retryAfter", "status"]);
    return error;
  }

  it("results are one line of JSON; writes print a summary, with the metadata under --print", async ({ cli, stored }) => {
    let r = await cli(["get", "user_1", "--json"]);
    assertOk(r);
    assert.equal(r.stdout, `${JSON.stringify(SEED().user_1.public_metadata)}\n`);
    r = await cli(["--json", "get-key", "user_1", "nested"]);
    assertOk(r);
    assert.equal(r.stdout, '{"a":1,"b":{"c":2}}\n');
    r = await cli(["has", "user_1", "missing", "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "false\n");
    r = await cli(["set", "user_2", "role", '"admin"', "--json"]);
    assertOk(r);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, command: "set", userId: "user_2", kind: "public" });
    r = await cli(["merge", "user_2", '{"plan":"pro"}', "--kind", "private", "--json", "--print"]);
    assertOk(r);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, command: "merge", userId: "user_2", kind: "private", metadata: { plan: "pro" } });
    assert.deepEqual(stored("user_2", "private"), { plan: "pro" });
  });

  it("API errors carry code, status, clerkTraceId, retryAfter, message and operation", async ({ server, cli }) => {
    let error = jsonFailure(await cli(["get", "user_nope", "--json"]), 3);
    assert.equal(error.code, "resource_not_found");
    assert.equal(error.status, 404);
    assert.equal(error.operation, "get");
    assert.equal(typeof error.clerkTraceId, "string");
    assert.match(error.message, /not found/i);
    assert.equal(error.retryAfter, null);

    server.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "120" } }, times: 10 });
    error = jsonFailure(await cli(["merge", "user_1", '{"a":1}', "--json"]), 5);
    assert.equal(error.status, 429);
    assert.equal(error.retryAfter, 120);
    assert.equal(error.operation, "merge");
    server.clearFaults();

    error = jsonFailure(await cli(["get", "user_1", "--json"], { env: { CLERK_SECRET_KEY: undefined } }), 4);
    assert.equal(error.code, "missing_secret_key");
    assert.equal(error.status, null);
  });

  it("the CLI's own failures: usage_error and key_not_found, also when parsing fails", async ({ server, cli }) => {
    let error = jsonFailure(await cli(["get", "user_1", "--json", "--verbose"]), 2);
    assert.deepEqual(error, {
      code: "usage_error",
      status: null,
      clerkTraceId: null,
      retryAfter: null,
      message: "unknown option --verbose; see clerk-metadata-wasm --help",
      operation: null,
    });
    error = jsonFailure(await cli(["set", "user_1", "role", "admin", "--json"]), 2);
    assert.equal(error.code, "usage_error");
    assert.ok(error.message.includes(parseMessage("admin")), error.message);
    assert.equal(server.requests.length, 0, "nothing was sent");
    error = jsonFailure(await cli(["get-key", "user_1", "missing", "--json"]), 3);
    assert.equal(error.code, "key_not_found");
    assert.match(error.message, /key "missing" not found/);
    // After --, --json is an argument like any other.
    assertFails(await cli(["get", "--", "user_1", "--json"]), 2, /too many arguments/);
  });
});

describe("merge-many and set-many", PARALLEL, () => {
  const BATCH = [
    '{"userId":"user_1","metadata":{"plan":"pro","role":null}}',
    "",
    "not json",
    '{"userId":"user_nope","metadata":{"a":1}}',
    '{"userId":"user_2","metdata":{"a":1}}',
    '{"userId":"user_2","metadata":{"seats":3}}',
  ].join("\n");

  it("merge-many: one JSON line per item in input order; a bad line fails alone, with its line number; exit 1", async ({ cli, stored }) => {
    const file = join(tmp, "merge-many.jsonl");
    writeFileSync(file, BATCH);
    const r = await cli(["merge-many", file]);
    assert.equal(r.code, 1, r.stderr);
    const results = jsonLines(r.stdout);
    assert.deepEqual(
      results.map(({ index, line, userId, status }) => ({ index, line, userId, status })),
      [
        { index: 0, line: 1, userId: "user_1", status: "ok" },
        { index: 1, line: 3, userId: null, status: "error" },
        { index: 2, line: 4, userId: "user_nope", status: "error" },
        { index: 3, line: 5, userId: "user_2", status: "error" },
        { index: 4, line: 6, userId: "user_2", status: "ok" },
      ],
    );
    assert.equal(results[1].error.code, "invalid_line");
    assert.ok(results[1].error.message.startsWith(`line 3: invalid JSON: ${parseMessage("not json")}`), results[1].error.message);
    assert.match(results[3].error.message, /^line 5: unexpected member "metdata"/);
    assert.deepEqual(results[2].error, { ...results[2].error, code: "resource_not_found", status: 404, operation: "merge" });
    assert.deepEqual(stored("user_1"), { plan: "pro", nothing: null, nested: { a: 1, b: { c: 2 } } });
    assert.deepEqual(stored("user_2"), { seats: 3 });
    // Piped stderr: no progress bar, only which lines failed.
    assert.equal(r.stderr, "clerk-metadata-wasm: merge-many: 3 of 5 items failed (lines 3, 4, 5)\n");
  });

  it("set-many from stdin into --results; every item ok is exit 0 with nothing on stdout or stderr", async ({ cli, stored }) => {
    const results = join(tmp, "set-many-results.jsonl");
    const input = '{"userId":"user_1","entries":{"nested":{"z":0},"tier":2}}\r\n{"userId":"user_2","entries":{"tier":1}}\n';
    const r = await cli(["set-many", "-", "--kind", "private", "--results", results, "--concurrency", "1"], { stdin: input });
    assertOk(r);
    assert.equal(r.stdout, "");
    assert.deepEqual(jsonLines(readFileSync(results, "utf8")), [
      { index: 0, line: 1, userId: "user_1", status: "ok" },
      { index: 1, line: 2, userId: "user_2", status: "ok" },
    ]);
    assert.deepEqual(stored("user_1", "private"), { stripeId: "cus_123", nested: { z: 0 }, tier: 2 });
    assert.deepEqual(stored("user_2", "private"), { tier: 1 });
    assert.deepEqual(stored("user_1"), SEED().user_1.public_metadata, "public untouched");
  });

  it("--json: failed items make exit 1 with stderr left empty", async ({ cli }) => {
    const r = await cli(["merge-many", "-", "--json"], { stdin: BATCH });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "");
    assert.equal(jsonLines(r.stdout).length, 5);
  });

  it("usage errors before any request: unreadable input, bad --concurrency, flags that do not apply", async ({ server, cli }) => {
    assertFails(await cli(["merge-many", join(tmp, "absent.jsonl")]), 2, /cannot read the input ".*absent\.jsonl": no such file/);
    assertFails(await cli(["merge-many", "-", "--concurrency", "many"], { stdin: BATCH }), 2, /invalid --concurrency "many"/);
    assertFails(await cli(["merge-many", "-", "--results", tmp], { stdin: BATCH }), 2, /cannot write --results/);
    assertFails(await cli(["set-many", "-", "--print"], { stdin: BATCH }), 2, /--print applies only to writes/);
    assertFails(await cli(["get", "user_1", "--results", "x.jsonl"]), 2, /--results applies only to merge-many and set-many/);
    assertFails(await cli(["merge-many"]), 2, /merge-many: missing <file\|->/);
    assert.equal(server.requests.length, 0);
  });

  it("Ctrl-C aborts the item in flight and skips the rest, which are still reported; exit 130", async ({ server, cli }) => {
    server.injectFault({ fault: { kind: "delay", ms: 10_000 } });
    const lines = ["user_1", "user_2", "user_1"].map((userId) => JSON.stringify({ userId, metadata: { n: 1 } })).join("\n");
    const r = await cli(["merge-many", "-", "--concurrency", "1"], {
      stdin: lines,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (server.requests.length === 0) return;
          clearInterval(poll);
          child.kill("SIGINT");
        }, 20);
      },
    });
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(
      jsonLines(r.stdout).map(({ status, error }) => error?.code ?? status),
      ["aborted", "skipped", "skipped"],
    );
    assert.match(r.stderr, /merge-many interrupted; items not started are reported "skipped"/);
    assert.equal(server.requests.length, 1);
  });

  test("a progress bar on stderr when it is a terminal", { skip: !HAS_SCRIPT && "no util-linux script" }, async () => {
    const server = await startLocalClerkServer({ users: SEED(), userWriteLimit: false });
    try {
      const file = join(tmp, "progress.jsonl");
      writeFileSync(file, BATCH);
      const { code, screen } = await cliOnTerminal(server, ["merge-many", file, "--results", join(tmp, "progress-results.jsonl")]);
      assert.equal(code, 1, screen);
      assert.match(screen, /\r\x1b\[2Kmerge-many \[[#-]{30}\] \d\/5/);
      assert.match(screen, /\] 5\/5, 3 failed/);
    } finally {
      await server.close();
    }
  });
});

describe("replace and clear with a live key", PARALLEL, () => {
  /** A test with a server that accepts only LIVE_KEY; `cli` runs with it in CLERK_SECRET_KEY. */
  function live(name, options, fn) {
    test(name, options, async () => {
      const server = await startLocalClerkServer({ users: SEED(), userWriteLimit: false, secretKey: LIVE_KEY });
      try {
        await fn({
          server,
          cli: (args, opts = {}) => cli(server, args, { ...opts, env: { CLERK_SECRET_KEY: LIVE_KEY, ...opts.env } }),
          terminal: (args, input) => cliOnTerminal(server, args, { env: { CLERK_SECRET_KEY: LIVE_KEY }, input }),
          stored: (id) => server.getUser(id).public_metadata,
        });
      } finally {
        await server.close();
      }
    });
  }

  live("without a terminal they refuse unless --yes, before any request", {}, async ({ server, cli, stored }) => {
    assertFails(await cli(["clear", "user_1"]), 2, /clear with a live key \(sk_live_\) needs confirmation .*pass --yes/);
    const r = await cli(["replace", "user_1", '{"a":1}', "--json"]);
    assert.equal(r.code, 2);
    assert.equal(JSON.parse(r.stderr).code, "confirmation_required");
    // --json-file - takes stdin, so there is no terminal to ask on either.
    assertFails(await cli(["replace", "user_1", "--json-file", "-"], { stdin: "{}" }), 2, /needs confirmation/);
    assert.equal(server.requests.length, 0, "nothing was sent");
    assert.deepEqual(stored("user_1"), SEED().user_1.public_metadata);

    assertOk(await cli(["replace", "user_1", '{"a":1}', "--yes"]));
    assert.deepEqual(stored("user_1"), { a: 1 });
    assertOk(await cli(["-y", "clear", "user_1"]));
    assert.deepEqual(stored("user_1"), {});
    // Other writes, and the same commands with a test key, never ask.
    assertOk(await cli(["merge", "user_1", '{"b":2}']));
    // --secret-key wins over $CLERK_SECRET_KEY: a test key is sent without asking (and rejected here).
    assertFails(await cli(["clear", "user_2", "--secret-key", LOCAL_SECRET_KEY]), 5, /HTTP 401/);
    assertFails(await cli(["merge", "user_1", "{}", "--yes"]), 2, /--yes applies only to replace and clear/);
  });

  live("on a terminal they ask; only y or yes goes ahead", { skip: !HAS_SCRIPT && "no util-linux script" }, async ({ server, terminal, stored }) => {
    let r = await terminal(["clear", "user_1"], "n\n");
    assert.equal(r.code, 2, r.screen);
    assert.match(r.screen, /Empty the public metadata of user "user_1" on the live instance\? \[y\/N\]/);
    assert.match(r.screen, /clear cancelled; nothing was changed/);
    r = await terminal(["clear", "user_1"], "\n");
    assert.equal(r.code, 2, "no answer is a no");
    assert.equal(server.requests.length, 0);
    assert.deepEqual(stored("user_1"), SEED().user_1.public_metadata);

    r = await terminal(["replace", "user_1", '{"only":1}', "--kind", "private"], "yes\n");
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, /Replace the private metadata of user "user_1" on the live instance\?/);
    assert.deepEqual(server.getUser("user_1").private_metadata, { only: 1 });
  });
});

describe("errors from the package and the API", PARALLEL, () => {
  it("missing CLERK_SECRET_KEY: exit 4, nothing sent", async ({ server, cli }) => {
    assertFails(await cli(["get", "user_1"], { env: { CLERK_SECRET_KEY: undefined } }), 4, /Missing CLERK_SECRET_KEY/);
    assert.equal(server.requests.length, 0);
  });

  it("other refusals by the package: exit 4", async ({ server, cli }) => {
    assertFails(await cli(["get", "user_1"], { env: { CLERK_SECRET_KEY: "not-a-key" } }), 4, /Invalid CLERK_SECRET_KEY/);
    assertFails(await cli(["get", "user_1", "--api-url", "not a url"]), 4, /CLERK_API_URL/);
    assertFails(await cli(["merge", "user_1", "[1,2]"]), 4, /plain object/);
    assert.equal(server.requests.length, 0);
  });

  it("--secret-key and --api-url flags override the environment", async ({ server, cli }) => {
    const r = await cli(["get", "user_1", "--secret-key", LOCAL_SECRET_KEY, "--api-url", server.url], {
      env: { CLERK_SECRET_KEY: undefined, CLERK_API_URL: "http://127.0.0.1:9" },
    });
    assertOk(r);
    assert.equal(r.stdout, pretty(SEED().user_1.public_metadata));
  });

  it("unknown user: exit 3 for reads and writes", async ({ cli }) => {
    assertFails(await cli(["get", "user_nope"]), 3, /not found/i);
    assertFails(await cli(["set", "user_nope", "role", '"x"']), 3);
    assertFails(await cli(["get", "user_nope", "--secret-key", LOCAL_SECRET_KEY], { env: { CLERK_SECRET_KEY: undefined } }), 3);
  });

  it("API errors: exit 5 (rejected key, 403, 500 after retries, 429)", async ({ server, cli, stored }) => {
    const r = await cli(["get", "user_1", "--secret-key", WRONG_KEY]);
    assertFails(r, 5, /HTTP 401/);

    server.injectFault({ fault: { kind: "status", status: 403 } });
    assertFails(await cli(["clear", "user_1"]), 5, /HTTP 403/);
    assert.deepEqual(stored("user_1"), SEED().user_1.public_metadata);

    server.injectFault({ fault: { kind: "status", status: 500 }, times: 10 });
    assertFails(await cli(["get", "user_1"]), 5, /HTTP 500/);
    server.clearFaults();

    server.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "120" } }, times: 10 });
    assertFails(await cli(["has", "user_1", "role"]), 5, /HTTP 429.*retry after 120 s/);
    server.clearFaults();
  });

  it("network error: exit 6", async ({ cli }) => {
    assertFails(await cli(["get", "user_1"], { env: { CLERK_API_URL: await closedPortUrl() } }), 6, /network/i);
  });
});

describe("a notice on stderr while waiting", () => {
  it("a retry after a 429 is announced on stderr, not on stdout; --json keeps stderr for failures", async ({ server, cli, stored }) => {
    server.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "1" } }, method: "PATCH" });
    const text = await cli(["merge", "user_2", '{"a":1}']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /retrying in 1\.0 s \(HTTP 429\)/);
    assert.doesNotMatch(text.stdout, /retrying/);
    assert.deepEqual(stored("user_2"), { a: 1 });
    server.injectFault({ fault: { kind: "status", status: 429, headers: { "retry-after": "1" } }, method: "PATCH" });
    const json = await cli(["merge", "user_2", '{"b":2}', "--json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, "", "no notice in --json mode");
  });
});
