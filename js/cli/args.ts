/**
 * The command line's grammar: the commands, their help, and turning argv into one checked
 * {@link Invocation}. Everything refused here is refused before any request (exit 2); checks of
 * ids, keys and metadata stay in the package.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { MetadataKind } from "../index.js";
import { fsReason, NAME, usageError } from "./output.js";

export interface CommandSpec {
  /** Positional argument names after the command, as shown in usage. */
  args: readonly string[];
  /** The last argument repeats (remove <key>...). */
  variadic?: boolean;
  /** Index in `args` of the JSON value that --json-file may replace. */
  jsonArg?: number;
  /** A write: --print applies. */
  write: boolean;
  /** A many-user command: the member each JSON line carries besides "userId". */
  batch?: "metadata" | "entries";
  /** Asks before running with a live key (sk_live_); --yes applies. */
  confirmLive?: boolean;
  summary: string;
  details: string;
}

const CONFIRM_DETAILS =
  "With a live key (sk_live_) it asks first when stdin and stderr are a terminal; --yes skips\n" +
  "the question. Without a terminal and without --yes it refuses (exit 2) before any request.";

const BATCH_DETAILS =
  "Blank lines are\n" +
  "skipped. Prints one JSON line per item on stdout (or into --results <file>), in input order:\n" +
  '  {"index":0,"line":1,"userId":"user_1","status":"ok"}\n' +
  '  {"index":1,"line":2,"userId":"user_2","status":"error","error":{"code":...,"status":...,"message":...}}\n' +
  "A line that is not such an object fails that item only (code invalid_line, its line number in\n" +
  "the message); the others still run. A progress bar is drawn on stderr when it is a terminal.\n" +
  'Exits 1 when any item failed; Ctrl-C stops starting items (the rest are "skipped"), exit 130.';

export const COMMANDS = {
  get: {
    args: ["userId"],
    write: false,
    summary: "Print the metadata object (JSON, 2-space indent)",
    details: "Prints the whole metadata object of the field chosen by --kind ({} when empty).",
  },
  "get-key": {
    args: ["userId", "key"],
    write: false,
    summary: "Print the value under <key> as JSON; exit 3 if absent",
    details:
      "Prints the value stored under <key> as JSON (a stored null prints null and exits 0).\n" +
      "An absent key prints nothing on stdout, one line on stderr, and exits 3.",
  },
  has: {
    args: ["userId", "key"],
    write: false,
    summary: "Print true/false; exit 0 if present, 1 if absent",
    details:
      "Prints true and exits 0 when <key> is present (whatever its value, null included),\n" +
      "prints false and exits 1 when it is absent, like test(1). Errors exit 2-6, never 1.",
  },
  set: {
    args: ["userId", "key", "json"],
    jsonArg: 2,
    write: true,
    summary: "Set <key> to exactly the JSON value, other keys untouched",
    details:
      "Sets <key> to exactly <json> (an object replaces the stored one, it is not merged);\n" +
      "every other key is left alone. <json> is a JSON value: '\"admin\"', 42, true,\n" +
      "'[\"a\",\"b\"]', '{\"a\":1}'. Or omit <json> and pass --json-file <path|->.\n" +
      "null is refused (exit 4): Clerk reads a null as \"remove this key\"; use remove.",
  },
  merge: {
    args: ["userId", "json-object"],
    jsonArg: 1,
    write: true,
    summary: "Deep-merge a JSON object; a null member removes that key",
    details:
      "Deep-merges <json-object> into the stored metadata in one request (Clerk merges on its\n" +
      "side); nested objects merge too and a member set to null removes that key.\n" +
      "Or omit <json-object> and pass --json-file <path|->.",
  },
  remove: {
    args: ["userId", "key"],
    variadic: true,
    write: true,
    summary: "Remove one or more keys",
    details: "Removes every <key> given, in one request. Keys that are not present are ignored.",
  },
  replace: {
    args: ["userId", "json-object"],
    jsonArg: 1,
    write: true,
    confirmLive: true,
    summary: "Replace the whole metadata with a JSON object",
    details:
      "Replaces the whole metadata field with <json-object>; keys not in it are dropped.\n" +
      "Or omit <json-object> and pass --json-file <path|->.\n" +
      CONFIRM_DETAILS,
  },
  clear: {
    args: ["userId"],
    write: true,
    confirmLive: true,
    summary: "Empty the metadata ({})",
    details: "Replaces the metadata field with {}.\n" + CONFIRM_DETAILS,
  },
  "merge-many": {
    args: ["file|-"],
    write: false,
    batch: "metadata",
    summary: "Deep-merge into many users, from JSON Lines",
    details:
      'Reads one {"userId": "...", "metadata": {...}} per line from <file> (- reads stdin) and\n' +
      "merges each as merge does, several users at once (--concurrency). " +
      BATCH_DETAILS,
  },
  "set-many": {
    args: ["file|-"],
    write: false,
    batch: "entries",
    summary: "Set keys exactly for many users, from JSON Lines",
    details:
      'Reads one {"userId": "...", "entries": {...}} per line from <file> (- reads stdin) and sets\n' +
      "each entry's keys to exactly those values, other keys untouched, one write per user. " +
      BATCH_DETAILS,
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

function usageLine(name: string, spec: CommandSpec): string {
  const args = spec.args.map((arg, i) => `<${arg}>${spec.variadic && i === spec.args.length - 1 ? "..." : ""}`);
  return [name, ...args].join(" ");
}

// ---------------------------------------------------------------------------------------------
// Help

const OPTION_HELP = {
  kind: "  --kind public|private|unsafe   Which metadata field (default: public)",
  jsonFile: "  --json-file <path>             Read the JSON value from a file instead of the argument; - reads stdin",
  print: "  --print                        After the write, print the resulting metadata (one more request)",
  apiUrl: "  --api-url <url>                Clerk Backend API origin (default: $CLERK_API_URL, else https://api.clerk.com)",
  secretKey:
    "  --secret-key <key>             Clerk secret key (default: $CLERK_SECRET_KEY). Discouraged: arguments are\n" +
    "                                 visible to other users in `ps` and kept in shell history; prefer the env var",
  yes: "  -y, --yes                      Do not ask before a replace or clear with a live key (sk_live_)",
  concurrency: "  --concurrency <n>              Users worked on at once (default 8, at most 1000)",
  results: "  --results <file>               Write the JSON Lines results into <file> instead of stdout",
  json: "  --json                         Results as one line of JSON; a failure as one JSON object on stderr",
  help: "  -h, --help                     Show help (also per command: " + NAME + " set --help)",
  version: "  --version                      Print the version",
};

const EXIT_HELP = `Exit codes:
  0  success (has: the key is present)
  1  has: the key is absent; merge-many, set-many: at least one item failed
  2  usage error: unknown command or option, missing or extra arguments, a value that is not
     JSON (the message says which and why), an unreadable --json-file or input file; or a
     replace or clear with a live key that was not confirmed (see --yes)
  3  not found: no such user (resource_not_found, HTTP 404), or get-key of an absent key
  4  refused by the package before any request: invalid_argument (e.g. an empty user id, merge
     of a non-object, metadata over 8 KB), missing_secret_key, invalid_secret_key, invalid_api_url
  5  other API error: Clerk answered 4xx/5xx (e.g. 401 key rejected, 429 rate limit, 500) after
     retries, or an unreadable response
  6  network error or timeout, after retries
  130  merge-many, set-many: interrupted (Ctrl-C)`;

export const HELP = `Usage: ${NAME} <command> [options]

Read and write a Clerk user's metadata (public by default) from scripts and the shell.

Commands:
${Object.entries(COMMANDS as Record<string, CommandSpec>)
  .map(([name, spec]) => `  ${usageLine(name, spec).padEnd(33)}${spec.summary}`)
  .join("\n")}
  ${"help [command]".padEnd(33)}Show this help (also with no arguments), or one command's help

Options:
${OPTION_HELP.kind}
${OPTION_HELP.jsonFile}
                                 (set, merge, replace)
${OPTION_HELP.print.replace("After the write", "After a write")}
${OPTION_HELP.yes}
                                 Without a terminal, replace and clear with a live key need it
${OPTION_HELP.concurrency}
                                 (merge-many, set-many)
${OPTION_HELP.results}
                                 (merge-many, set-many)
${OPTION_HELP.json}
${OPTION_HELP.apiUrl}
${OPTION_HELP.secretKey}
${OPTION_HELP.help}
${OPTION_HELP.version}

JSON values:
  Values are JSON, quoted for the shell: '"admin"' (a string), 42, true, null, '["a","b"]',
  '{"a":1}'. A bare word such as admin is not JSON and is refused (exit 2), never guessed to be
  a string. Negative numbers work as is (-5); -- ends the options. set refuses null (exit 4):
  Clerk reads a null as "remove this key"; use remove.

Output:
  Results are JSON on stdout; writes print nothing unless --print. Errors are one line on
  stderr, "${NAME}: <message>". The secret key is never printed.
  With --json, every result is one line of JSON: reads print the value, writes print
  {"ok":true,"command":...,"userId":...,"kind":...} (plus "metadata" with --print). A failure
  prints nothing on stdout and one JSON object on stderr:
  {"code":...,"status":...,"clerkTraceId":...,"retryAfter":...,"message":...,"operation":...}
  (null where it does not apply). code is the package's or Clerk's code, or the CLI's own:
  usage_error, key_not_found, confirmation_required, cancelled, interrupted.

Environment:
  CLERK_SECRET_KEY   Clerk secret key (sk_test_... or sk_live_...)
  CLERK_API_URL      Backend API origin (default https://api.clerk.com)

${EXIT_HELP}

Examples:
  export CLERK_SECRET_KEY=sk_test_...
  ${NAME} get user_123
  ${NAME} set user_123 role '"admin"'
  ${NAME} merge user_123 '{"plan":"pro","trial":null}' --print
  ${NAME} has user_123 role && echo "has a role"
  echo '{"notes":"vip"}' | ${NAME} replace user_123 --kind private --json-file -
  ${NAME} get user_123 --json 2>error.json | jq .plan
  ${NAME} merge-many plans.jsonl --results results.jsonl
`;

export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const lines = [`Usage: ${NAME} ${usageLine(name, spec)} [options]`];
  if (spec.jsonArg !== undefined) {
    const withoutJson = { ...spec, args: spec.args.slice(0, spec.jsonArg) };
    lines.push(`       ${NAME} ${usageLine(name, withoutJson)} --json-file <path|-> [options]`);
  }
  lines.push("", spec.details, "", "Options:", OPTION_HELP.kind);
  if (spec.jsonArg !== undefined) lines.push(OPTION_HELP.jsonFile);
  if (spec.write) lines.push(OPTION_HELP.print);
  if (spec.confirmLive) lines.push(OPTION_HELP.yes);
  if (spec.batch) lines.push(OPTION_HELP.concurrency, OPTION_HELP.results);
  lines.push(OPTION_HELP.json, OPTION_HELP.apiUrl, OPTION_HELP.secretKey, OPTION_HELP.help, "", EXIT_HELP, "");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Parsing

const OPTIONS = {
  "secret-key": { type: "string" },
  "api-url": { type: "string" },
  kind: { type: "string" },
  "json-file": { type: "string" },
  print: { type: "boolean" },
  // Read before parsing (jsonRequested), so that even a usage error is reported as JSON.
  json: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  concurrency: { type: "string" },
  results: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

interface Parsed {
  positionals: string[];
  secretKey: string | undefined;
  apiUrl: string | undefined;
  kind: string | undefined;
  jsonFile: string | undefined;
  print: boolean;
  yes: boolean;
  concurrency: string | undefined;
  results: string | undefined;
  help: boolean;
  version: boolean;
}

/** Negative numbers (`set u n -5`) are values, not options: hidden from parseArgs, then restored. */
const NEGATIVE = /^-[0-9.]/;
const SENTINEL = "\u0000negative:";

function parse(argv: readonly string[]): Parsed {
  const hidden = argv.map((arg) => (NEGATIVE.test(arg) ? SENTINEL + arg : arg));
  const restore = (value: string | undefined): string | undefined =>
    value?.startsWith(SENTINEL) ? value.slice(SENTINEL.length) : value;
  let result;
  try {
    result = parseArgs({ args: hidden, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    if (unknown) throw usageError(`unknown option ${unknown[1]}; see ${NAME} --help`);
    // parseArgs' messages run over several lines; the first says what is wrong.
    throw usageError(message.split("\n")[0]!.replace(/\.$/, ""));
  }
  const { values, positionals } = result;
  return {
    positionals: positionals.map((p) => restore(p)!),
    secretKey: restore(values["secret-key"]),
    apiUrl: restore(values["api-url"]),
    kind: restore(values.kind),
    jsonFile: restore(values["json-file"]),
    print: values.print ?? false,
    yes: values.yes ?? false,
    concurrency: restore(values.concurrency),
    results: restore(values.results),
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

/** Whether --json was given; scanned, not parsed, so that it holds even when parsing fails. */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/** A command line, checked: what to show, or which command to run with what. */
export type Invocation =
  | { type: "text"; text: string }
  | { type: "version" }
  | ({ type: "command" } & CommandCall);

export interface CommandCall {
  command: CommandName;
  /** The positional arguments after the command; the user id first. */
  args: readonly string[];
  kind: MetadataKind;
  /** The JSON value of set, merge and replace, parsed. */
  value: unknown;
  /** The text of merge-many's and set-many's input (JSON Lines), read but not yet parsed. */
  input: string | undefined;
  print: boolean;
  /** --yes: no question before a replace or clear with a live key. */
  yes: boolean;
  concurrency: number | undefined;
  results: string | undefined;
  secretKey: string | undefined;
  apiUrl: string | undefined;
}

const KINDS: readonly MetadataKind[] = ["public", "private", "unsafe"];

const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

export async function interpret(argv: readonly string[]): Promise<Invocation> {
  // As gh does: a bare invocation is someone asking what the tool does, not a mistake.
  if (argv.length === 0) return { type: "text", text: HELP };
  const options = parse(argv);
  const [command, ...args] = options.positionals;
  if (command === "help") {
    const topic = args[0];
    if (topic === undefined) return { type: "text", text: HELP };
    if (!isCommand(topic)) throw usageError(`unknown command ${JSON.stringify(topic)}; see ${NAME} --help`);
    return { type: "text", text: commandHelp(topic) };
  }
  if (command === undefined) {
    if (options.version) return { type: "version" };
    if (options.help) return { type: "text", text: HELP };
    throw usageError(`missing command; see ${NAME} --help`);
  }
  if (!isCommand(command)) {
    throw usageError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(", ")} (see ${NAME} --help)`);
  }
  if (options.help) return { type: "text", text: commandHelp(command) };
  if (options.version) throw usageError("--version takes no command");
  checkArguments(command, args, options);
  const kindName = options.kind ?? "public";
  if (!(KINDS as readonly string[]).includes(kindName)) {
    throw usageError(`invalid --kind ${JSON.stringify(kindName)}: expected public, private or unsafe`);
  }
  const spec: CommandSpec = COMMANDS[command];
  const concurrency = concurrencyOf(options.concurrency);
  let value: unknown;
  if (spec.jsonArg !== undefined) {
    value =
      options.jsonFile !== undefined
        ? await readJsonFile(options.jsonFile)
        : parseJson(args[spec.jsonArg]!, `the <${spec.args[spec.jsonArg]}> argument`);
  }
  return {
    type: "command",
    command,
    args,
    kind: kindName as MetadataKind,
    value,
    input: spec.batch ? await readText(args[0]!, "the input") : undefined,
    print: options.print,
    yes: options.yes,
    concurrency,
    results: options.results,
    secretKey: options.secretKey,
    apiUrl: options.apiUrl,
  };
}

/** Flags that do not apply, and missing or extra arguments. */
function checkArguments(command: CommandName, args: readonly string[], options: Parsed): void {
  const spec: CommandSpec = COMMANDS[command];
  const fromFile = options.jsonFile !== undefined;
  if (fromFile && spec.jsonArg === undefined) throw usageError(`--json-file applies only to set, merge and replace, not ${command}`);
  if (options.print && !spec.write) throw usageError(`--print applies only to writes (set, merge, remove, replace, clear), not ${command}`);
  if (options.yes && !spec.confirmLive) throw usageError(`--yes applies only to replace and clear, not ${command}`);
  for (const flag of ["concurrency", "results"] as const) {
    if (options[flag] !== undefined && !spec.batch) throw usageError(`--${flag} applies only to merge-many and set-many, not ${command}`);
  }
  const expected = fromFile ? spec.args.slice(0, spec.jsonArg) : spec.args;
  if (args.length < expected.length) {
    const missing = expected.slice(args.length).map((a) => `<${a}>`).join(" ");
    const hint = !fromFile && spec.jsonArg !== undefined && args.length === spec.jsonArg ? " (or pass --json-file)" : "";
    throw usageError(`${command}: missing ${missing}${hint}; usage: ${NAME} ${usageLine(command, spec)}`);
  }
  if (args.length > expected.length && !spec.variadic) {
    if (fromFile && args.length === spec.args.length) {
      throw usageError(`${command}: give the value either as an argument or with --json-file, not both`);
    }
    throw usageError(`${command}: too many arguments (expected ${expected.length}, got ${args.length}); usage: ${NAME} ${usageLine(command, spec)}`);
  }
}

/** --concurrency as a whole number; its range is the package's to check (exit 4). */
function concurrencyOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw usageError(`invalid --concurrency ${JSON.stringify(text)}: expected a whole number`);
  return Number(text);
}

// ---------------------------------------------------------------------------------------------
// Input: JSON values, files, stdin

/** Parses a JSON value given as `source` ("the <json> argument", "stdin", …); exit 2 if it is not JSON. */
function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // JSON.parse's own message says what is wrong and where (its wording varies with the Node version).
    let message = `invalid JSON in ${source}: ${error instanceof Error ? error.message : String(error)}`;
    const word = text.trim();
    if (word !== "" && !/^["{[]/.test(word)) {
      message +=
        word.length <= 60 && !/['\s]/.test(word)
          ? `; a string must be quoted as JSON, e.g. '${JSON.stringify(word)}'`
          : "; a string must be quoted as JSON, e.g. '\"admin\"'";
    }
    throw usageError(message);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** The text of a file, or of stdin for "-", without a leading BOM; `what` names it in errors. */
async function readText(path: string, what: string): Promise<string> {
  if (path === "") throw usageError(`${what} needs a path, or - for stdin`);
  let text: string;
  try {
    text = path === "-" ? await readStdin() : readFileSync(path, "utf8");
  } catch (error) {
    throw usageError(`cannot read ${what} ${JSON.stringify(path)}: ${fsReason(error)}`);
  }
  return text.replace(/^\uFEFF/, "");
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readText(path, "--json-file");
  return parseJson(text, path === "-" ? "stdin" : `--json-file ${JSON.stringify(path)}`);
}
