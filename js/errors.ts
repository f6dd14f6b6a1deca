/**
 * The error every failure is: `ClerkMetadataError`, its codes, and the brand that lets
 * `instanceof` hold across copies of the package. Built by the wasm core (it is handed the class).
 */

/** The operation named in an error. */
export type MetadataOperation =
  | "update"
  | "get"
  | "merge"
  | "removeKeys"
  | "setKey"
  | "setKeys"
  | "getKey"
  | "hasKey"
  | "clear"
  | "listUsers";

/** Codes set by this package itself (`unknown`: a batch item failed with something not ours). */
export type ClerkMetadataOwnErrorCode =
  | "missing_secret_key"
  | "invalid_secret_key"
  | "invalid_api_url"
  | "invalid_argument"
  | "browser_not_allowed"
  | "network_error"
  | "timeout"
  | "aborted"
  | "invalid_response"
  | "unexpected_redirect"
  | "unknown";

/**
 * Clerk's own codes that these endpoints are documented to answer with (Backend API errors),
 * plus `http_<status>`, which this package sets when Clerk's body carried no code.
 */
export type ClerkApiErrorCode =
  | "resource_not_found"
  | "too_many_requests"
  | "clerk_key_invalid"
  | "authorization_header_format_invalid"
  | "authorization_invalid"
  | "authentication_invalid"
  | "api_version_invalid"
  | "form_param_unknown"
  | "form_param_missing"
  | "form_param_format_invalid"
  | "form_param_value_invalid"
  | "form_param_exceeds_allowed_size"
  | "request_body_invalid"
  | "request_body_too_large"
  | "method_not_allowed"
  | "internal_clerk_error"
  | "request_failed"
  | `http_${number}`;

/**
 * An error's `code`: ours, or Clerk's.
 *
 * A closed union on purpose, so that `err.code === "invalid_agument"` (a typo) fails to compile
 * ("no overlap") while `err.code === "resource_not_found"` compiles. An open member such as
 * `string & {}` or a branded `string & { readonly brand: … }` would let Clerk's future codes in,
 * but TypeScript deems any `string & X` comparable to every string literal, so it would let every
 * typo in too. The price: Clerk may send a code not listed here at run time; compare such a code
 * as a string (`(err.code as string) === "some_new_code"`), and do not treat a `switch` over
 * these codes as exhaustive.
 */
export type ClerkMetadataErrorCode = ClerkMetadataOwnErrorCode | ClerkApiErrorCode;

/** One entry of Clerk's `errors` array, camelCased as `@clerk/backend` does. */
export interface ClerkApiErrorEntry {
  code: string;
  message: string;
  longMessage?: string;
  meta?: Record<string, unknown>;
}

/** Fields of a {@link ClerkMetadataError}. */
export interface ClerkMetadataErrorFields {
  code: ClerkMetadataErrorCode;
  operation?: MetadataOperation;
  status?: number;
  clerkTraceId?: string;
  retryAfter?: number;
  errors?: readonly ClerkApiErrorEntry[];
  attempts?: number;
  outcomeUnknown?: boolean;
}

/** The brand every `ClerkMetadataError` carries on its prototype, shared by every copy of the package. */
const ERROR_BRAND = Symbol.for("clerk-metadata-wasm.ClerkMetadataError");

/**
 * Every failure of this package. Its message follows the original module:
 * `Failed to <operation> user metadata: <reason>`; branch on `code` and `status`, not the text.
 *
 * `instanceof` works across copies of the package. One process can load two: the `require` copy
 * (dist/index.cjs) and the `import` copy (dist/index.mjs), or two installed versions. Each has
 * its own class, so plain `instanceof` would fail for an error thrown by the other. Instead the
 * prototype carries a global brand, `Symbol.for("clerk-metadata-wasm.ClerkMetadataError")`, and
 * `ClerkMetadataError[Symbol.hasInstance]` checks that brand, so `error instanceof
 * ClerkMetadataError` holds for an error from any copy. Subclasses keep plain semantics:
 * `instanceof MySubclass` is the ordinary prototype-chain test. `isClerkMetadataError(value)` is
 * the same check as a function.
 */
export class ClerkMetadataError extends Error {
  /** True for an error of any copy of this package (see the class comment); plain for subclasses. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== ClerkMetadataError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isClerkMetadataError(value);
  }

  static {
    Object.defineProperty(this.prototype, ERROR_BRAND, { value: true });
  }

  override readonly name = "ClerkMetadataError";
  /** Clerk's code (`resource_not_found`, `too_many_requests`, …) or ours (`missing_secret_key`, …). */
  readonly code: ClerkMetadataErrorCode;
  /** Which operation failed. */
  readonly operation: MetadataOperation | undefined;
  /** The HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** Clerk's trace id (`clerk_trace_id`, else the `cf-ray` header), for Clerk support. */
  readonly clerkTraceId: string | undefined;
  /** Seconds to wait, from `Retry-After` (429 responses). */
  readonly retryAfter: number | undefined;
  /** Clerk's error entries, as sent. */
  readonly errors: readonly ClerkApiErrorEntry[];
  /** Requests sent for this operation; 0 when it was refused before sending. */
  readonly attempts: number;
  /**
   * A write that may or may not have been applied: it timed out, or its connection dropped,
   * after the body was sent. Read the metadata back to see, or send the write again.
   */
  readonly outcomeUnknown: boolean;

  constructor(message: string, fields: ClerkMetadataErrorFields) {
    super(message);
    this.code = fields.code;
    this.operation = fields.operation;
    this.status = fields.status;
    this.clerkTraceId = fields.clerkTraceId;
    this.retryAfter = fields.retryAfter;
    this.errors = fields.errors ?? [];
    this.attempts = fields.attempts ?? 0;
    this.outcomeUnknown = fields.outcomeUnknown ?? false;
  }

  /** A plain object for logs: every field, never the secret key (no error ever holds it). */
  toJSON(): ClerkMetadataErrorFields & { name: string; message: string } {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      operation: this.operation,
      status: this.status,
      clerkTraceId: this.clerkTraceId,
      retryAfter: this.retryAfter,
      errors: this.errors,
      attempts: this.attempts,
      outcomeUnknown: this.outcomeUnknown,
    };
  }
}

/**
 * Whether `value` is a `ClerkMetadataError` from any copy of this package (the `require` and
 * `import` copies, or another installed version): the same test as `instanceof ClerkMetadataError`.
 */
export function isClerkMetadataError(value: unknown): value is ClerkMetadataError {
  // Inherited, as an instance's is (the prototype itself carries it as its own).
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { [ERROR_BRAND]?: unknown })[ERROR_BRAND] === true &&
    !Object.prototype.hasOwnProperty.call(value, ERROR_BRAND)
  );
}
