/**
 * Each command as calls to the package's public API. The package is loaded from its own entry
 * at run time (scripts/build.mjs keeps "../index.js" external), so the CLI adds no second copy
 * of the wasm to the package.
 */
import { readFileSync } from "node:fs";
import { ClerkMetadataError, createClerkMetadataClient, type MetadataFieldClient } from "../index.js";
import type { CommandCall, Invocation } from "./args.js";
import { CliError, describe, outcomeOf, type Outcome, type Output } from "./output.js";

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
  const client = createClerkMetadataClient({ secretKey: call.secretKey, apiUrl: call.apiUrl });
  const field: MetadataFieldClient = client[call.kind];
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
      await field.replace(userId, call.value as Record<string, unknown>);
      break;
    case "clear":
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

function version(): string {
  try {
    // dist/cli.mjs sits next to the package root's package.json, in the repository and when installed.
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
