// Node (ESM) and Bun: `import * as api from "clerk-metadata-wasm"`, the eight top-level functions
// configured from process.env (CLERK_SECRET_KEY, CLERK_API_URL set by run.mjs).
// Usage: node|bun env-module.mjs <userId> <missingId>   -> prints one line "RESULT <json>"
import * as api from "clerk-metadata-wasm";
import { runScenario } from "./scenario.mjs";

const [userId, missingId] = process.argv.slice(2);
const result = await runScenario({ fns: api, ErrorClass: api.ClerkMetadataError, userId, missingId });
const host = globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${process.version}`;
console.log(`RESULT ${JSON.stringify({ host, entry: import.meta.resolve("clerk-metadata-wasm"), result })}`);
