// Without any augmentation: any keys, any values, reads typed as `{ [key: string]: unknown }`.
import {
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
const client = createClerkMetadataClient();

export async function anything(input: Record<string, unknown>, key: string): Promise<void> {
  await updateUserPublicMetadata(id, { role: "superuser", n: 1, nested: { a: [1, null] } });
  await updateUserPublicMetadata(id, input);
  await mergeUserPublicMetadata(id, { role: null, x: { y: null } });
  await mergeUserPublicMetadata(id, input);
  await removeUserPublicMetadataKeys(id, ["anything", key]);
  await setUserPublicMetadataKey(id, "role", 42);
  await setUserPublicMetadataKey(id, key, { deep: true });
  await client.setUserPublicMetadataKeys(id, input);
  for (const field of [client.public, client.private, client.unsafe]) {
    await field.replace(id, input);
    await field.merge(id, { a: null });
    await field.setKey(id, key, undefined);
    await field.setKeys(id, { a: 1, b: "c" });
    await field.removeKeys(id, [key]);
    await field.mergeMany([{ userId: id, metadata: input }]);
    await field.setKeysMany([{ userId: id, entries: input }]);
    await field.removeKeysMany([{ userId: id, keys: ["a"] }]);
  }
  const all: { [key: string]: unknown } = await getUserPublicMetadata(id);
  const role: unknown = all["role"];
  const value: unknown = await getUserPublicMetadataKey(id, key);
  const typed = await getUserPublicMetadata<{ role?: string }>(id);
  const r: string | undefined = typed.role;
  const deprecated: PublicMetadata = all;
  const priv: Record<string, unknown> = await client.private.get(id);
  void [role, value, r, deprecated, priv];
}
