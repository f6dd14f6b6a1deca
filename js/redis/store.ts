/**
 * The limiter's side of Redis: commands raced against a timer, scripts by SHA, and the one error
 * every failure becomes. A dead or stalled Redis must show within `unavailableAfterMs`, never as a
 * hang, and no error may carry the password of the Redis URL.
 */
import { createHash } from "node:crypto";

/** What the limiter needs of a Redis client: node-redis's `sendCommand` (v4 to v6). */
export interface CommandClient {
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
  /** node-redis: false while (re)connecting. A client that lacks it is asked anyway. */
  readonly isReady?: boolean;
}

/** Redis could not be used for this request; the message is safe to show (no password). */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

/** A Lua script, sent by SHA after its first use. */
export interface Script {
  source: string;
  sha: string;
}

export function script(source: string): Script {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/** node-redis's classes for an error reply from the server (as opposed to a broken connection). */
const REPLY_ERRORS = new Set(["ErrorReply", "SimpleError", "BlobError"]);

export interface StoreOptions {
  client: CommandClient;
  /** Where Redis is, for messages: a URL without credentials, or a description. */
  label: string;
  /** Strings to blank out of any message (the URL's password, raw and decoded). */
  secrets: readonly string[];
  unavailableAfterMs: number;
  /** Resolves once our own client's first connection attempt has ended (not set for a host's client). */
  firstAttempt?: Promise<void> | undefined;
  /** Why our own client's last connection attempt failed, if it did. */
  connectError?: (() => string | undefined) | undefined;
}

export class RedisStore {
  /** After a command timed out, Redis is assumed stalled until then (no more timers to wait out). */
  private stalledUntil = 0;
  private readonly options: StoreOptions;

  constructor(options: StoreOptions) {
    this.options = options;
  }

  /** Runs a script, loading it if Redis does not know it yet (NOSCRIPT: first use, or a restart). */
  async eval(code: Script, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.command(["EVALSHA", code.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError) || !/NOSCRIPT/.test(error.message)) throw error;
      return this.command(["EVAL", code.source, ...tail]);
    }
  }

  /** One command, or a RedisUnavailableError within `unavailableAfterMs`. */
  async command(args: readonly string[]): Promise<unknown> {
    const { client, unavailableAfterMs, firstAttempt } = this.options;
    if (Date.now() < this.stalledUntil) throw this.unavailable("it did not answer within unavailableAfterMs");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${unavailableAfterMs} ms`)), unavailableAfterMs);
    });
    try {
      // Our own client's first connection may still be under way: wait for it (bounded by the timer).
      if (client.isReady === false && firstAttempt) await Promise.race([firstAttempt, late]);
      // A client that is not connected is not asked: a host's client with an offline queue would
      // hold the command and run it whenever Redis comes back, long after we gave up on it.
      if (client.isReady === false) {
        const why = this.options.connectError?.();
        throw new Error(why ? `not connected: ${why}` : "not connected");
      }
      return await Promise.race([client.sendCommand(args), late]);
    } catch (error) {
      if (error instanceof Error && /^no answer within/.test(error.message)) this.stalledUntil = Date.now() + unavailableAfterMs;
      throw this.describe(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The error a failure becomes: what happened, where, and nothing secret. */
  private describe(error: unknown): RedisUnavailableError {
    const cause = error instanceof Error ? error.message : String(error);
    const reply = error instanceof Error && REPLY_ERRORS.has(error.constructor.name);
    return reply
      ? new RedisUnavailableError(this.scrub(`Redis at ${this.options.label} refused a command (${cause})`))
      : this.unavailable(cause);
  }

  private unavailable(cause: string): RedisUnavailableError {
    return new RedisUnavailableError(this.scrub(`Redis unreachable at ${this.options.label} (${cause || "no message"})`));
  }

  private scrub(message: string): string {
    let out = message;
    for (const secret of this.options.secrets) if (secret.length > 0) out = out.split(secret).join("***");
    return out;
  }
}

/**
 * `url` without its user name and password, for messages: `redis://host:port/db`. An unparsable
 * URL is not echoed at all (it could be a password pasted in the wrong place).
 */
export function redactUrl(url: string): { label: string; secrets: string[] } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { label: "the configured URL (unparsable)", secrets: [url] };
  }
  const secrets = parsed.password ? [parsed.password, safeDecode(parsed.password)] : [];
  const path = parsed.pathname && parsed.pathname !== "/" ? parsed.pathname : "";
  return { label: `${parsed.protocol}//${parsed.host}${path}`, secrets };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
