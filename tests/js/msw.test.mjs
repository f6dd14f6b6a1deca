// msw (Mock Service Worker) intercepts this package's requests: the package calls the global
// fetch at call time, which msw's Node interceptor replaces. What the README's Testing section says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setupServer } from "msw/node";
import { http, HttpResponse } from "msw";
import { pkg, LOCAL_SECRET_KEY } from "./package-helpers.mjs";

const user = (publicMetadata) => ({ id: "user_1", object: "user", public_metadata: publicMetadata, private_metadata: {}, unsafe_metadata: {} });

test("msw handlers answer the top-level functions and a client", async () => {
  const patches = [];
  const server = setupServer(
    http.get("https://api.clerk.com/v1/users/:id", ({ params }) => HttpResponse.json({ ...user({ role: "admin" }), id: params.id })),
    http.patch("https://api.clerk.com/v1/users/:id/metadata", async ({ request }) => {
      const body = await request.json();
      patches.push({ body, authorization: request.headers.get("authorization") });
      return HttpResponse.json(user(body.public_metadata));
    }),
  );
  server.listen({ onUnhandledRequest: "error" });
  const saved = { key: process.env.CLERK_SECRET_KEY, url: process.env.CLERK_API_URL };
  process.env.CLERK_SECRET_KEY = LOCAL_SECRET_KEY;
  delete process.env.CLERK_API_URL;
  try {
    assert.deepEqual(await pkg.getUserPublicMetadata("user_1"), { role: "admin" });
    await pkg.mergeUserPublicMetadata("user_1", { role: "customer" });
    const client = pkg.createClerkMetadataClient({ secretKey: LOCAL_SECRET_KEY, rateLimit: false });
    assert.equal(await client.getUserPublicMetadataKey("user_1", "role"), "admin");
    assert.deepEqual(patches, [{ body: { public_metadata: { role: "customer" } }, authorization: `Bearer ${LOCAL_SECRET_KEY}` }]);
  } finally {
    server.close();
    if (saved.key === undefined) delete process.env.CLERK_SECRET_KEY;
    else process.env.CLERK_SECRET_KEY = saved.key;
    if (saved.url !== undefined) process.env.CLERK_API_URL = saved.url;
  }
});
