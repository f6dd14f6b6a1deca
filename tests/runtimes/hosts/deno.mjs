// Deno: the package imported by name from a project's node_modules (package.json + node_modules,
// Deno's "manual" node_modules mode), configured explicitly with Deno.env (no process.env needed).
// Usage (run.mjs): deno run --node-modules-dir=manual --no-remote --no-lock --allow-net=127.0.0.1 --allow-env
//   --allow-read deno.mjs <userId> <missingId>   -> prints "RESULT <json>"
import { createClerkMetadataClient, ClerkMetadataError } from "clerk-metadata-wasm";
// The other way Deno users name it: an `npm:` specifier, served from the same node_modules.
import * as viaNpmSpecifier from "npm:clerk-metadata-wasm";
import { runScenario } from "./scenario.mjs";

const [userId, missingId] = Deno.args;
const client = createClerkMetadataClient({
  secretKey: Deno.env.get("CLERK_SECRET_KEY"),
  apiUrl: Deno.env.get("CLERK_API_URL"),
});
const result = await runScenario({ fns: client, ErrorClass: ClerkMetadataError, userId, missingId });
const npmSpecifierSameModule = viaNpmSpecifier.createClerkMetadataClient === createClerkMetadataClient;
const entry = import.meta.resolve("clerk-metadata-wasm");
console.log(`RESULT ${JSON.stringify({ host: `deno ${Deno.version.deno}`, entry, npmSpecifierSameModule, result })}`);
