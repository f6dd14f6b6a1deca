/**
 * clerk-metadata-wasm/redis: Clerk's rate limits shared by every process that points at one Redis.
 */
export {};
