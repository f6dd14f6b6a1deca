/**
 * The app's public-metadata shape, declared Clerk's way: by augmenting the global
 * `UserPublicMetadata` interface, which clerk-metadata-wasm (and `@clerk/backend`) check reads and
 * writes against (`metadata?.permissions` is `string[] | undefined`, so `.includes(...)`
 * type-checks under `strict`; `setUserPublicMetadataKey(id, "role", "root")` does not compile).
 * Types only: nothing here is checked at run time, and every key stays optional because Clerk may
 * hold anything. (A `.d.ts` with two dots in its name: Convex never bundles it.)
 */
export {};

declare global {
  interface UserPublicMetadata {
    role?: "customer" | "store_owner" | "admin";
    permissions?: string[];
    roleAssignedAt?: number;
    storeId?: string;
    verified?: boolean;
    preferences?: Record<string, unknown>;
    lastPreferencesUpdate?: number;
    updatedAt?: number;
    /** Keys the app no longer writes; `cleanupUserMetadata` removes them. */
    temporaryData?: unknown;
    oldPreferences?: unknown;
    debugInfo?: unknown;
  }
}
