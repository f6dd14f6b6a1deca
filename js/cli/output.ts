/**
 * What the command-line tool writes: results on stdout, failures on stderr (a line of text, or
 * one JSON object with --json), batch results and their progress bar, and how failures are
 * classified. The exit code of each class is chosen in ../cli.ts.
 */
import { openSync, writeSync, closeSync } from "node:fs";
import { ClerkMetadataError } from "../index.js";

export const NAME = "clerk-metadata-wasm";

/** How a run ended; ../cli.ts maps each to its documented exit code. */
export type Outcome = "ok" | "hasFalse" | "itemsFailed" | "usage" | "notFound" | "refused" | "api" | "network" | "interrupted";

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

/** Why a file could not be read or written, in words. */
export function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES") return "permission denied";
  return code ?? "failed";
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

/** One item of merge-many or set-many, as it ended. `index` counts items (non-blank lines) from 0. */
export interface BatchRecord {
  index: number;
  /** The line of the input it came from, from 1. */
  line: number;
  userId: string | null;
  status: "ok" | "error" | "skipped";
  error?: unknown;
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

  /** A line for a person on stderr; --json keeps stderr for failures only. */
  notice(message: string): void {
    if (!this.json) process.stderr.write(`${NAME}: ${this.redact(message)}\n`);
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

  /** Where merge-many and set-many write their results: stdout, or the --results file. */
  batch(command: string, total: number, resultsPath: string | undefined): BatchSink {
    let fd: number | undefined;
    if (resultsPath !== undefined) {
      try {
        fd = openSync(resultsPath, "w");
      } catch (error) {
        throw usageError(`cannot write --results ${JSON.stringify(resultsPath)}: ${fsReason(error)}`);
      }
    }
    return new BatchSink(this, command, total, fd);
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

/**
 * Batch results as JSON Lines, in input order: each is written as soon as every item before it
 * has ended, so a long run's results arrive while it runs and still read in order.
 */
export class BatchSink {
  private readonly lines: (string | undefined)[];
  private next = 0;
  private done = 0;
  private readonly progress: Progress | undefined;
  private readonly failedLines: number[] = [];

  constructor(
    private readonly output: Output,
    private readonly command: string,
    private readonly total: number,
    private readonly fd: number | undefined,
  ) {
    this.lines = new Array(total);
    // A bar is for a person watching; piped or redirected, stderr gets none.
    this.progress = process.stderr.isTTY ? new Progress(command, total) : undefined;
  }

  /** Records an item once; a second report of the same item is ignored. */
  record(record: BatchRecord): void {
    if (record.index < this.next || this.lines[record.index] !== undefined) return;
    const { error, ...rest } = record;
    const line = error === undefined ? rest : { ...rest, error: this.output.fields(error) };
    this.lines[record.index] = `${JSON.stringify(line)}\n`;
    this.done += 1;
    if (record.status === "error") this.failedLines.push(record.line);
    this.progress?.draw(this.done, this.failedLines.length);
    for (let text = this.lines[this.next]; text !== undefined; text = this.lines[this.next]) {
      if (this.fd === undefined) process.stdout.write(text);
      else writeSync(this.fd, text);
      this.lines[this.next] = undefined;
      this.next += 1;
    }
  }

  /** Ends the bar and the file. */
  close(): void {
    this.progress?.clear();
    if (this.fd !== undefined) closeSync(this.fd);
  }

  /** In text mode, which lines failed, if any. */
  summary(): void {
    const failed = this.failedLines.length;
    if (failed === 0) return;
    const lines = [...this.failedLines].sort((a, b) => a - b);
    const shown = lines.slice(0, 10).join(", ") + (lines.length > 10 ? ", …" : "");
    this.output.notice(`${this.command}: ${failed} of ${this.total} items failed (line${failed > 1 ? "s" : ""} ${shown})`);
  }

  /** Items that ended in an error (skipped ones are not counted). */
  get failed(): number {
    return this.failedLines.length;
  }
}

/** A one-line progress bar on stderr, redrawn at most every 100 ms. */
class Progress {
  private last = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  draw(done: number, failed: number): void {
    const now = Date.now();
    if (done < this.total && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const failures = failed > 0 ? `, ${failed} failed` : "";
    process.stderr.write(`\r\x1b[2K${this.label} [${bar}] ${done}/${this.total}${failures}`);
  }

  clear(): void {
    process.stderr.write("\r\x1b[2K");
  }
}
