// The host half of src/transport.rs: one HTTP exchange over `fetch`, as one call into the host
// and one promise back.
//
// Why this part is JavaScript: every `await` that wasm-bindgen bridges costs two closures (each
// registered with a FinalizationRegistry) and several boundary crossings, and reading a Response
// (status, four headers, the body) from Rust is a crossing per field. Done here, a request costs
// one crossing out and one settled promise in, which is most of the distance to a plain `fetch`.
// What to send, when to retry, how long to wait and what an answer means stay in Rust.
//
// Why the timeout is a timer and not an AbortSignal: handing any signal to Node's fetch makes
// undici register an abort listener and a finalizer per request (about 30 µs, more than all of
// this package's own work). The timer bounds the caller's wait exactly; a request that outlives it
// is left to the host (its body is cancelled if an answer comes, and Node's fetch closes a silent
// connection after its own 300 s headers timeout). A caller's own `signal` is passed to `fetch`
// as given, so aborting it does end the request.

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
 * @returns {Promise<{status: number, contentType: string | null, retryAfter: string | null,
 *   cfRay: string | null, body: string}>} rejected with `{kind, cause?, status?, bytes?}`, where
 *   kind is "timeout", "aborted", "network", "not_response" or "too_large"
 */
export function exchange(fetchFn, url, method, headers, body, timeoutMs, signal, maxBytes) {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer;
    const onAbort = () => finish(reject, { kind: "aborted" });
    function finish(settle, value) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", onAbort);
      settle(value);
    }
    const failed = (cause) => finish(reject, { kind: signal && signal.aborted ? "aborted" : "network", cause });

    if (signal) {
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort);
    }
    timer = setTimeout(function requestTimeout() {
      finish(reject, { kind: "timeout" });
    }, timeoutMs);

    const init = { method, headers };
    if (body !== undefined) init.body = body;
    if (signal) init.signal = signal;
    let pending;
    try {
      pending = (fetchFn === undefined ? fetch : fetchFn)(url, init);
    } catch (cause) {
      return failed(cause);
    }
    Promise.resolve(pending).then((response) => {
      if (settled) return discard(response);
      if (typeof response !== "object" || response === null || typeof response.status !== "number" || typeof response.text !== "function") {
        return finish(reject, { kind: "not_response" });
      }
      const status = response.status;
      const header = (name) => (response.headers ? response.headers.get(name) : null);
      const declared = header("content-length");
      if (declared !== null && Number(declared) > maxBytes) {
        discard(response);
        return finish(reject, { kind: "too_large", status, bytes: Number(declared) });
      }
      const answer = {
        status,
        contentType: header("content-type"),
        retryAfter: header("retry-after"),
        cfRay: header("cf-ray"),
        body: "",
      };
      return response.text().then((text) => {
        answer.body = text;
        finish(resolve, answer);
      }, failed);
    }, failed).catch(failed);
  });
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
