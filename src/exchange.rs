//! One HTTP exchange over the host's `fetch`: the request, its deadline, and the whole answer.
//!
//! Nothing here assumes a window or Node: `fetch`, `AbortController`, `setTimeout` and
//! `ReadableStream` exist in Node, Deno, Bun, workerd, edge runtimes and browsers alike. The
//! global `fetch` is looked up at each call (tests and users may replace it), unless the client
//! was given one.
//!
//! Each exchange has its own `AbortController` and its own timer, and nothing is shared between
//! exchanges: when the deadline passes or the caller aborts, the controller aborts the request
//! (the connection closes and the body stops downloading), and every await is raced against the
//! same stop, so a `fetch` that ignores its signal cannot hang a call either.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, ReadableStreamDefaultReader, RequestInit, RequestRedirect,
    Response, ResponseType,
};

use crate::core::error::{number_text, Error, ErrorKind};
use crate::core::response::{HttpResponse, MAX_RESPONSE_BYTES};

#[wasm_bindgen]
extern "C" {
    /// The host's global `fetch`, resolved when called (a `ReferenceError` if there is none).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Running,
    TimedOut,
    Aborted,
}

/// One request's deadline: its controller, its timer and the caller's signal, all of which end
/// it the same way, by aborting the controller and settling `stopped`. A host without
/// `AbortController` (a bare embedding) gets no controller: the call still ends at its deadline,
/// but the request itself is only abandoned.
struct Deadline {
    controller: Option<AbortController>,
    /// Rejects when the request is stopped; every await is raced against it.
    stopped: Promise,
    why: Rc<Cell<Stop>>,
    timer: JsValue,
    _on_timeout: Closure<dyn FnMut()>,
    caller: Option<(AbortSignal, Closure<dyn FnMut()>)>,
    timeout_ms: f64,
    deadline_cut: bool,
}

impl Deadline {
    /// `deadline_cut`: the timeout is the operation's remaining time, not `timeoutMs`.
    fn start(timeout_ms: f64, deadline_cut: bool, signal: Option<&AbortSignal>) -> Deadline {
        let controller = AbortController::new().ok();
        let why = Rc::new(Cell::new(Stop::Running));
        let mut reject: Option<Function> = None;
        let stopped = Promise::new(&mut |_resolve, rejecter| reject = Some(rejecter));
        let stop_with = |reason: Stop| {
            let (why, controller, reject) = (Rc::clone(&why), controller.clone(), reject.clone());
            move || {
                if why.get() == Stop::Running {
                    why.set(reason);
                    if let Some(controller) = &controller {
                        controller.abort();
                    }
                    if let Some(reject) = &reject {
                        let _ = reject.call0(&JsValue::UNDEFINED);
                    }
                }
            }
        };
        let on_timeout = Closure::<dyn FnMut()>::new(stop_with(Stop::TimedOut));
        let timer = set_timeout(on_timeout.as_ref().unchecked_ref(), timeout_ms);
        let caller = signal.map(|signal| {
            let on_abort = Closure::<dyn FnMut()>::new(stop_with(Stop::Aborted));
            let _ =
                signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            (signal.clone(), on_abort)
        });
        let deadline = Deadline {
            controller,
            stopped,
            why,
            timer,
            _on_timeout: on_timeout,
            caller,
            timeout_ms,
            deadline_cut,
        };
        if signal.is_some_and(AbortSignal::aborted) {
            deadline.stop_now(Stop::Aborted);
        }
        deadline
    }

    fn stop_now(&self, reason: Stop) {
        if self.why.get() == Stop::Running {
            self.why.set(reason);
            self.abort();
        }
    }

    fn abort(&self) {
        if let Some(controller) = &self.controller {
            controller.abort();
        }
    }

    /// Awaits `promise`, unless the request is stopped first.
    async fn guard(&self, promise: Promise) -> Result<JsValue, JsValue> {
        if self.why.get() != Stop::Running {
            return Err(JsValue::UNDEFINED);
        }
        JsFuture::from(Promise::race(&Array::of2(&promise, &self.stopped))).await
    }

    /// The error for a rejected await: our stop if there was one, else what the host threw.
    fn failure(&self, thrown: &JsValue) -> Failure {
        match self.why.get() {
            Stop::Aborted => aborted().into(),
            Stop::TimedOut if self.deadline_cut => Error::new(
                ErrorKind::Timeout,
                "the operation's deadline (deadlineMs) passed while a request was in flight",
            )
            .into(),
            Stop::TimedOut => Error::new(
                ErrorKind::Timeout,
                format!(
                    "no complete response within {} ms",
                    number_text(self.timeout_ms)
                ),
            )
            .into(),
            Stop::Running => network_failure(thrown),
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        clear_timeout(&self.timer);
        if let Some((signal, on_abort)) = &self.caller {
            let _ = signal
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
        // Whatever is still downloading is of no use any more: close it.
        if self.why.get() == Stop::Running {
            self.abort();
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
    let deadline = Deadline::start(timeout_ms, deadline_cut, signal);
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
    read_response(&deadline, response, status as u16).await
}

/// Status, the headers the core reads, and the body (bounded) of an answer.
async fn read_response(
    deadline: &Deadline,
    response: Response,
    status: u16,
) -> Result<HttpResponse, Failure> {
    let headers = Reflect::get(&response, &"headers".into()).unwrap_or_default();
    let header = |name: &str| header(&headers, name);
    let mut head = HttpResponse {
        status,
        content_type: header("content-type"),
        retry_after: header("retry-after"),
        cf_ray: header("cf-ray"),
        received_at_ms: js_sys::Date::now(),
        ..HttpResponse::default()
    };
    let redirected = status == 0 && response.type_() == ResponseType::Opaqueredirect;
    if redirected || (300..400).contains(&status) {
        // Nothing of a redirect is read: the stop below closes it.
        deadline.stop_now(Stop::Aborted);
        return Ok(head);
    }
    if let Some(length) = header("content-length").and_then(|length| length.parse::<usize>().ok()) {
        if length > MAX_RESPONSE_BYTES {
            deadline.stop_now(Stop::Aborted);
            return Err(too_large(status, length).into());
        }
    }
    let bytes = read_body(deadline, &response, status).await?;
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

/// The body, read chunk by chunk so that an endless or huge one is cut at the limit instead of
/// filling memory. Hosts whose Response has no stream (some injected fetches) give `text()`.
async fn read_body(
    deadline: &Deadline,
    response: &Response,
    status: u16,
) -> Result<Vec<u8>, Failure> {
    let stream = Reflect::get(response, &"body".into()).unwrap_or_default();
    let reader = match Reflect::get(&stream, &"getReader".into()) {
        Ok(get_reader) if stream.is_object() && get_reader.is_function() => get_reader
            .unchecked_into::<Function>()
            .call0(&stream)
            .map_err(|thrown| deadline.failure(&thrown))?
            .unchecked_into::<ReadableStreamDefaultReader>(),
        _ => return read_text(deadline, response, status).await,
    };
    let mut body = Vec::new();
    loop {
        let chunk = deadline
            .guard(reader.read())
            .await
            .map_err(|thrown| deadline.failure(&thrown))?;
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
        if body.len() + bytes.length() as usize > MAX_RESPONSE_BYTES {
            deadline.stop_now(Stop::Aborted);
            return Err(too_large(status, body.len() + bytes.length() as usize).into());
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
) -> Result<Vec<u8>, Failure> {
    if !Reflect::get(response, &"text".into()).is_ok_and(|text| text.is_function()) {
        return Ok(Vec::new());
    }
    let text = response
        .text()
        .map_err(|thrown| deadline.failure(&thrown))?;
    let text = deadline
        .guard(text)
        .await
        .map_err(|thrown| deadline.failure(&thrown))?;
    let text = text
        .as_string()
        .ok_or_else(|| Error::new(ErrorKind::Network, "the response body could not be read"))?;
    if text.len() > MAX_RESPONSE_BYTES {
        return Err(too_large(status, text.len()).into());
    }
    Ok(text.into_bytes())
}

fn too_large(status: u16, bytes: usize) -> Error {
    let mut error = Error::new(
        ErrorKind::InvalidResponse,
        format!(
            "unexpected response from Clerk (HTTP {status}): the body is at least {bytes} bytes, over the {MAX_RESPONSE_BYTES}-byte limit"
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
