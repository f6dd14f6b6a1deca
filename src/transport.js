// The host half of src/transport.rs: one HTTP exchange over `fetch`, as one call into the host
// and one promise back.
//
// Why this part is JavaScript: every `await` that wasm-bindgen bridges costs two closures (each
// registered with a FinalizationRegistry) and several boundary crossings, and reading a Response
// (status, headers, the body) from Rust is a crossing per field. Done here, a request costs one
// crossing out and one settled promise in, which is most of the distance to a plain `fetch`.
// What to send, when to retry, how long to wait and what an answer means stay in Rust.
//
// Why the timeout is a deadline and not an AbortSignal: handing any signal to Node's fetch makes
// undici register an abort listener and a finalizer per request (about 30 µs, more than all of
// this package's own work). A deadline bounds the caller's wait exactly; a request that outlives
// it is left to the host (its body is cancelled if an answer comes, and Node's fetch closes a
// silent connection after its own 300 s headers timeout). A caller's own `signal` is passed to
// `fetch` as given, so aborting it does end the request.
//
// Why one shared timer: a timer per request, set and cleared, costs Node about 8 µs (its timer
// list is created and torn down each time). Pending exchanges sit in a set; one timer, armed for
// the earliest deadline, expires whatever is due when it fires and re-arms for the next one. It
// keeps the process alive only while an exchange is pending (ref'd then, unref'd when the set
// empties), so it never holds up the exit of a short-lived host once its calls are done.

/** Exchanges in flight: `{ deadline, expire }`. */
const pending = new Set();
let timer;
let timerAt = Infinity;

function arm(at) {
  if (at >= timerAt) return;
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(requestTimeouts, Math.max(0, at - Date.now()));
  held = true;
}

/** Whether the timer keeps the process alive; toggled, not re-created, as exchanges come and go. */
let held = false;
function hold(on) {
  if (held === on || timer === undefined) return;
  held = on;
  // Node and Bun have ref/unref; Deno has Deno.refTimer/unrefTimer; workerd and browsers neither.
  if (typeof timer === "object" && timer !== null && typeof timer.ref === "function") {
    if (on) timer.ref();
    else timer.unref();
  } else if (typeof Deno === "object" && Deno !== null && typeof Deno.unrefTimer === "function") {
    if (on) Deno.refTimer(timer);
    else Deno.unrefTimer(timer);
  }
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

/**
 * @param {Function | undefined} fetchFn  an injected fetch; `undefined` uses the global one, looked
 *   up now (so a replaced global is honoured)
 * @param {string} url
 * @param {string} method
 * @param {object} headers  a plain object, built once per client
 * @param {string | undefined} body
 * @param {number} timeoutMs  at most 2^31 - 1 (checked by the options)
 * @param {AbortSignal | undefined} signal  the caller's
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
    const entry = { deadline: Date.now() + timeoutMs, expire: () => finish(reject, { kind: "timeout" }) };
    let settled = false;
    const onAbort = () => finish(reject, { kind: "aborted" });
    function finish(settle, value) {
      if (settled) return;
      settled = true;
      pending.delete(entry);
      if (pending.size === 0) hold(false);
      if (signal) signal.removeEventListener("abort", onAbort);
      settle(value);
    }
    const failed = (cause) => finish(reject, { kind: signal && signal.aborted ? "aborted" : "network", cause });

    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort);
    }
    pending.add(entry);
    arm(entry.deadline);
    hold(true);

    const init = { method, headers };
    if (body !== undefined) init.body = body;
    if (signal) init.signal = signal;
    let answered;
    try {
      answered = (fetchFn === undefined ? fetch : fetchFn)(url, init);
      if (!(answered instanceof Promise)) answered = Promise.resolve(answered);
    } catch (cause) {
      return failed(cause);
    }
    answered.then((response) => {
      if (settled) return discard(response);
      try {
        if (typeof response !== "object" || response === null || typeof response.status !== "number" || typeof response.text !== "function") {
          return finish(reject, { kind: "not_response" });
        }
        const status = response.status;
        const headers = response.headers;
        const header = (name) => (headers ? headers.get(name) : null);
        const declared = header("content-length");
        if (declared !== null && Number(declared) > maxBytes) {
          discard(response);
          return finish(reject, { kind: "too_large", status, bytes: Number(declared) });
        }
        // Retry-After and the ray id only matter for a failure: a success reads two headers.
        const failure = status < 200 || status > 299;
        const answer = {
          status,
          contentType: header("content-type"),
          retryAfter: failure ? header("retry-after") : null,
          cfRay: failure ? header("cf-ray") : null,
          body: "",
        };
        response.text().then((text) => {
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
