// The contestants: this package (dist/index.mjs), plain fetch sending exactly the request this
// package sends, and @clerk/backend. Each is a `() => Promise` doing one call.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { GET_POOL, GET_USER, MERGE_USERS, seedUsers } from "./server.mjs";

export const NAMES = {
  ours: "clerk-metadata-wasm (client, rateLimit: false)",
  oursTop: "clerk-metadata-wasm, top-level functions (default options)",
  oursDefault: "clerk-metadata-wasm, createClerkMetadataClient (default options)",
  fetch: "plain fetch",
  clerk: "@clerk/backend",
  fetchTimeout: "plain fetch + AbortSignal.timeout",
};

/** What this package puts on the wire, learnt by giving it a recording `fetch` once. */
async function probeRequests(ours, url, secretKey) {
  const seen = [];
  const recording = (input, init) => {
    seen.push({ url: String(input), method: init.method ?? "GET", headers: Object.fromEntries(new Headers(init.headers)), body: init.body });
    return fetch(input, init);
  };
  const probe = ours.createClerkMetadataClient({ secretKey, apiUrl: url, rateLimit: false, fetch: recording, maxRetries: 0 });
  await probe.getUserPublicMetadata(GET_USER);
  await probe.mergeUserPublicMetadata(MERGE_USERS[3], { probe: 1 });
  if (seen.length !== 2) throw new Error(`probe: expected 2 requests, saw ${seen.length}`);
  return { get: seen[0], merge: seen[1] };
}

/**
 * @returns the contestants for GET and merge, and the request shapes the plain-fetch ones copy.
 */
export async function makeContestants({ root, indexPath = join(root, "dist", "index.mjs"), url, secretKey }) {
  const ours = await import(pathToFileURL(indexPath).href);
  const { createClerkClient } = await import("@clerk/backend");
  const client = ours.createClerkMetadataClient({ secretKey, apiUrl: url, rateLimit: false });
  const clerk = createClerkClient({ secretKey, apiUrl: url });
  const wire = await probeRequests(ours, url, secretKey);

  const getUrl = wire.get.url;
  const getInit = { method: "GET", headers: wire.get.headers };
  const expectedGetPath = `/v1/users/${GET_USER}`;
  if (new URL(getUrl).pathname !== expectedGetPath) throw new Error(`probe: GET went to ${getUrl}`);

  const mergeHeaders = wire.merge.headers;
  const mergeUrl = (id) => wire.merge.url.replace(MERGE_USERS[3], id);
  const mergeBody = (i) => ({ lastSeen: i, prefs: { theme: "dark", lang: "en" } });
  // The probe's body shape ({"public_metadata": {...}}), checked so plain fetch sends the same.
  if (!isDeepStrictEqual(JSON.parse(wire.merge.body), { public_metadata: { probe: 1 } })) {
    throw new Error(`probe: unexpected merge body ${wire.merge.body}`);
  }

  const check = (res) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res;
  };
  let n = 0;
  const get = {
    ours: () => client.getUserPublicMetadata(GET_USER),
    fetch: async () => (await check(await fetch(getUrl, getInit)).json()).public_metadata,
    clerk: async () => (await clerk.users.getUser(GET_USER)).publicMetadata,
  };
  // The same GETs over the pool of users, round-robin (for calls in flight together).
  const poolUrls = GET_POOL.map((id) => getUrl.replace(GET_USER, id));
  let p = 0;
  const getPool = {
    ours: () => client.getUserPublicMetadata(GET_POOL[p++ % GET_POOL.length]),
    fetch: async () => (await check(await fetch(poolUrls[p++ % GET_POOL.length], getInit)).json()).public_metadata,
    clerk: async () => (await clerk.users.getUser(GET_POOL[p++ % GET_POOL.length])).publicMetadata,
  };
  const getReference = {
    fetchTimeout: async () =>
      (await check(await fetch(getUrl, { ...getInit, signal: AbortSignal.timeout(10_000) })).json()).public_metadata,
  };
  // As users call it: default options (the rate limiter on, Clerk's limits for an sk_test_ key),
  // through the top-level functions (configured from the environment) and through a client.
  process.env.CLERK_SECRET_KEY = secretKey;
  process.env.CLERK_API_URL = url;
  const defaults = ours.createClerkMetadataClient({ secretKey, apiUrl: url });
  let q = 0;
  const asUsers = {
    get: {
      oursTop: () => ours.getUserPublicMetadata(GET_POOL[q++ % GET_POOL.length]),
      oursDefault: () => defaults.getUserPublicMetadata(GET_POOL[q++ % GET_POOL.length]),
      fetchTimeout: async () =>
        (await check(await fetch(poolUrls[q++ % GET_POOL.length], { ...getInit, signal: AbortSignal.timeout(10_000) })).json()).public_metadata,
      clerk: async () => (await clerk.users.getUser(GET_POOL[q++ % GET_POOL.length])).publicMetadata,
    },
    // Merges go round-robin over the pool too: Clerk allows 10 writes / 10 s per user.
    merge: {
      oursTop: () => ours.mergeUserPublicMetadata(GET_POOL[q++ % GET_POOL.length], mergeBody(n++)),
      oursDefault: () => defaults.mergeUserPublicMetadata(GET_POOL[q++ % GET_POOL.length], mergeBody(n++)),
      fetchTimeout: async () => {
        const res = await fetch(mergeUrl(GET_POOL[q++ % GET_POOL.length]), {
          method: wire.merge.method,
          headers: mergeHeaders,
          body: JSON.stringify({ public_metadata: mergeBody(n++) }),
          signal: AbortSignal.timeout(10_000),
        });
        await check(res).json();
      },
      clerk: async () => {
        await clerk.users.updateUserMetadata(GET_POOL[q++ % GET_POOL.length], { publicMetadata: mergeBody(n++) });
      },
    },
  };
  const merge = {
    ours: () => client.mergeUserPublicMetadata(MERGE_USERS[0], mergeBody(n++)),
    fetch: async () => {
      const res = await fetch(mergeUrl(MERGE_USERS[1]), {
        method: wire.merge.method,
        headers: mergeHeaders,
        body: JSON.stringify({ public_metadata: mergeBody(n++) }),
      });
      await check(res).json();
    },
    clerk: async () => {
      await clerk.users.updateUserMetadata(MERGE_USERS[2], { publicMetadata: mergeBody(n++) });
    },
  };

  // Sanity: every GET contestant returns the seeded metadata, every merge lands.
  const expected = seedUsers()[GET_USER].public_metadata;
  for (const [name, fn] of Object.entries({ ...get, ...getReference, ...getPool })) {
    const got = await fn();
    if (!isDeepStrictEqual(got, expected)) throw new Error(`sanity: ${name} GET returned ${JSON.stringify(got)}`);
  }
  for (const fn of Object.values(merge)) await fn();
  for (const id of MERGE_USERS.slice(0, 3)) {
    const got = await client.getUserPublicMetadata(id);
    if (typeof got.lastSeen !== "number" || got.prefs?.theme !== "dark") throw new Error(`sanity: merge on ${id} did not land`);
  }
  return { get, getReference, getPool, merge, asUsers, wire, ours, client, clerk };
}
