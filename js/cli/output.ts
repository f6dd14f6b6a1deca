/**
 * What the command-line tool writes: results on stdout, failures on stderr (a line of text, or
 * one JSON object with --json), and how failures are classified. The exit code of each class
 * is chosen in ../cli.ts.
 */
import { ClerkMetadataError } from "../index.js";

export const NAME = "clerk-metadata-wasm";

/** How a run ended; ../cli.ts maps each to its documented exit code. */
export type Outcome = "ok" | "hasFalse" | "usage" | "notFound" | "refused" | "api" | "network";

/**
 * A failure the CLI itself detects, with the outcome it maps to and the `code` that --json
 * reports; its message becomes the one stderr line. A `cause` from the package lends its fields.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly outcome: Outcome,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string): CliError => new CliError(message, "usage", "usage_error");

const REFUSED = new Set(["invalid_argument", "missing_secret_key", "invalid_secret_key", "invalid_api_url", "browser_not_allowed"]);
const NETWORK = new Set(["network_error", "timeout", "aborted"]);

/** The class of a failure reported by the package. */
export function outcomeOf(error: ClerkMetadataError): Outcome {
  if (error.code === "resource_not_found" || error.status === 404) return "notFound";
  if (REFUSED.has(error.code)) return "refused";
  if (NETWORK.has(error.code)) return "network";
  return "api";
}

/** The package's message with the fields a person needs to act on it. */
export function describe(error: ClerkMetadataError): string {
  const details: string[] = [];
  if (error.status !== undefined) details.push(`HTTP ${error.status}`);
  if (!error.message.includes(error.code)) details.push(error.code);
  if (error.retryAfter !== undefined) details.push(`retry after ${error.retryAfter} s`);
  if (error.clerkTraceId !== undefined) details.push(`trace ${error.clerkTraceId}`);
  return details.length > 0 ? `${error.message} (${details.join(", ")})` : error.message;
}

/** A failure as --json prints it; every member is always there, null when it does not apply. */
export interface ErrorFields {
  code: string;
  status: number | null;
  clerkTraceId: string | null;
  retryAfter: number | null;
  message: string;
  operation: string | null;
}

/** Results are JSON with a 2-space indent, so they read well and parse as they are. */
export const pretty = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** The process's two streams, as the commands use them. */
export class Output {
  /**
   * `json`: results as one line of JSON each and failures as JSON objects (--json).
   * `secrets`: values never to be printed (the --secret-key flag, $CLERK_SECRET_KEY).
   */
  constructor(
    readonly json: boolean,
    private readonly secrets: readonly (string | undefined)[],
  ) {}

  /** Text as is (help, version). */
  text(text: string): void {
    if (text !== "") process.stdout.write(text);
  }

  /** A command's result. */
  result(value: unknown): void {
    process.stdout.write(this.json ? `${JSON.stringify(value)}\n` : pretty(value));
  }

  /** A failure: one line on stderr, text or (--json) a JSON object. */
  error(error: unknown): void {
    if (this.json) {
      process.stderr.write(`${JSON.stringify(this.fields(error))}\n`);
      return;
    }
    let message: string;
    if (error instanceof CliError) message = error.message;
    else if (error instanceof ClerkMetadataError) message = describe(error);
    else message = `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`${NAME}: ${this.redact(message)}\n`);
  }

  /** A failure's fields for JSON: the package's when it (or the CLI error's cause) is one of its errors. */
  fields(error: unknown): ErrorFields {
    const cause = error instanceof CliError ? error.cause : error;
    const known = cause instanceof ClerkMetadataError ? cause : undefined;
    let code = known?.code ?? "unexpected_error";
    if (error instanceof CliError && known === undefined) code = error.code;
    return {
      code,
      status: known?.status ?? null,
      clerkTraceId: known?.clerkTraceId ?? null,
      retryAfter: known?.retryAfter ?? null,
      message: this.redact(error instanceof Error ? error.message : String(error)),
      operation: known?.operation ?? null,
    };
  }

  /** Replaces anything that could be a secret key, and folds the text onto one line. */
  private redact(message: string): string {
    let text = message;
    for (const secret of this.secrets) {
      if (secret !== undefined && secret.length >= 4) text = text.split(secret).join("[redacted]");
    }
    return text.replace(/\bsk_(?:test|live)_[A-Za-z0-9_-]+/g, "sk_[redacted]").replace(/\s*[\r\n]+\s*/g, " ");
  }
}
