#!/usr/bin/env node
// Launch the local Clerk-compatible server for shell-driven tests (e.g. wasm-bindgen tests that
// need a BAPI endpoint). Prints ONE JSON line {"url","secretKey"} on stdout once listening, so a
// script can start it in the background and read the line; exits cleanly on SIGTERM/SIGINT.
//
//   node scripts/local-server.mjs [--seed users.json] [--port N] [--no-write-limit]
//
// users.json: {"user_1": {"public_metadata": {...}, "private_metadata": {...}}, ...}
// --no-write-limit turns off the per-user 10 writes / 10 s limit for suites that write in bursts.
import { readFileSync } from "node:fs";

// The built `clerk-metadata-wasm/testing` module (relative to this file); the only place to change.
const TESTING_MODULE = "../dist/testing.mjs";

function fail(message) {
  process.stderr.write(`local-server: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const out = { seed: undefined, port: 0, writeLimit: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === "--seed") out.seed = value();
    else if (arg === "--port") {
      const p = Number(value());
      if (!Number.isInteger(p) || p < 0 || p > 65535) fail("--port must be an integer 0-65535");
      out.port = p;
    } else if (arg === "--no-write-limit") out.writeLimit = false;
    else fail(`unknown argument ${arg}`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
let users;
if (args.seed !== undefined) {
  try {
    users = JSON.parse(readFileSync(args.seed, "utf8"));
  } catch (err) {
    fail(`cannot read seed ${args.seed}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof users !== "object" || users === null || Array.isArray(users)) fail("seed must be a JSON object of user id -> seed");
}

const { startLocalClerkServer } = await import(new URL(TESTING_MODULE, import.meta.url).href);
const server = await startLocalClerkServer({
  port: args.port,
  users,
  ...(args.writeLimit ? {} : { userWriteLimit: false }),
});
process.stdout.write(`${JSON.stringify({ url: server.url, secretKey: server.secretKey })}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
