/**
 * Fault injection for the local server: the queue of fault rules, and how each fault is produced
 * on the wire. Faults stand in for what real networks and proxies do to a request (drops, stalls,
 * late or reordered answers, redirects, broken bodies), so a client can be tested against them
 * without mocking fetch.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Fault, FaultRule, RecordedRequest } from "../testing.js";
import { corsHeaders, defaultErrorFor, sendReply, traceId } from "./routes.js";
import type { Reply } from "./routes.js";

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const DEFAULT_CHUNK_INTERVAL_MS = 50;

/** Fault rules in insertion order; the first rule matching a request is used up by it. */
export class FaultQueue {
  private rules: Array<{ rule: FaultRule; left: number }> = [];

  /** Throws (RangeError/TypeError) on a rule that could not be produced as documented. */
  add(rule: FaultRule): void {
    const times = rule.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new RangeError("injectFault: times must be a positive integer");
    checkFault(rule.fault);
    this.rules.push({ rule: { ...rule }, left: times });
  }

  take(method: string, path: string): Fault | undefined {
    const i = this.rules.findIndex(
      ({ rule }) =>
        (rule.method === undefined || rule.method.toUpperCase() === method) &&
        (rule.pathIncludes === undefined || path.includes(rule.pathIncludes)),
    );
    const entry = this.rules[i];
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.rules.splice(i, 1);
    return entry.rule.fault;
  }

  clear(): void {
    this.rules = [];
  }
}

const isDelay = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** Checks the fields of the kinds whose timing a typo would silently break. */
function checkFault(fault: Fault): void {
  switch (fault.kind) {
    case "apply-late":
      if (!isDelay(fault.applyAfterMs)) throw new RangeError("injectFault: applyAfterMs must be a finite number ≥ 0");
      if (fault.respondAfterMs !== undefined && !(isDelay(fault.respondAfterMs) && fault.respondAfterMs >= fault.applyAfterMs)) {
        // The answer is the result of applying the request, so it cannot leave before that.
        throw new RangeError("injectFault: respondAfterMs must be a finite number ≥ applyAfterMs");
      }
      return;
    case "respond-late":
      if (!isDelay(fault.ms)) throw new RangeError("injectFault: ms must be a finite number ≥ 0");
      return;
    case "redirect":
      if (!REDIRECT_STATUSES.has(fault.status)) throw new RangeError("injectFault: a redirect status is 301, 302, 303, 307 or 308");
      if (typeof fault.location !== "string") throw new TypeError("injectFault: location must be a string");
      return;
    case "endless-body":
      if (fault.chunkIntervalMs !== undefined && !(isDelay(fault.chunkIntervalMs) && fault.chunkIntervalMs > 0)) {
        throw new RangeError("injectFault: chunkIntervalMs must be a finite number > 0");
      }
      return;
    default:
      return;
  }
}

/**
 * The timers faults start. `close()` cancels them all: pending sleeps resolve at once (their
 * handlers see `closed` and stop, so nothing late is applied) and intervals stop, so a closed
 * server keeps nothing alive.
 */
export class FaultTimers {
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private readonly intervals = new Set<NodeJS.Timeout>();
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  sleep(ms: number): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      this.sleepers.set(timer, resolve);
    });
  }

  /** Calls `fn` every `ms` until the returned stop function (or close) is called. */
  every(ms: number, fn: () => void): () => void {
    const timer = setInterval(fn, ms);
    this.intervals.add(timer);
    return () => {
      clearInterval(timer);
      this.intervals.delete(timer);
    };
  }

  close(): void {
    this.isClosed = true;
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
    for (const timer of this.intervals) clearInterval(timer);
    this.intervals.clear();
  }
}

/** What producing a fault needs from the server, for one fully received request. */
export interface FaultContext {
  req: IncomingMessage;
  res: ServerResponse;
  rec: RecordedRequest;
  cors: boolean;
  timers: FaultTimers;
  now: () => number;
  /** Clerk's normal answer, decided (and any write committed) as of time `t`. */
  answer: (t: number) => Reply;
}

/** Produce `fault` instead of (or around) the normal answer. */
export async function produceFault(fault: Fault, ctx: FaultContext): Promise<void> {
  switch (fault.kind) {
    case "delay":
      await ctx.timers.sleep(fault.ms);
      // Handled as of arrival, as if the wait had been on the way in.
      if (!gone(ctx)) send(ctx, ctx.answer(ctx.rec.at));
      return;
    case "apply-late":
      return applyLate(ctx, fault.applyAfterMs, fault.respondAfterMs ?? fault.applyAfterMs);
    case "respond-late": {
      const reply = ctx.answer(ctx.rec.at);
      await ctx.timers.sleep(fault.ms);
      if (!gone(ctx)) send(ctx, reply);
      return;
    }
    case "status":
      send(ctx, statusReply(fault));
      return;
    case "redirect":
      ctx.rec.status = fault.status;
      ctx.res.writeHead(fault.status, { location: fault.location, "content-length": "0", ...corsHeaders(ctx.cors) });
      ctx.res.end();
      return;
    case "reset":
      ctx.rec.status = 0;
      resetSocket(ctx.req.socket);
      return;
    case "reset-mid-body":
      resetMidBody(ctx);
      return;
    case "truncated-json":
      send(ctx, { status: 200, body: TRUNCATED_USER });
      return;
    case "empty-body":
      send(ctx, { status: fault.status ?? 200, body: "" });
      return;
    case "huge-body":
      hugeBody(ctx, Math.max(0, Math.floor(fault.bytes)));
      return;
    case "endless-body":
      endlessBody(ctx, fault.chunkIntervalMs ?? DEFAULT_CHUNK_INTERVAL_MS);
      return;
  }
}

/** The server was closed, or the client went away: nobody is left to answer. */
function gone(ctx: FaultContext): boolean {
  return ctx.timers.closed || ctx.res.destroyed;
}

function send(ctx: FaultContext, reply: Reply): void {
  sendReply(ctx.res, ctx.rec, reply, ctx.cors);
}

/**
 * A request that reached Clerk but lands late: applied `applyAfterMs` after arrival whether or
 * not the client is still connected (an aborted fetch does not unsend a request), answered at
 * `respondAfterMs` only if the connection is still open. Checks run at application time, as for
 * any write (a user deleted meanwhile gets 404).
 */
async function applyLate(ctx: FaultContext, applyAfterMs: number, respondAfterMs: number): Promise<void> {
  await ctx.timers.sleep(applyAfterMs);
  if (ctx.timers.closed) return;
  const reply = ctx.answer(ctx.now());
  if (respondAfterMs > applyAfterMs) await ctx.timers.sleep(respondAfterMs - applyAfterMs);
  if (!gone(ctx)) send(ctx, reply);
}

function statusReply(fault: Extract<Fault, { kind: "status" }>): Reply {
  const provided = fault.body;
  let body: string;
  let contentType: string;
  if (provided === undefined) {
    body = JSON.stringify({ errors: [defaultErrorFor(fault.status)], clerk_trace_id: traceId() });
    contentType = "application/json";
  } else {
    body = provided;
    // Only a guess when the rule gives no content-type header (which then wins).
    contentType = isJsonText(provided)
      ? "application/json"
      : provided.trimStart().startsWith("<")
        ? "text/html; charset=utf-8"
        : "text/plain; charset=utf-8";
  }
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(fault.headers ?? {})) extra[k.toLowerCase()] = v;
  return { status: fault.status, body, headers: { "content-type": contentType, ...extra } };
}

function resetSocket(socket: Socket): void {
  // resetAndDestroy sends a TCP RST (client sees ECONNRESET); plain destroy is the fallback.
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
}

function resetMidBody({ req, res, rec, cors }: FaultContext): void {
  rec.status = 0;
  const full = Buffer.from(TRUNCATED_USER + TRUNCATED_USER, "utf8");
  res.writeHead(200, { "content-type": "application/json", "content-length": String(full.length), ...corsHeaders(cors) });
  // Half a body, then FIN: the client got headers but the body never completes.
  res.write(full.subarray(0, Math.floor(full.length / 2)), () => req.socket.destroy());
}

function hugeBody({ res, rec, cors }: FaultContext, bytes: number): void {
  rec.status = 200;
  const { prefix, padding, suffix } = hugeJsonParts(bytes);
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": String(prefix.length + padding + suffix.length),
    ...corsHeaders(cors),
  });
  // Streamed with back-pressure so a many-megabyte body never sits in memory at once.
  const chunk = Buffer.alloc(Math.min(padding, 64 * 1024), "x");
  let left = padding;
  res.write(prefix);
  const pump = (): void => {
    while (left > 0) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      if (!res.write(part)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end(suffix);
  };
  pump();
}

/**
 * 200 headers (no content-length: chunked), the start of a user object, then padding inside a
 * JSON string forever: a stalled or hostile upstream that a client must time out on.
 */
function endlessBody({ res, rec, cors, timers }: FaultContext, intervalMs: number): void {
  rec.status = 200;
  res.writeHead(200, { "content-type": "application/json", ...corsHeaders(cors) });
  res.write('{"object":"user","id":"user_endless","public_metadata":{"pad":"');
  const padding = "x".repeat(64);
  const stop = timers.every(intervalMs, () => {
    if (res.destroyed || res.writableEnded) stop();
    else res.write(padding);
  });
  res.once("close", stop);
}

/** A user-shaped JSON document of exactly `bytes` bytes (smaller sizes fall back to a string or 0). */
function hugeJsonParts(bytes: number): { prefix: string; padding: number; suffix: string } {
  const prefix = '{"object":"user","id":"user_huge","public_metadata":{"pad":"';
  const suffix = '"},"private_metadata":{},"unsafe_metadata":{}}';
  const fixed = prefix.length + suffix.length;
  if (bytes >= fixed) return { prefix, padding: bytes - fixed, suffix };
  if (bytes >= 2) return { prefix: '"', padding: bytes - 2, suffix: '"' };
  return { prefix: bytes === 1 ? "0" : "", padding: 0, suffix: "" };
}

const TRUNCATED_USER = (() => {
  const full = JSON.stringify({
    object: "user",
    id: "user_truncated",
    public_metadata: { plan: "pro", flags: { beta: true } },
    private_metadata: {},
    unsafe_metadata: {},
    created_at: 0,
    updated_at: 0,
  });
  return full.slice(0, Math.floor(full.length / 2));
})();

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
