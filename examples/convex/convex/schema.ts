// The app's tables: the Clerk user mirror of clerk-metadata-wasm/convex (spread in, so queries
// and mutations read it like any table), the bulk-job tables of the same entry, and the app's own.
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { clerkMetadataTables, clerkUserMirrorTables } from "clerk-metadata-wasm/convex";

export default defineSchema({
  ...clerkUserMirrorTables,
  ...clerkMetadataTables,
  products: defineTable({ storeId: v.string(), name: v.string(), createdBy: v.string() }).index("by_store", ["storeId"]),
});
