// A Vercel Edge function in the edge-runtime's service-worker form, bundled by run.mjs the way
// Next.js/Vercel bundle edge code (conditions edge-light, worker, browser) into one script, then
// evaluated in the `edge-runtime` package's EdgeVM (hosts/edge-host.cjs). The key comes from
// process.env as the edge sandbox provides it, passed explicitly to the factory.
// GET /?user=<userId>&missing=<missingId>  -> JSON { host, result }
import { createClerkMetadataClient, ClerkMetadataError } from "clerk-metadata-wasm";
import { runScenario } from "./scenario.mjs";

addEventListener("fetch", (event) => {
  event.respondWith(handle(event.request));
});

async function handle(request) {
  const url = new URL(request.url);
  try {
    const client = createClerkMetadataClient({
      secretKey: process.env.CLERK_SECRET_KEY,
      apiUrl: process.env.CLERK_API_URL,
    });
    const result = await runScenario({
      fns: client,
      ErrorClass: ClerkMetadataError,
      userId: url.searchParams.get("user"),
      missingId: url.searchParams.get("missing"),
    });
    // Vercel's edge runtimes define the global EdgeRuntime (a string).
    return Response.json({ host: typeof EdgeRuntime === "string" ? EdgeRuntime : "no EdgeRuntime global", result });
  } catch (error) {
    return Response.json({ error: String(error?.stack ?? error) }, { status: 500 });
  }
}
