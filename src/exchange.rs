//! One HTTP exchange over the host's `fetch`: the request, its deadline, and the whole answer.
//!
//! Nothing here assumes a window or Node: `fetch`, `AbortController`, `setTimeout` and
//! `ReadableStream` exist in Node, Deno, Bun, workerd, edge runtimes and browsers alike. The
//! global `fetch` is looked up at each call (tests and users may replace it), unless the client
//! was given one.
//!
//! Each exchange has its own `AbortController` and its own timer, and nothing is shared between
//! exchanges: when the deadline passes or the caller aborts, the controller aborts the request
//! (the connection closes and the body stops downloading). An injected `fetch` may ignore its
//! signal, so its awaits are also raced against the same stop (see [`Deadline`]).

use std::cell::Cell;

use js_sys::{Array, ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, RequestInit, RequestRedirect, Response};

use crate::core::error::{number_text, Error, ErrorKind};
use crate::core::response::HttpResponse;
use crate::wait::{clear_timeout, set_timeout};

#[wasm_bindgen]
extern "C" {
    /// The host's global `fetch`, resolved when called (a `ReferenceError` if there is none).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;

    /// `String(value)`: what a header value that is not a string (from a test double) reads as.
    #[wasm_bindgen(js_name = String, catch)]
    fn to_text(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// What to send: everything but the deadline, which the caller works out.
pub struct Outgoing<'a> {
    pub fetch: Option<&'a Function>,
    pub url: &'a str,
    pub method: &'a str,
    pub headers: &'a JsValue,
    pub body: Option<&'a str>,
    /// A longer answer is cut off and refused.
    pub max_response_bytes: usize,
}

/// Why an exchange ended without a complete answer.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    /// The request never left this process (no connection was made), so a write cannot have
    /// been applied.
    pub certainly_unsent: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            certainly_unsent: false,
        }
    }
}

/// `function.bind(this, ...arguments)`.
fn bound(function: &JsValue, this: &JsValue, arguments: &[JsValue]) -> Option<Function> {
    let bind = Reflect::get(function, &"bind".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let all: Array = std::iter::once(this.clone())
        .chain(arguments.iter().cloned())
        .collect();
    Reflect::apply(&bind, function, &all)
        .ok()?
        .dyn_into::<Function>()
        .ok()
}

/// What a timer's stop is called with where there is no `AbortController` to abort.
const TIMED_OUT: &str = "clerk-metadata-wasm: timed out";

/// One request's deadline: its `AbortController` and its timer, plus the caller's signal. The
/// timer and the caller's signal both call the controller's own `abort` (bound to it, so no Rust
/// closure is made per request), which closes the connection and stops the body downloading.
///
/// Awaits are raced against a `stopped` promise only where the abort may not reach the request:
/// an injected `fetch` (it may ignore its signal), or a host with no `AbortController` (a bare
/// embedding), where the request itself can only be abandoned at its deadline.
struct Deadline {
    controller: Option<AbortController>,
    /// What the timer and the caller's signal call.
    stop: Function,
    /// Rejects when the request is stopped, for the awaits that must be raced.
    stopped: Option<Promise>,
    timer: JsValue,
    caller: Option<AbortSignal>,
    /// A request is out and its answer not yet read to the end: dropping it aborts it.
    in_flight: Cell<bool>,
    timeout_ms: f64,
    deadline_cut: bool,
}

impl Deadline {
    /// `deadline_cut`: the timeout is the operation's remaining time, not `timeoutMs`.
    fn start(
        timeout_ms: f64,
        deadline_cut: bool,
        signal: Option<&AbortSignal>,
        race: bool,
    ) -> Deadline {
        let controller = AbortController::new().ok();
        let bound_abort = controller.as_ref().and_then(|controller| {
            let abort: Function = Reflect::get(controller, &"abort".into())
                .ok()?
                .dyn_into()
                .ok()?;
            Some(abort.bind0(controller))
        });
        let (stop, stopped) = match bound_abort {
            Some(abort) if !race => (abort, None),
            Some(abort) => {
                let signal = controller.as_ref().map(AbortController::signal);
                let stopped = Promise::new(&mut |_resolve, reject| {
                    if let Some(signal) = &signal {
                        let _ = signal.add_event_listener_with_callback("abort", &reject);
                    }
                });
                (abort, Some(stopped))
            }
            None => {
                let mut stop = None;
                let stopped = Promise::new(&mut |_resolve, reject| {
                    stop = bound(&reject, &JsValue::NULL, &[TIMED_OUT.into()]);
                });
                // The executor runs at once, so `stop` is there; a no-op otherwise.
                (stop.unwrap_or_else(Function::default), Some(stopped))
            }
        };
        let timer = set_timeout(&stop, timeout_ms);
        if let Some(signal) = signal {
            let _ = signal.add_event_listener_with_callback("abort", &stop);
        }
        let deadline = Deadline {
            controller,
            stop,
            stopped,
            timer,
            caller: signal.cloned(),
            in_flight: Cell::new(false),
            timeout_ms,
            deadline_cut,
        };
        if signal.is_some_and(AbortSignal::aborted) {
            let _ = deadline.stop.call0(&JsValue::UNDEFINED);
        }
        deadline
    }

    /// Ends the request now (a redirect or a body over the limit: nothing more is read).
    fn close(&self) {
        if let Some(controller) = &self.controller {
            controller.abort();
        }
        self.in_flight.set(false);
    }

    fn is_stopped(&self) -> bool {
        self.caller.as_ref().is_some_and(AbortSignal::aborted)
            || self
                .controller
                .as_ref()
                .is_some_and(|controller| controller.signal().aborted())
    }

    /// Awaits `promise`, unless the request is stopped first.
    async fn guard(&self, promise: Promise) -> Result<JsValue, JsValue> {
        if self.is_stopped() {
            return Err(JsValue::UNDEFINED);
        }
        let promise = match &self.stopped {
            Some(stopped) => Promise::race(&Array::of2(&promise, stopped)),
            None => promise,
        };
        JsFuture::from(promise).await
    }

    /// The outcome of a host call that returns a promise: a throw or a rejection is explained
    /// by [`Deadline::failure`].
    async fn settle(&self, started: Result<Promise, JsValue>) -> Result<JsValue, Failure> {
        let promise = started.map_err(|thrown| self.failure(&thrown))?;
        self.guard(promise)
            .await
            .map_err(|thrown| self.failure(&thrown))
    }

    /// The error for a rejected await: the caller's abort, our timeout, or what the host threw.
    fn failure(&self, thrown: &JsValue) -> Failure {
        if self.caller.as_ref().is_some_and(AbortSignal::aborted) {
            return aborted().into();
        }
        let timed_out = self.is_stopped() || thrown.as_string().as_deref() == Some(TIMED_OUT);
        if !timed_out {
            return network_failure(thrown);
        }
        let error = if self.deadline_cut {
            Error::new(
                ErrorKind::Timeout,
                "the operation's deadline (deadlineMs) passed while a request was in flight",
            )
        } else {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "no complete response within {} ms",
                    number_text(self.timeout_ms)
                ),
            )
        };
        error.into()
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        clear_timeout(&self.timer);
        if let Some(signal) = &self.caller {
            let _ = signal.remove_event_listener_with_callback("abort", &self.stop);
        }
        // Whatever is still downloading is of no use any more: close it. (A request read to the
        // end is not aborted: in Node an abort costs a DOMException, about 100 µs.)
        if self.in_flight.get() {
            self.close();
        }
    }
}

pub fn aborted() -> Error {
    Error::new(
        ErrorKind::Aborted,
        "the operation was aborted by its AbortSignal",
    )
}

/// Sends one request and reads its whole answer within `timeout_ms`.
pub async fn exchange(
    outgoing: &Outgoing<'_>,
    timeout_ms: f64,
    deadline_cut: bool,
    signal: Option<&AbortSignal>,
) -> Result<HttpResponse, Failure> {
    let deadline = Deadline::start(timeout_ms, deadline_cut, signal, outgoing.fetch.is_some());
    let init = RequestInit::new();
    init.set_method(outgoing.method);
    init.set_headers(outgoing.headers);
    if let Some(body) = outgoing.body {
        init.set_body(&JsValue::from_str(body));
    }
    if let Some(controller) = &deadline.controller {
        init.set_signal(Some(&controller.signal()));
    }
    // A redirect could carry the body (private metadata included) to another origin, turn a
    // PATCH into a GET, or answer for another user: it is never followed.
    init.set_redirect(RequestRedirect::Manual);
    let started = match outgoing.fetch {
        Some(fetch) => fetch
            .call2(&JsValue::UNDEFINED, &outgoing.url.into(), &init)
            .map(|answer| Promise::resolve(&answer)),
        None => global_fetch(outgoing.url, &init),
    };
    let promise = started.map_err(|thrown| deadline.failure(&thrown))?;
    deadline.in_flight.set(true);
    let answer = deadline
        .guard(promise)
        .await
        .map_err(|thrown| deadline.failure(&thrown))?;
    let status = Reflect::get(&answer, &"status".into())
        .ok()
        .and_then(|status| status.as_f64())
        .filter(|status| (0.0..1000.0).contains(status))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "fetch resolved with something that is not a Response",
            )
        })?;
    let response: Response = answer.unchecked_into();
    read_response(
        &deadline,
        response,
        status as u16,
        outgoing.max_response_bytes,
    )
    .await
}

/// Status, the headers the core reads, and the body (bounded) of an answer.
async fn read_response(
    deadline: &Deadline,
    response: Response,
    status: u16,
    limit: usize,
) -> Result<HttpResponse, Failure> {
    let headers = Reflect::get(&response, &"headers".into()).unwrap_or_default();
    let header = |name: &str| header(&headers, name);
    let success = (200..300).contains(&status);
    // Only an error reads Retry-After and the trace id.
    let if_error = |name: &str| if success { None } else { header(name) };
    let mut head = HttpResponse {
        status,
        content_type: header("content-type"),
        retry_after: if_error("retry-after"),
        cf_ray: if_error("cf-ray"),
        received_at_ms: if success { 0.0 } else { js_sys::Date::now() },
        ..HttpResponse::default()
    };
    let redirected = status == 0
        && Reflect::get(&response, &"type".into())
            .ok()
            .and_then(|kind| kind.as_string())
            .is_some_and(|kind| kind == "opaqueredirect");
    if redirected || (300..400).contains(&status) {
        // Nothing of a redirect is read.
        deadline.close();
        return Ok(head);
    }
    let length = header("content-length").and_then(|length| length.parse::<usize>().ok());
    if let Some(length) = length.filter(|&length| length > limit) {
        deadline.close();
        return Err(too_large(status, length, limit).into());
    }
    // A body of announced length cannot outgrow it (the host refuses a longer one), so it is
    // read in one piece; otherwise chunk by chunk, counting. An encoded body's length is that of
    // its compressed bytes, not of what the host decodes, so it is counted too.
    let encoded =
        header("content-encoding").is_some_and(|coding| !coding.eq_ignore_ascii_case("identity"));
    let bytes = match length {
        Some(_) if !encoded => read_whole(deadline, &response, status, limit).await?,
        _ => read_body(deadline, &response, status, limit).await?,
    };
    deadline.in_flight.set(false);
    head.body = String::from_utf8(bytes).map_err(|_| {
        let mut error = Error::new(
            ErrorKind::InvalidResponse,
            format!("unexpected response from Clerk (HTTP {status}): the body is not UTF-8"),
        );
        error.status = Some(status);
        error
    })?;
    Ok(head)
}

/// One header of a `Headers` object, or of anything with a `get` (an injected fetch's test
/// double): absent when missing, unreadable or throwing.
fn header(headers: &JsValue, name: &str) -> Option<String> {
    if let Some(headers) = headers.dyn_ref::<web_sys::Headers>() {
        return headers.get(name).ok().flatten();
    }
    let get = Reflect::get(headers, &"get".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let value = get.call1(headers, &name.into()).ok()?;
    if value.is_null() || value.is_undefined() {
        return None;
    }
    value
        .as_string()
        .or_else(|| to_text(&value).ok()?.as_string())
}

/// A body of known length, in one piece; a Response without `arrayBuffer` (an injected
/// fetch's test double) is read as a stream or as text.
async fn read_whole(
    deadline: &Deadline,
    response: &Response,
    status: u16,
    limit: usize,
) -> Result<Vec<u8>, Failure> {
    if !Reflect::get(response, &"arrayBuffer".into()).is_ok_and(|read| read.is_function()) {
        return read_body(deadline, response, status, limit).await;
    }
    let buffer = deadline.settle(response.array_buffer()).await?;
    let bytes = Uint8Array::new(&buffer);
    if bytes.length() as usize > limit {
        return Err(too_large(status, bytes.length() as usize, limit).into());
    }
    Ok(bytes.to_vec())
}

/// The body, read chunk by chunk so that an endless or huge one is cut at the limit instead of
/// filling memory. Hosts whose Response has no stream (some injected fetches) give `text()`.
async fn read_body(
    deadline: &Deadline,
    response: &Response,
    status: u16,
    limit: usize,
) -> Result<Vec<u8>, Failure> {
    let stream = Reflect::get(response, &"body".into()).unwrap_or_default();
    // Called through `Reflect` with every throw caught: the stream may come from an injected
    // fetch, and a throw must not unwind through wasm.
    let method = |target: &JsValue, name: &str| {
        Reflect::get(target, &name.into())
            .ok()
            .filter(|_| target.is_object())
            .and_then(|method| method.dyn_into::<Function>().ok())
    };
    let Some(get_reader) = method(&stream, "getReader") else {
        return read_text(deadline, response, status, limit).await;
    };
    let reader = get_reader
        .call0(&stream)
        .map_err(|thrown| deadline.failure(&thrown))?;
    let read = method(&reader, "read")
        .ok_or_else(|| Error::new(ErrorKind::Network, "the response body could not be read"))?;
    let mut body = Vec::new();
    loop {
        let next = read
            .call0(&reader)
            .map(|pending| Promise::resolve(&pending));
        let chunk = deadline.settle(next).await?;
        if Reflect::get(&chunk, &"done".into()).is_ok_and(|done| done.is_truthy()) {
            return Ok(body);
        }
        // `ArrayBuffer.isView`, not `instanceof`: the host's fetch may live in another realm
        // than this module (a `vm` context, an embedding).
        let bytes = Reflect::get(&chunk, &"value".into())
            .ok()
            .filter(ArrayBuffer::is_view)
            .map(JsCast::unchecked_into::<Uint8Array>)
            .ok_or_else(|| Error::new(ErrorKind::Network, "the response body is not bytes"))?;
        if body.len() + bytes.length() as usize > limit {
            deadline.close();
            return Err(too_large(status, body.len() + bytes.length() as usize, limit).into());
        }
        let start = body.len();
        body.resize(start + bytes.length() as usize, 0);
        bytes.copy_to(&mut body[start..]);
    }
}

async fn read_text(
    deadline: &Deadline,
    response: &Response,
    status: u16,
    limit: usize,
) -> Result<Vec<u8>, Failure> {
    if !Reflect::get(response, &"text".into()).is_ok_and(|text| text.is_function()) {
        return Ok(Vec::new());
    }
    let text = deadline.settle(response.text()).await?;
    let text = text
        .as_string()
        .ok_or_else(|| Error::new(ErrorKind::Network, "the response body could not be read"))?;
    if text.len() > limit {
        return Err(too_large(status, text.len(), limit).into());
    }
    Ok(text.into_bytes())
}

fn too_large(status: u16, bytes: usize, limit: usize) -> Error {
    let mut error = Error::new(
        ErrorKind::InvalidResponse,
        format!(
            "unexpected response from Clerk (HTTP {status}): the body is at least {bytes} bytes, over the {limit}-byte limit"
        ),
    );
    error.status = Some(status);
    error
}

/// Connection errors that happen before anything is sent (undici puts the code in `cause`).
const UNSENT_CODES: [&str; 6] = [
    "ECONNREFUSED",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ENETUNREACH",
    "EHOSTUNREACH",
    "UND_ERR_CONNECT_TIMEOUT",
];

/// A `fetch` rejection: its message and its `cause`'s (where undici puts the useful part), and
/// whether the cause says no connection was ever made.
fn network_failure(thrown: &JsValue) -> Failure {
    let text_of = |value: &JsValue, name: &str| {
        Reflect::get(value, &name.into())
            .ok()
            .and_then(|text| text.as_string())
            .filter(|text| !text.is_empty())
    };
    let mut text = text_of(thrown, "message")
        .or_else(|| thrown.as_string())
        .unwrap_or_else(|| "fetch failed".into());
    let cause = Reflect::get(thrown, &"cause".into())
        .ok()
        .filter(JsValue::is_object);
    if let Some(message) = cause.as_ref().and_then(|cause| text_of(cause, "message")) {
        text.push_str(&format!(" ({message})"));
    }
    let code = cause.as_ref().and_then(|cause| text_of(cause, "code"));
    Failure {
        error: Error::new(ErrorKind::Network, format!("network error: {text}")),
        certainly_unsent: code.is_some_and(|code| UNSENT_CODES.contains(&code.as_str())),
    }
}
