// A Cloudflare Worker (ES module syntax), bundled by run.mjs the way wrangler bundles: esbuild,
// format esm, conditions workerd/worker/browser, `.wasm` imports kept as wasm modules. The secret
// key and API URL come from the Worker's env bindings (text bindings in config.capnp), not
// process.env (there is none without nodejs_compat).
// GET /?user=<userId>&missing=<missingId>  -> JSON { bytesCompileRefused, hasProcess, result }
import { bytesCompileRefused } from "./no-wasm-codegen.mjs";
import { createClerkMetadataClient, ClerkMetadataError } from "clerk-metadata-wasm";
import { runScenario } from "./scenario.mjs";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.searchParams.has("slow")) {
      // After an earlier request has come and gone: a deadline must still fire here (a timer in
      // workerd dies with the request that set it, so none can be shared across requests).
      const client = createClerkMetadataClient({ secretKey: env.CLERK_SECRET_KEY, apiUrl: env.CLERK_API_URL, timeoutMs: 300, maxRetries: 0 });
      const started = Date.now();
      const code = await client.getUserPublicMetadata(url.searchParams.get("slow")).then(
        () => "ok",
        (error) => error.code,
      );
      return Response.json({ code, ms: Date.now() - started });
    }
    try {
      const client = createClerkMetadataClient({ secretKey: env.CLERK_SECRET_KEY, apiUrl: env.CLERK_API_URL });
      const result = await runScenario({
        fns: client,
        ErrorClass: ClerkMetadataError,
        userId: url.searchParams.get("user"),
        missingId: url.searchParams.get("missing"),
      });
      return Response.json({
        bytesCompileRefused: bytesCompileRefused(),
        hasProcess: typeof globalThis.process !== "undefined",
        result,
      });
    } catch (error) {
      return Response.json({ error: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
