// The app's tables: here only the bulk-job tables of clerk-metadata-wasm/convex, spread in.
import { defineSchema } from "convex/server";
import { clerkMetadataTables } from "clerk-metadata-wasm/convex";

export default defineSchema({
  ...clerkMetadataTables,
});
