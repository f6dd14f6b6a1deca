// The host half of src/transport.rs: one HTTP exchange over `fetch`, as one call into the host
// and one promise back.
//
// Why this part is JavaScript: every `await` that wasm-bindgen bridges costs two closures (each
// registered with a FinalizationRegistry) and several boundary crossings, and reading a Response
// (status, headers, the body) from Rust is a crossing per field. Done here, a request costs one
// crossing out and one settled promise in, which is most of the distance to a plain `fetch`.
// What to send, when to retry, how long to wait and what an answer means stay in Rust.
//
// Every request has its own AbortController, aborted when its deadline passes or the caller's
// signal fires: the connection is closed and the body stops downloading, so a timed-out write
// cannot land after its retry, and nothing keeps a process alive. (Handing Node's fetch a signal
// costs undici about 30 µs per request; an earlier version saved that by abandoning timed-out
// requests instead, and review showed what that costs: sockets held for up to 300 s, bodies
// still downloading, and writes landing out of order.)
//
// Why deadlines share one timer where the host allows it: a timer per request, set and cleared,
// costs Node about 8 µs (its timer list is created and torn down each time). Pending exchanges
// sit in a set; one timer, armed for the earliest deadline, expires whatever is due and re-arms
// for the next. It keeps the process alive only while an exchange is pending (ref'd then,
// unref'd when the set empties). That needs ref/unref (Node, Bun) or Deno's refTimer; in
// workerd a timer dies with the request that set it, so there (and in any other host) each
// exchange sets and clears its own.

/** Exchanges in flight under the shared timer: `{ deadline, expire }`. */
const pending = new Set();
let timer;
let timerAt = Infinity;
/** Whether the shared timer currently keeps the process alive. */
let held = false;
/** `undefined` until the first timer shows what the host's timers can do. */
let shareTimer;

const isDeno = () => typeof Deno === "object" && Deno !== null && typeof Deno.unrefTimer === "function";

function arm(at) {
  if (at >= timerAt) return;
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(requestTimeouts, Math.max(0, at - Date.now()));
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
  for (const entry of pending) {
    if (entry.deadline <= now) entry.expire();
    else if (entry.deadline < next) next = entry.deadline;
  }
  if (next !== Infinity) arm(next);
}

/** Sets the exchange's deadline; returns what to call when it is over. */
function startDeadline(entry, timeoutMs) {
  if (shareTimer === undefined) {
    const probe = setTimeout(() => {}, 0);
    shareTimer = isDeno() || (typeof probe === "object" && probe !== null && typeof probe.unref === "function");
    clearTimeout(probe);
  }
  if (!shareTimer) {
    const own = setTimeout(function requestTimeout() {
      entry.expire();
    }, timeoutMs);
    return () => clearTimeout(own);
  }
  pending.add(entry);
  arm(entry.deadline);
  hold(true);
  return () => {
    pending.delete(entry);
    if (pending.size === 0) hold(false);
  };
}

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
    // A host without AbortController (a bare script context) still gets its deadline; the
    // request is then abandoned rather than aborted.
    const controller = typeof AbortController === "function" ? new AbortController() : undefined;
    const abort = () => {
      if (controller) controller.abort();
    };
    const entry = {
      deadline: Date.now() + timeoutMs,
      expire: () => {
        finish(reject, { kind: "timeout" });
        abort();
      },
    };
    let settled = false;
    let stopDeadline;
    const onAbort = () => {
      finish(reject, { kind: "aborted" });
      abort();
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
    stopDeadline = startDeadline(entry, timeoutMs);

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
