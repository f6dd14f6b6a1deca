/**
 * Each command as calls to the package's public API. The package is loaded from its own entry
 * at run time (scripts/build.mjs keeps "../index.js" external), so the CLI adds no second copy
 * of the wasm to the package.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import {
  ClerkMetadataError,
  createClerkMetadataClient,
  type BatchItemResult,
  type BatchOptions,
  type MetadataFieldClient,
  type MetadataInput,
} from "../index.js";
import { COMMANDS, type CommandCall, type Invocation } from "./args.js";
import { CliError, describe, outcomeOf, type BatchRecord, type Outcome, type Output } from "./output.js";

export async function run(invocation: Invocation, output: Output): Promise<Outcome> {
  switch (invocation.type) {
    case "text":
      output.text(invocation.text);
      return "ok";
    case "version":
      output.text(`${version()}\n`);
      return "ok";
    case "command":
      return runCommand(invocation, output);
  }
}

async function runCommand(call: CommandCall, output: Output): Promise<Outcome> {
  // Missing or malformed keys and URLs are reported by the package (exit 4).
  const client = createClerkMetadataClient({
    secretKey: call.secretKey,
    apiUrl: call.apiUrl,
    // A write can wait seconds for Clerk's rate limit or a retry: say so rather than hang silently
    // (waits under a second, a retry's short backoff, pass without a word).
    onWait: ({ reason, ms, status }) => {
      if (ms < 1000) return;
      const seconds = (ms / 1000).toFixed(1);
      output.notice(reason === "rate_limit" ? `waiting ${seconds} s for Clerk's rate limit` : `retrying in ${seconds} s${status === undefined ? "" : ` (HTTP ${status})`}`);
    },
  });
  const field: MetadataFieldClient = client[call.kind];
  if (call.command === "merge-many" || call.command === "set-many") return runBatch(call, field, output);
  const [userId, ...rest] = call.args as [string, ...string[]];
  switch (call.command) {
    case "get":
      output.result(await field.get(userId));
      return "ok";
    case "get-key": {
      const key = rest[0]!;
      const found = await field.getKey(userId, key);
      if (found === undefined) {
        const message = `key ${JSON.stringify(key)} not found in the ${call.kind} metadata of user ${JSON.stringify(userId)}`;
        throw new CliError(message, "notFound", "key_not_found");
      }
      output.result(found);
      return "ok";
    }
    case "has": {
      const present = await field.hasKey(userId, rest[0]!);
      output.result(present);
      return present ? "ok" : "hasFalse";
    }
    case "set":
      await field.setKey(userId, rest[0]!, call.value);
      break;
    case "merge":
      await field.merge(userId, call.value as Record<string, unknown>);
      break;
    case "remove":
      await field.removeKeys(userId, rest);
      break;
    case "replace":
      await confirmLive(call, userId);
      await field.replace(userId, call.value as Record<string, unknown>);
      break;
    case "clear":
      await confirmLive(call, userId);
      await field.clear(userId);
      break;
  }
  const metadata = call.print ? await readBack(call, field, userId) : undefined;
  if (output.json) {
    // Every --json run prints one JSON document, so a script can parse stdout whatever it ran.
    const summary = { ok: true, command: call.command, userId, kind: call.kind };
    output.result(call.print ? { ...summary, metadata } : summary);
  } else if (call.print) {
    output.result(metadata);
  }
  return "ok";
}

/** The metadata after a write, for --print; a failure here says the write itself went through. */
async function readBack(call: CommandCall, field: MetadataFieldClient, userId: string): Promise<unknown> {
  try {
    return await field.get(userId);
  } catch (error) {
    if (!(error instanceof ClerkMetadataError)) throw error;
    const message = `the ${call.command} succeeded, but reading the result for --print failed: ${describe(error)}`;
    throw new CliError(message, outcomeOf(error), error.code, { cause: error });
  }
}

/**
 * A replace or clear with a live key drops data that no undo brings back: ask on a terminal,
 * and without one refuse unless --yes said yes beforehand.
 */
async function confirmLive(call: CommandCall, userId: string): Promise<void> {
  const key = call.secretKey ?? process.env.CLERK_SECRET_KEY;
  // Trimmed as the package trims it, so a padded live key still asks.
  if (call.yes || !key?.trim().startsWith("sk_live_")) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    const message = `${call.command} with a live key (sk_live_) needs confirmation and there is no terminal to ask on; pass --yes to ${call.command} without asking`;
    throw new CliError(message, "usage", "confirmation_required");
  }
  const action = call.command === "clear" ? "Empty" : "Replace";
  const answer = await ask(`${action} the ${call.kind} metadata of user ${JSON.stringify(userId)} on the live instance? [y/N] `);
  if (!/^y(es)?$/i.test(answer.trim())) throw new CliError(`${call.command} cancelled; nothing was changed`, "usage", "cancelled");
}

/** One line typed on the terminal; Ctrl-D or Ctrl-C answer "" (no), never leave the question hanging. */
function ask(question: string): Promise<string> {
  return new Promise((resolve) => {
    const terminal = createInterface({ input: process.stdin, output: process.stderr });
    let answered = false;
    const answer = (text: string): void => {
      if (answered) return;
      answered = true;
      terminal.close();
      resolve(text);
    };
    terminal.on("close", () => answer(""));
    terminal.on("SIGINT", () => {
      process.stderr.write("\n");
      answer("");
    });
    terminal.question(question, answer);
  });
}

// ---------------------------------------------------------------------------------------------
// merge-many, set-many

/** One item of the input: its value, or why its line is not an item. */
interface BatchLine {
  index: number;
  line: number;
  userId: string | null;
  value?: unknown;
  problem?: string;
}

/** Splits JSON Lines into items; a bad line becomes an item with a `problem`, so the rest still run. */
function readBatchLines(text: string, member: "metadata" | "entries"): BatchLine[] {
  const items: BatchLine[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() !== "") items.push(readBatchLine(raw, { index: items.length, line: i + 1, userId: null }, member));
  });
  return items;
}

function readBatchLine(raw: string, at: BatchLine, member: "metadata" | "entries"): BatchLine {
  const shape = `expected {"userId": "...", "${member}": {...}}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { ...at, problem: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { ...at, problem: `not an object; ${shape}` };
  const object = parsed as Record<string, unknown>;
  const userId = typeof object.userId === "string" ? object.userId : null;
  const item = { ...at, userId };
  if (userId === null) return { ...item, problem: `"userId" must be a string; ${shape}` };
  // A stray member first: it is most often the wanted one misspelt.
  const extra = Object.keys(object).find((name) => name !== "userId" && name !== member);
  if (extra !== undefined) return { ...item, problem: `unexpected member ${JSON.stringify(extra)}; ${shape}` };
  if (!Object.hasOwn(object, member)) return { ...item, problem: `missing "${member}"; ${shape}` };
  return { ...item, value: object[member] };
}

async function runBatch(call: CommandCall, field: MetadataFieldClient, output: Output): Promise<Outcome> {
  const member = COMMANDS[call.command as "merge-many" | "set-many"].batch;
  const lines = readBatchLines(call.input ?? "", member);
  const sink = output.batch(call.command, lines.length, call.results);
  for (const { index, line, userId, problem } of lines) {
    if (problem === undefined) continue;
    const error = new CliError(`line ${line}: ${problem}`, "usage", "invalid_line");
    sink.record({ index, line, userId, status: "error", error });
  }
  const valid = lines.filter((item) => item.problem === undefined);
  const record = (result: BatchItemResult): void => sink.record(batchRecord(valid[result.index]!, result));
  // Ctrl-C aborts the items in flight and skips the rest, which are still reported; a second
  // Ctrl-C finds no handler and ends the process at once.
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once("SIGINT", interrupt);
  const options: BatchOptions = { concurrency: call.concurrency, signal: controller.signal, onProgress: ({ result }) => record(result) };
  try {
    const results =
      member === "metadata"
        ? await field.mergeMany(valid.map((item) => ({ userId: item.userId!, metadata: item.value as MetadataInput })), options)
        : await field.setKeysMany(valid.map((item) => ({ userId: item.userId!, entries: item.value as MetadataInput })), options);
    results.forEach(record);
  } finally {
    process.removeListener("SIGINT", interrupt);
    sink.close();
  }
  if (controller.signal.aborted) {
    throw new CliError(`${call.command} interrupted; items not started are reported "skipped"`, "interrupted", "interrupted");
  }
  sink.summary();
  return sink.failed > 0 ? "itemsFailed" : "ok";
}

function batchRecord(item: BatchLine, result: BatchItemResult): BatchRecord {
  const { index, line } = item;
  return result.status === "error"
    ? { index, line, userId: result.userId, status: "error", error: result.error }
    : { index, line, userId: result.userId, status: result.status };
}

function version(): string {
  try {
    // dist/cli.mjs sits next to the package root's package.json, in the repository and when installed.
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
