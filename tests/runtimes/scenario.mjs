// The scenario every runtime runs: the eight functions of convex/utils/clerk.ts, then one call
// that fails (an unknown user), then a merge the server answers with a 307 to another origin,
// which must be refused (unexpected_redirect), not followed, in every runtime. Plain ES2022, no host API, so it runs unchanged in Node, Bun, Deno,
// workerd and Vercel's edge-runtime; each host script (hosts/*) imports the package its own way
// and hands over the eight functions (the module's own, or a configured client's).
//
// The result is JSON-safe (`undefined` becomes "<undefined>"), so a host can print it or return
// it from a fetch handler; run.mjs compares it with EXPECTED_RESULT and checks the requests the
// local server recorded (expectedRequests).

export const UNDEFINED = "<undefined>";

/**
 * The user whose merge run.mjs makes the server redirect (307 to another local server): derived
 * from `userId`, so the host scripts need not pass it.
 */
export const redirectIdFor = (userId) => `${userId}_redirect`;
const safe = (value) => (value === undefined ? UNDEFINED : value);

/**
 * @param {object} o
 * @param {Record<string, Function>} o.fns  the eight functions
 * @param {Function} o.ErrorClass  the package's ClerkMetadataError, from the same import
 * @param {string} o.userId  a seeded user ({ public: { old: true }, private: { keep: "me" } })
 * @param {string} o.missingId  a user the server does not have
 */
export async function runScenario({ fns, ErrorClass, userId, missingId }) {
  const returned = [];
  returned.push(await fns.updateUserPublicMetadata(userId, { role: "admin", prefs: { theme: "dark", n: 1 } }));
  returned.push(await fns.mergeUserPublicMetadata(userId, { prefs: { n: null, lang: "fr" }, tags: ["a", "b"] }));
  returned.push(await fns.setUserPublicMetadataKey(userId, "count", 0));
  returned.push(await fns.removeUserPublicMetadataKeys(userId, ["tags"]));
  const all = await fns.getUserPublicMetadata(userId);
  const count = await fns.getUserPublicMetadataKey(userId, "count");
  const absent = await fns.getUserPublicMetadataKey(userId, "absent");
  const has = [await fns.hasUserPublicMetadataKey(userId, "role"), await fns.hasUserPublicMetadataKey(userId, "nope")];
  returned.push(await fns.clearUserPublicMetadata(userId));
  const cleared = await fns.getUserPublicMetadata(userId);

  let error;
  try {
    const value = await fns.getUserPublicMetadata(missingId);
    error = { resolved: safe(value) };
  } catch (err) {
    error = {
      instanceOfClerkMetadataError: err instanceof ErrorClass,
      instanceOfError: err instanceof Error,
      name: err?.name,
      code: err?.code,
      status: err?.status,
      operation: err?.operation,
      message: err?.message,
      attempts: err?.attempts,
      errorsCodes: Array.isArray(err?.errors) ? err.errors.map((e) => e.code) : "not an array",
      toJSONCode: typeof err?.toJSON === "function" ? err.toJSON().code : "no toJSON",
    };
  }

  let redirect;
  try {
    await fns.mergeUserPublicMetadata(redirectIdFor(userId), { redirected: true });
    redirect = { resolved: true };
  } catch (err) {
    redirect = {
      instanceOfClerkMetadataError: err instanceof ErrorClass,
      code: err?.code,
      status: err?.status,
      operation: err?.operation,
    };
  }
  return { returned: returned.map(safe), all, count: safe(count), absent: safe(absent), has, cleared, error, redirect };
}

/** What every runtime must return. */
export const EXPECTED_RESULT = {
  returned: [UNDEFINED, UNDEFINED, UNDEFINED, UNDEFINED, UNDEFINED],
  all: { role: "admin", prefs: { theme: "dark", lang: "fr" }, count: 0 },
  count: 0,
  absent: UNDEFINED,
  has: [true, false],
  cleared: {},
  error: {
    instanceOfClerkMetadataError: true,
    instanceOfError: true,
    name: "ClerkMetadataError",
    code: "resource_not_found",
    status: 404,
    operation: "get",
    message: "Failed to get user metadata: User not found",
    attempts: 1,
    errorsCodes: ["resource_not_found"],
    toJSONCode: "resource_not_found",
  },
  redirect: { instanceOfClerkMetadataError: true, code: "unexpected_redirect", status: 307, operation: "merge" },
};

/** The requests the scenario sends for `userId` / `missingId` (and the redirect user): [method, path, status, JSON body]. */
export function expectedRequests(userId, missingId) {
  const user = `/v1/users/${userId}`;
  const metadata = `${user}/metadata`;
  return [
    ["PUT", metadata, 200, { public_metadata: { role: "admin", prefs: { theme: "dark", n: 1 } } }],
    ["PATCH", metadata, 200, { public_metadata: { prefs: { n: null, lang: "fr" }, tags: ["a", "b"] } }],
    ["PATCH", metadata, 200, { public_metadata: { count: 0 } }],
    ["PATCH", metadata, 200, { public_metadata: { tags: null } }],
    ["GET", user, 200, undefined], // getUserPublicMetadata
    ["GET", user, 200, undefined], // getUserPublicMetadataKey count
    ["GET", user, 200, undefined], // getUserPublicMetadataKey absent
    ["GET", user, 200, undefined], // hasUserPublicMetadataKey role
    ["GET", user, 200, undefined], // hasUserPublicMetadataKey nope
    ["PUT", metadata, 200, { public_metadata: {} }],
    ["GET", user, 200, undefined],
    ["GET", `/v1/users/${missingId}`, 404, undefined],
    ["PATCH", `/v1/users/${redirectIdFor(userId)}/metadata`, 307, { public_metadata: { redirected: true } }], // refused, not followed
  ];
}
