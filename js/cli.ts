/**
 * The command-line tool: `npx clerk-metadata-wasm <command> …` (bundled into dist/cli.mjs).
 *
 * A thin shell over the public client: cli/args.ts turns argv into one checked invocation,
 * cli/commands.ts calls the package, cli/output.ts prints results and failures, and this file
 * maps how the run ended to the exit codes documented in the help. Every check of user ids, keys,
 * metadata shape and configuration stays in the package; the CLI only refuses what it alone
 * knows about (unknown commands and options, missing arguments, text that is not JSON).
 */
import { ClerkMetadataError } from "./index.js";
import { interpret, jsonRequested } from "./cli/args.js";
import { run } from "./cli/commands.js";
import { CliError, Output, outcomeOf, type Outcome } from "./cli/output.js";

/** The exit codes scripts can rely on; documented in the help (cli/args.ts) and the README. */
const EXIT: Record<Outcome, number> = {
  ok: 0,
  hasFalse: 1,
  itemsFailed: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  api: 5,
  network: 6,
  // 128 + SIGINT, as a shell reports a process that Ctrl-C ended.
  interrupted: 130,
};

function failureOutcome(error: unknown): Outcome {
  if (error instanceof CliError) return error.outcome;
  if (error instanceof ClerkMetadataError) return outcomeOf(error);
  return "api";
}

/** The value of --secret-key, found without parsing, so that even a usage error never prints it. */
function secretKeyFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--secret-key") return argv[i + 1];
    if (arg.startsWith("--secret-key=")) return arg.slice("--secret-key=".length);
  }
  return undefined;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const output = new Output(jsonRequested(argv), [secretKeyFlag(argv), process.env.CLERK_SECRET_KEY]);
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    // A closed pipe (`| head`) is not our failure.
    if (error.code === "EPIPE") process.exit(process.exitCode ?? EXIT.ok);
    throw error;
  });
  try {
    process.exitCode = EXIT[await run(await interpret(argv), output)];
  } catch (error) {
    output.error(error);
    process.exitCode = EXIT[failureOutcome(error)];
  }
}

await main();
