/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as clerkJobs from "../clerkJobs.js";
import type * as clerkMirror from "../clerkMirror.js";
import type * as examples from "../examples.js";
import type * as http from "../http.js";
import type * as permissions from "../permissions.js";
import type * as scale from "../scale.js";
import type * as users from "../users.js";
import type * as utils_clerk from "../utils/clerk.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  clerkJobs: typeof clerkJobs;
  clerkMirror: typeof clerkMirror;
  examples: typeof examples;
  http: typeof http;
  permissions: typeof permissions;
  scale: typeof scale;
  users: typeof users;
  "utils/clerk": typeof utils_clerk;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;

export declare const components: {
  clerkRateLimiter: import("@convex-dev/rate-limiter/_generated/component.js").ComponentApi<"clerkRateLimiter">;
  clerkWorkpool: import("@convex-dev/workpool/_generated/component.js").ComponentApi<"clerkWorkpool">;
};
