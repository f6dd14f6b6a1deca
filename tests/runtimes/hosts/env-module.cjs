// Node (CommonJS): `require("clerk-metadata-wasm")`, the eight top-level functions configured from
// process.env. Usage: node env-module.cjs <userId> <missingId>   -> prints "RESULT <json>"
"use strict";
const api = require("clerk-metadata-wasm");

const [userId, missingId] = process.argv.slice(2);
import("./scenario.mjs")
  .then(({ runScenario }) => runScenario({ fns: api, ErrorClass: api.ClerkMetadataError, userId, missingId }))
  .then((result) => {
    const entry = require.resolve("clerk-metadata-wasm");
    console.log(`RESULT ${JSON.stringify({ host: `node ${process.version}`, entry, result })}`);
  })
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
