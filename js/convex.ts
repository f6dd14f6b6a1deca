/**
 * clerk-metadata-wasm/convex: Clerk's rate limits shared by every action of a Convex deployment
 * (on `@convex-dev/rate-limiter`), and durable bulk jobs (on `@convex-dev/workpool`).
 */
export {};
