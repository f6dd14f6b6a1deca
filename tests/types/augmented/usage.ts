// Writes and reads against the augmented interfaces (augmented/metadata.d.ts). Every wrong write
// carries `@ts-expect-error`, so it must fail to compile or this file fails.
import {
  ClerkMetadataError,
  createClerkMetadataClient,
  getUserPublicMetadata,
  getUserPublicMetadataKey,
  mergeUserPublicMetadata,
  removeUserPublicMetadataKeys,
  setUserPublicMetadataKey,
  updateUserPublicMetadata,
  type PublicMetadata,
} from "clerk-metadata-wasm";

const id = "user_1";
const client = createClerkMetadataClient({ secretKey: undefined, timeoutMs: 5000 });

export async function rightWrites(): Promise<void> {
  await updateUserPublicMetadata(id, { role: "admin", permissions: ["a"], prefs: { lang: "en" } });
  await updateUserPublicMetadata(id, {});
  await mergeUserPublicMetadata(id, { role: "user" });
  await mergeUserPublicMetadata(id, { role: null, prefs: { theme: null } });
  await mergeUserPublicMetadata(id, { prefs: { theme: "dark" } });
  await mergeUserPublicMetadata(id, { prefs: null });
  await removeUserPublicMetadataKeys(id, ["role", "prefs"]);
  await removeUserPublicMetadataKeys(id, [] as const);
  await setUserPublicMetadataKey(id, "role", "admin");
  await setUserPublicMetadataKey(id, "prefs", { lang: "fr" });
  await client.setUserPublicMetadataKeys(id, { role: "user", permissions: [] });
  await client.public.setKeys(id, { role: "admin" });
  await client.public.replace(id, { permissions: ["x"] });
  await client.public.mergeMany([{ userId: id, metadata: { role: null } }]);
  await client.private.setKey(id, "stripeId", "cus_1");
  await client.private.merge(id, { stripeId: null });
  await client.private.removeKeys(id, ["stripeId"]);
  await client.unsafe.merge(id, { anything: { goes: 1 } });
  await client.unsafe.setKey(id, "any", [1, "two"], { signal: AbortSignal.timeout(1000) });
}

export async function wrongWrites(): Promise<void> {
  // @ts-expect-error "superuser" is not a role
  await setUserPublicMetadataKey(id, "role", "superuser");
  // @ts-expect-error role is a string
  await mergeUserPublicMetadata(id, { role: 42 });
  // @ts-expect-error permissions is an array
  await updateUserPublicMetadata(id, { permissions: "x" });
  // @ts-expect-error lang is required: a merge may not delete it
  await mergeUserPublicMetadata(id, { prefs: { lang: null } });
  // @ts-expect-error no such key
  await removeUserPublicMetadataKeys(id, ["nope"]);
  // @ts-expect-error stripeId is a string
  await client.private.setKey(id, "stripeId", 1);
  // @ts-expect-error a full replace needs lang inside prefs
  await client.public.replace(id, { prefs: { theme: "dark" } });
  // @ts-expect-error no such key
  await setUserPublicMetadataKey(id, "nope", 1);
  // @ts-expect-error no such key in the private metadata
  await client.private.setKeys(id, { role: "admin" });
  // @ts-expect-error role is not nullable in setKeys (it sets exactly; remove keys to delete)
  await client.public.setKeys(id, { role: null });
}

export async function reads(): Promise<void> {
  const r: "admin" | "user" | undefined = (await getUserPublicMetadata(id)).role;
  const p: string[] | undefined = await getUserPublicMetadataKey(id, "permissions");
  const lang: string | undefined = (await client.public.get(id)).prefs?.lang;
  const s: string | undefined = await client.private.getKey(id, "stripeId");
  const u: unknown = (await client.unsafe.get(id))["anything"];
  const deprecated: PublicMetadata = await getUserPublicMetadata(id);
  // @ts-expect-error no such key
  await getUserPublicMetadataKey(id, "nope");
  // @ts-expect-error role is not a number
  const wrong: number | undefined = (await getUserPublicMetadata(id)).role;
  void [r, p, lang, s, u, deprecated, wrong];
}

export function codes(error: unknown): void {
  if (!(error instanceof ClerkMetadataError)) return;
  if (error.code === "resource_not_found" || error.code === "form_param_unknown") return;
  if (error.code === "invalid_argument" || error.code === "http_404") return;
  // @ts-expect-error a misspelled code of ours
  if (error.code === "invalid_agument") return;
  // @ts-expect-error not an http_<status> code
  if (error.code === "http_x") return;
  const text: string = error.code;
  void text;
}
