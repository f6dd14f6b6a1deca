// Calls the handlers of bundled Convex actions, in order, and reports each outcome as plain JSON.
//
// Used two ways by convex-bundle.test.mjs:
//  - as a program, in a fresh Node process: `node run-actions.mjs <bundled module.js>` with the
//    calls as JSON on stdin; it prints one line `RESULTS <json>` (the Node-runtime bundle);
//  - as a module (`runCalls`), against the exports of the default-runtime bundle loaded in a vm.
import { pathToFileURL } from "node:url";

/**
 * @param {Record<string, { handler: (ctx: unknown, args: unknown) => Promise<unknown> }>} exports
 * @param {{ action: string, args: Record<string, unknown> }[]} calls
 * @param {(args: Record<string, unknown>) => unknown} [makeArgs] builds each call's arguments (in
 *   the realm of the code under test, for a vm)
 */
export async function runCalls(exports, calls, makeArgs = (args) => args) {
  const results = [];
  for (const { action, args } of calls) {
    const fn = exports[action];
    if (fn === undefined || typeof fn.handler !== "function") {
      results.push({ action, ok: false, error: { name: "Missing", message: `no action ${action}` } });
      continue;
    }
    try {
      const value = await fn.handler({}, makeArgs(args));
      // Convex returns undefined as null; JSON keeps it that way across the process boundary.
      results.push({ action, ok: true, value: value === undefined ? null : value });
    } catch (error) {
      results.push({
        action,
        ok: false,
        error: {
          name: error?.name,
          message: error?.message,
          code: error?.code,
          status: error?.status,
          operation: error?.operation,
        },
      });
    }
  }
  // Round-trip through JSON: values from a vm realm become plain host objects, as Convex would
  // serialize them, so the test compares both runtimes the same way.
  return JSON.parse(JSON.stringify(results));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const modulePath = process.argv[2];
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const calls = JSON.parse(input);
  const exports = await import(pathToFileURL(modulePath).href);
  const results = await runCalls(exports, calls);
  process.stdout.write(`RESULTS ${JSON.stringify(results)}\n`);
}
