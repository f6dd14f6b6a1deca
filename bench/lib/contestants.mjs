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

/** The metadata every merge contestant writes (call `i`): the same shape for all. */
export const mergeBody = (i) => ({ lastSeen: i, prefs: { theme: "dark", lang: "en" } });

/**
 * `write(userId, metadata)` as a contestant writing the users of GET_POOL round-robin, call `i`
 * with `mergeBody(i)`. Each contestant made so sends the same sequence of requests; spreading
 * writes over users keeps them under Clerk's 10 writes / 10 s per user.
 */
export function poolMerge(write) {
  let i = 0;
  return () => {
    const id = GET_POOL[i % GET_POOL.length];
    return write(id, mergeBody(i++));
  };
}

/** `read(userId)` as a contestant reading the users of GET_POOL round-robin. */
export function poolGet(read) {
  let i = 0;
  return () => read(GET_POOL[i++ % GET_POOL.length]);
}

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
  const [get, merge] = seen;
  if (new URL(get.url).pathname !== `/v1/users/${GET_USER}`) throw new Error(`probe: GET went to ${get.url}`);
  // The probe's body shape ({"public_metadata": {...}}), checked so plain fetch sends the same.
  if (!isDeepStrictEqual(JSON.parse(merge.body), { public_metadata: { probe: 1 } })) {
    throw new Error(`probe: unexpected merge body ${merge.body}`);
  }
  return { get, merge };
}

/** Every GET contestant returns the seeded metadata, every merge (one user each) lands. */
async function sanityCheck(gets, merges, client) {
  const expected = seedUsers()[GET_USER].public_metadata;
  for (const [name, fn] of Object.entries(gets)) {
    const got = await fn();
    if (!isDeepStrictEqual(got, expected)) throw new Error(`sanity: ${name} GET returned ${JSON.stringify(got)}`);
  }
  for (const fn of Object.values(merges)) await fn();
  for (const id of MERGE_USERS.slice(0, 3)) {
    const got = await client.getUserPublicMetadata(id);
    if (typeof got.lastSeen !== "number" || got.prefs?.theme !== "dark") throw new Error(`sanity: merge on ${id} did not land`);
  }
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
  const mergeHeaders = wire.merge.headers;
  const mergeUrl = (id) => wire.merge.url.replace(MERGE_USERS[3], id);
  const check = (res) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res;
  };
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
  // One merge of `metadata` into a user, per contestant.
  const patch = async (id, metadata, signal) => {
    const body = JSON.stringify({ public_metadata: metadata });
    await check(await fetch(mergeUrl(id), { method: wire.merge.method, headers: mergeHeaders, body, signal })).json();
  };
  const write = {
    ours: (id, metadata) => client.mergeUserPublicMetadata(id, metadata),
    fetch: (id, metadata) => patch(id, metadata),
    fetchTimeout: (id, metadata) => patch(id, metadata, AbortSignal.timeout(10_000)),
    clerk: async (id, metadata) => {
      await clerk.users.updateUserMetadata(id, { publicMetadata: metadata });
    },
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
    merge: {
      oursTop: poolMerge((id, m) => ours.mergeUserPublicMetadata(id, m)),
      oursDefault: poolMerge((id, m) => defaults.mergeUserPublicMetadata(id, m)),
      fetchTimeout: poolMerge(write.fetchTimeout),
      clerk: poolMerge(write.clerk),
    },
  };
  // One user each, written back to back (bench/run.mjs's sequential merges).
  let n = 0;
  const merge = {
    ours: () => write.ours(MERGE_USERS[0], mergeBody(n++)),
    fetch: () => write.fetch(MERGE_USERS[1], mergeBody(n++)),
    clerk: () => write.clerk(MERGE_USERS[2], mergeBody(n++)),
  };
  // Every merge contestant over the pool (bench/floor.mjs's merges, in both its modes).
  const mergePool = Object.fromEntries(Object.entries(write).map(([k, w]) => [k, poolMerge(w)]));

  await sanityCheck({ ...get, ...getReference, ...getPool }, merge, client);
  return { get, getReference, getPool, merge, mergePool, asUsers, wire, ours, client, clerk };
}
