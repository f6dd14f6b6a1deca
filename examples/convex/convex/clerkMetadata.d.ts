/**
 * The app's public-metadata shape, merged into clerk-metadata-wasm's `PublicMetadata` so reads are
 * typed (`metadata?.permissions` is `string[] | undefined`, so `.includes(...)` type-checks under
 * `strict`). Types only: nothing here is checked at run time, and every key stays optional because
 * Clerk may hold anything. (A `.d.ts` with two dots in its name: Convex never bundles it.)
 */
export {};

declare module "clerk-metadata-wasm" {
  interface PublicMetadata {
    role?: "customer" | "store_owner" | "admin";
    permissions?: string[];
    roleAssignedAt?: number;
    storeId?: string;
    verified?: boolean;
    preferences?: Record<string, unknown>;
    lastPreferencesUpdate?: number;
    updatedAt?: number;
  }
}
