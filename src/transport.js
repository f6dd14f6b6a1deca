// The host half of src/transport.rs: one HTTP exchange over `fetch`, as one call into the host
// and one promise back.
//
// Why this part is JavaScript: every `await` that wasm-bindgen bridges costs two closures (each
// registered with a FinalizationRegistry) and several boundary crossings, and reading a Response
// (status, headers, the body) from Rust is a crossing per field. Done here, a request costs one
// crossing out and one settled promise in, which is most of the distance to a plain `fetch`.
// What to send, when to retry, how long to wait and what an answer means stay in Rust.
//
// Every request is aborted when its deadline passes or the caller's signal fires: the connection
// is closed and the body stops downloading, so a timed-out write cannot land after its retry, and
// nothing keeps a process alive. (An earlier version saved the cost of that by abandoning
// timed-out requests instead, and review showed what that costs: sockets held for up to 300 s,
// bodies still downloading, and writes landing out of order.)
//
// Deadlines come in generations. Exchanges that start within a short window of each other, with
// the same timeout, share one deadline (the window's end plus the timeout) and one
// AbortController, aborted only if one of them is still pending at that deadline: then all of
// them that are still pending are timed out together. Why: Node's AbortController is the
// costliest object of a request, about 10 µs to make (more than all of this package's own work
// on a read), so one per request made the package measurably slower than fetch. What it costs:
// a request may time out up to one window late, and the window is at most 10 ms and at most
// 1/100 of the timeout. Aborting a generation cannot touch a member that already finished: its
// fetch is complete and undici (like any fetch) ignores an abort then. At most 10 exchanges join
// one generation, because each member's fetch adds an abort listener to the shared signal and
// hosts warn past 10. A caller's own signal gets the exchange its own controller, so a caller's
// abort ends that exchange alone.
//
// Why generations share one timer where the host allows it: a timer per request, set and
// cleared, costs Node about 8 µs (its timer list is created and torn down each time). One timer,
// armed for the earliest pending deadline, expires whatever is due and re-arms for the next. It
// keeps the process alive only while an exchange is pending (ref'd then, unref'd when none is).
// That needs ref/unref (Node, Bun) or Deno's refTimer; in workerd a timer dies with the request
// that set it, so there (and in any other host) each exchange sets and clears its own timer and
// has its own controller.

/** Exchanges per generation at most: each adds one abort listener to the shared signal. */
const MAX_MEMBERS = 10;
/** A generation takes members for at most this long (and 1/100 of the timeout at most). */
const MAX_WINDOW_MS = 10;

/** The generation still taking members, by timeout. */
const open = new Map();
/** Generations with pending members, under the shared timer. */
const due = new Set();
let timer;
let timerAt = Infinity;
/** Whether the shared timer currently keeps the process alive. */
let held = false;
/** `undefined` until the first timer shows what the host's timers can do. */
let shareTimer;

const isDeno = () => typeof Deno === "object" && Deno !== null && typeof Deno.unrefTimer === "function";

const newController = () => (typeof AbortController === "function" ? new AbortController() : undefined);

function arm(at) {
  if (at >= timerAt) return;
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  // Past 2^31 - 1 ms a host fires at once (Node warns): wake then, and re-arm for the rest.
  timer = setTimeout(requestTimeouts, Math.min(2147483647, Math.max(0, at - Date.now())));
  held = true;
}

/** Toggled, not re-created, as exchanges come and go. */
function hold(on) {
  if (held === on || timer === undefined) return;
  held = on;
  if (isDeno()) {
    if (on) Deno.refTimer(timer);
    else Deno.unrefTimer(timer);
  } else if (on) timer.ref();
  else timer.unref();
}

function requestTimeouts() {
  timer = undefined;
  timerAt = Infinity;
  held = false;
  const now = Date.now();
  let next = Infinity;
  for (const generation of due) {
    if (generation.deadline <= now) {
      // Every member still pending is timed out first, then the shared controller aborted once:
      // no member sees the abort as a network error.
      for (const entry of generation.pending) entry.expire();
      due.delete(generation);
      if (generation.controller) generation.controller.abort();
    } else if (generation.deadline < next) next = generation.deadline;
  }
  if (next !== Infinity) arm(next);
}

/** Past this many timeouts in `open`, closed generations with nothing pending are dropped. */
const MAX_OPEN = 16;

/** The generation an exchange starting `now` with `timeoutMs` joins. */
function join(timeoutMs, now) {
  let generation = open.get(timeoutMs);
  if (generation === undefined || now >= generation.closesAt || generation.members >= MAX_MEMBERS) {
    // One entry per timeout value stays for the next exchange to join; clients whose timeout
    // varies call after call would otherwise leave one behind for every value.
    if (open.size >= MAX_OPEN) {
      for (const [key, old] of open) if (now >= old.closesAt && old.pending.size === 0) open.delete(key);
    }
    const window = Math.min(MAX_WINDOW_MS, timeoutMs / 100);
    generation = { closesAt: now + window, deadline: now + window + timeoutMs, members: 0, pending: new Set(), controller: undefined };
    open.set(timeoutMs, generation);
  }
  generation.members += 1;
  return generation;
}

/**
 * Puts the exchange under a deadline: its own timer and controller, or a generation's. Sets
 * `entry.controller` (what its fetch is aborted with; `undefined` where the host has no
 * AbortController) and returns what to call when the exchange is over.
 */
function startDeadline(entry, timeoutMs, now) {
  if (shareTimer === undefined) {
    const probe = setTimeout(() => {}, 0);
    shareTimer = isDeno() || (typeof probe === "object" && probe !== null && typeof probe.unref === "function");
    clearTimeout(probe);
  }
  if (!shareTimer) {
    if (entry.controller === undefined) entry.controller = entry.own = newController();
    const own = setTimeout(function requestTimeout() {
      entry.expire();
    }, timeoutMs);
    return () => clearTimeout(own);
  }
  const generation = join(timeoutMs, now);
  if (entry.controller === undefined) {
    if (generation.controller === undefined) generation.controller = newController();
    entry.controller = generation.controller;
  }
  generation.pending.add(entry);
  due.add(generation);
  arm(generation.deadline);
  hold(true);
  return () => {
    generation.pending.delete(entry);
    if (generation.pending.size === 0) {
      due.delete(generation);
      if (due.size === 0) hold(false);
    }
  };
}

/** A `\u` escape of a surrogate: the core refuses a lone one, JSON.parse does not. */
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/**
 * Whether `text` has more than `maxDepth` opening brackets (in strings too): only then can it
 * nest too deeply, and a typical user has a dozen. Counted with the host's native search.
 */
function manyBrackets(text, maxDepth) {
  let count = 0;
  for (const bracket of ["[", "{"]) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) {
      if (++count > maxDepth) return true;
    }
  }
  return false;
}

/** Whether a parsed value nests more than `maxDepth` arrays and objects. */
function tooDeep(value, depth, maxDepth) {
  if (depth > maxDepth) return true;
  for (const key in value) {
    const member = value[key];
    if (member !== null && typeof member === "object" && tooDeep(member, depth + 1, maxDepth)) return true;
  }
  return false;
}

/**
 * The object under `field` of a JSON body, parsed here by the host: `undefined` unless the body is
 * a JSON object whose own `field` is a plain object (src/transport.rs explains when it is used).
 * It answers only for a body the core's parser would accept too; anything it might refuse (a
 * surrogate escape, nesting deeper than `maxDepth`, which is core::json::MAX_DEPTH) is left to
 * the core, so a read gets the same answer whichever way it is served.
 */
export function objectField(body, field, maxDepth) {
  if (surrogateEscape.test(body)) return undefined;
  let user;
  try {
    user = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (user === null || typeof user !== "object" || Array.isArray(user) || !Object.prototype.hasOwnProperty.call(user, field)) return undefined;
  const value = user[field];
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  if (manyBrackets(body, maxDepth) && tooDeep(user, 1, maxDepth)) return undefined;
  return value;
}

/** A promise with its settle functions, for the executor in src/task.rs. */
export class Deferred {
  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

const encoder = new TextEncoder();

/** A header's value as a string or null, whatever an injected fetch's headers return. */
function headerOf(headers, name) {
  try {
    const value = headers ? headers.get(name) : null;
    return value === null || value === undefined ? null : String(value);
  } catch {
    return null;
  }
}

/**
 * @param {Function | undefined} fetchFn  an injected fetch; `undefined` uses the global one, looked
 *   up now (so a replaced global is honoured)
 * @param {string} url
 * @param {string} method
 * @param {object} headers  a plain object, built once per client
 * @param {string | undefined} body
 * @param {number} timeoutMs  at most 2^31 - 1 (checked by the options)
 * @param {AbortSignal | undefined} signal  the caller's; it aborts this exchange's own controller
 * @param {number} maxBytes  a declared Content-Length above this is refused without reading
 * @param {number} id  this exchange's number, handed back to `settled`
 * @param {(id: number, outcome: object, ok: boolean) => void} settled  called once, with
 *   `{status, contentType, retryAfter, cfRay, body}` (ok) or `{kind, cause?, status?, bytes?}`,
 *   where kind is "timeout", "aborted", "network", "not_response" or "too_large"
 */
export function exchange(fetchFn, url, method, headers, body, timeoutMs, signal, maxBytes, id, settled) {
  // One callback per client settles every exchange (no promise, no closure made per request on
  // the Rust side). It throws only if the client was freed meanwhile: nobody is waiting then.
  const resolve = (answer) => {
    try {
      settled(id, answer, true);
    } catch {}
  };
  const reject = (failure) => {
    try {
      settled(id, failure, false);
    } catch {}
  };
  try {
    // A caller's signal gets this exchange its own controller (so the caller's abort ends it
    // alone); otherwise its deadline's controller is used. A host without AbortController still
    // gets its deadline; the request is then abandoned rather than aborted.
    const entry = {
      controller: signal ? newController() : undefined,
      /** The controller that is this exchange's alone, if any. */
      own: undefined,
      expire: () => {
        finish(reject, { kind: "timeout" });
        if (entry.own) entry.own.abort();
      },
    };
    entry.own = entry.controller;
    let settled = false;
    let stopDeadline;
    const onAbort = () => {
      finish(reject, { kind: "aborted" });
      if (entry.own) entry.own.abort();
    };
    function finish(settle, value) {
      if (settled) return;
      settled = true;
      if (stopDeadline) stopDeadline();
      if (signal) signal.removeEventListener("abort", onAbort);
      settle(value);
    }
    const failed = (cause) => finish(reject, { kind: signal && signal.aborted ? "aborted" : "network", cause });

    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort);
    }
    stopDeadline = startDeadline(entry, timeoutMs, Date.now());
    const controller = entry.controller;

    const init = { method, headers };
    if (controller) init.signal = controller.signal;
    else if (signal) init.signal = signal;
    if (body !== undefined) init.body = body;
    let answered;
    try {
      answered = (fetchFn === undefined ? fetch : fetchFn)(url, init);
      if (!(answered instanceof Promise)) answered = Promise.resolve(answered);
    } catch (cause) {
      return failed(cause);
    }
    answered.then((response) => {
      // Over already (deadline or abort): a fetch that ignored its signal still gets its body
      // cancelled.
      if (settled) return discard(response);
      try {
        if (typeof response !== "object" || response === null || typeof response.status !== "number" || typeof response.text !== "function") {
          return finish(reject, { kind: "not_response" });
        }
        const status = response.status;
        const responseHeaders = response.headers;
        const declared = headerOf(responseHeaders, "content-length");
        if (declared !== null && Number(declared) > maxBytes) {
          discard(response);
          return finish(reject, { kind: "too_large", status, bytes: Number(declared) });
        }
        // Retry-After and the ray id only matter for a failure: a success reads two headers.
        const failure = status < 200 || status > 299;
        const answer = {
          status,
          contentType: headerOf(responseHeaders, "content-type"),
          retryAfter: failure ? headerOf(responseHeaders, "retry-after") : null,
          cfRay: failure ? headerOf(responseHeaders, "cf-ray") : null,
          body: "",
        };
        Promise.resolve(response.text()).then((text) => {
          if (typeof text !== "string") return failed(new TypeError("the response body is not text"));
          // More characters than bytes allowed is too large already: refused before it is
          // copied into wasm memory, which never shrinks. (The exact byte count is checked there.)
          if (text.length > maxBytes) return finish(reject, { kind: "too_large", status, bytes: text.length });
          // The limit is in UTF-8 bytes, up to three per character: counted exactly only when
          // the characters alone cannot settle it.
          if (text.length * 3 > maxBytes) {
            const bytes = encoder.encode(text).length;
            if (bytes > maxBytes) return finish(reject, { kind: "too_large", status, bytes });
          }
          answer.body = text;
          finish(resolve, answer);
        }, failed);
      } catch (cause) {
        failed(cause);
      }
    }, failed);
  } catch (cause) {
    // Nothing above should throw; if it does, it must not unwind into the wasm that called.
    reject({ kind: "network", cause });
  }
}

/** Frees the connection of an answer nobody waits for any more. */
function discard(response) {
  try {
    const cancelled = response && response.body && response.body.cancel();
    if (cancelled && typeof cancelled.catch === "function") cancelled.catch(() => {});
  } catch {
    // A body that cannot be cancelled is left to the host.
  }
}
