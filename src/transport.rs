//! Sends a [`RequestPlan`] through the host's `fetch`: the global one, looked up at call time (so
//! tests and users can replace it), or one injected into the client.
//!
//! Nothing here assumes a window or Node: `fetch`, `setTimeout`, `clearTimeout`, `AbortSignal`
//! and `Date` exist in Node, Deno, Bun, workerd, edge runtimes and browsers alike. This module
//! owns every wait (rate limiter, backoff) and every deadline; what to do is decided in the core.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::core::config::{Config, API_VERSION, USER_AGENT};
use crate::core::error::{number_text, Error, ErrorKind};
use crate::core::json;
use crate::core::limiter::{Acquire, RateLimiter, Ticket};
use crate::core::plan::RequestPlan;
use crate::core::response::{self, HttpResponse, MAX_RESPONSE_BYTES};
use crate::core::retry::{Decision, RetryPolicy};
use crate::core::MetadataKind;

#[wasm_bindgen(module = "/src/transport.js")]
extern "C" {
    /// One request and its whole answer (see transport.js for why this part is JavaScript),
    /// reported as `settled(id, answer or failure, ok)`. `fetch` is the injected one, or
    /// `undefined` for the global one looked up at call time.
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        fetch: Option<&Function>,
        url: &str,
        method: &str,
        headers: &Object,
        body: Option<&str>,
        timeout_ms: f64,
        signal: Option<&AbortSignal>,
        max_bytes: f64,
        id: u32,
        settled: &Function,
    );

    /// The object under `field` of a JSON body, parsed by the host: `undefined` unless the body
    /// is a JSON object whose own `field` is a plain object.
    #[wasm_bindgen(js_name = objectField)]
    fn object_field(body: &JsValue, field: &str, max_depth: u32) -> JsValue;

    /// What an exchange resolves with.
    type Answer;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Answer) -> u16;
    #[wasm_bindgen(method, getter, js_name = contentType)]
    fn content_type(this: &Answer) -> Option<String>;
    #[wasm_bindgen(method, getter, js_name = retryAfter)]
    fn retry_after(this: &Answer) -> Option<String>;
    #[wasm_bindgen(method, getter, js_name = cfRay)]
    fn cf_ray(this: &Answer) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn body(this: &Answer) -> JsValue;

    /// What an exchange rejects with.
    type Failure;
    #[wasm_bindgen(method, getter)]
    fn kind(this: &Failure) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn cause(this: &Failure) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Failure) -> u16;
    #[wasm_bindgen(method, getter)]
    fn bytes(this: &Failure) -> f64;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);

}

/// How the client sends: which fetch, how patiently, and at what pace.
pub struct Transport {
    fetch: Option<Function>,
    timeout_ms: f64,
    retry: RetryPolicy,
    limiter: RefCell<RateLimiter>,
    /// Wakers of calls queued behind in-flight requests, called when a response frees a slot.
    waiting: RefCell<Vec<Function>>,
    /// The request headers, built once per client (without and with a body): `fetch` only
    /// reads them, so one object serves every request.
    headers: RefCell<Option<[Object; 2]>>,
    /// Exchanges in flight, and the one callback that settles them all.
    exchanges: Rc<RefCell<Exchanges>>,
    /// `Fn`, not `FnMut`: it runs again inside itself when the poll it wakes retries at once
    /// and the next fetch fails synchronously (wasm-bindgen refuses to re-enter an `FnMut`).
    settled: Closure<dyn Fn(u32, JsValue, bool)>,
}

/// A response as received: status and headers in Rust, the body still in the host until it is
/// needed. A read that nobody else shares takes its metadata straight from the host's
/// `JSON.parse` of the body ([`Received::object_field`]), so the body is neither copied into wasm
/// nor parsed twice; everything else reads the body into Rust ([`Received::into_response`]).
pub struct Received {
    /// The response without its body.
    pub head: HttpResponse,
    body: JsValue,
}

impl Received {
    /// The whole response, the body copied into wasm.
    pub fn into_response(self) -> Result<HttpResponse, Error> {
        let failed = |mut error: Error| {
            error.attempts = self.head.attempts;
            Err(error)
        };
        let Some(body) = self.body.as_string() else {
            return failed(Error::new(
                ErrorKind::Network,
                "the response body could not be read as text",
            ));
        };
        if body.len() > MAX_RESPONSE_BYTES {
            return failed(too_large(self.head.status, body.len()));
        }
        Ok(HttpResponse { body, ..self.head })
    }

    /// The `kind` object of a successful JSON user body, parsed by the host; `None` when the
    /// answer is anything else, which [`Received::into_response`] and the core then explain.
    pub fn object_field(&self, kind: MetadataKind) -> Option<JsValue> {
        if !(self.head.is_success() && self.head.is_json()) {
            return None;
        }
        let object = object_field(&self.body, kind.field(), json::MAX_DEPTH as u32);
        (!object.is_undefined()).then_some(object)
    }
}

/// Outcomes of exchanges in flight, by id. One long-lived callback fills them in, where a
/// `JsFuture` per request would make (and register for finalization) two closures each time.
#[derive(Default)]
struct Exchanges {
    next_id: u32,
    slots: Vec<(u32, Slot)>,
}

#[derive(Default)]
struct Slot {
    outcome: Option<Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

impl Exchanges {
    fn slot(&mut self, id: u32) -> Option<&mut Slot> {
        self.slots
            .iter_mut()
            .find(|(slot_id, _)| *slot_id == id)
            .map(|(_, slot)| slot)
    }

    fn remove(&mut self, id: u32) {
        if let Some(index) = self.slots.iter().position(|(slot_id, _)| *slot_id == id) {
            self.slots.swap_remove(index);
        }
    }
}

/// Resolves when the exchange `id` is settled; forgets it if dropped first.
struct Settlement<'a> {
    exchanges: &'a RefCell<Exchanges>,
    id: u32,
}

impl Future for Settlement<'_> {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let mut exchanges = self.exchanges.borrow_mut();
        let Some(slot) = exchanges.slot(self.id) else {
            // Cannot happen (the slot lives as long as this future); an empty failure reads
            // as a network error rather than anything that could throw.
            return Poll::Ready(Err(Object::new().into()));
        };
        match slot.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                slot.waker = Some(context.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Settlement<'_> {
    fn drop(&mut self) {
        self.exchanges.borrow_mut().remove(self.id);
    }
}

/// The host's clock. Reading it is a call into the host, so a decision that does not need it
/// (limiter off, cache off) passes [`now_if`]`(false)` instead.
pub(crate) fn now() -> f64 {
    js_sys::Date::now()
}

/// The time, read only when `needed`; otherwise 0, which nothing then looks at.
pub(crate) fn now_if(needed: bool) -> f64 {
    if needed {
        now()
    } else {
        0.0
    }
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Setting a data property on a fresh plain object cannot throw.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

impl Transport {
    pub fn new(
        fetch: Option<Function>,
        timeout_ms: f64,
        retry: RetryPolicy,
        limiter: RateLimiter,
    ) -> Transport {
        let exchanges = Rc::new(RefCell::new(Exchanges::default()));
        Transport {
            fetch,
            timeout_ms,
            retry,
            limiter: RefCell::new(limiter),
            waiting: RefCell::new(Vec::new()),
            headers: RefCell::new(None),
            settled: Closure::new({
                let exchanges = Rc::clone(&exchanges);
                move |id: u32, value: JsValue, ok: bool| {
                    let waker = exchanges.borrow_mut().slot(id).and_then(|slot| {
                        slot.outcome = Some(if ok { Ok(value) } else { Err(value) });
                        slot.waker.take()
                    });
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
            }),
            exchanges,
        }
    }

    fn headers(&self, config: &Config, with_body: bool) -> Object {
        let mut cached = self.headers.borrow_mut();
        let [without, with] = cached.get_or_insert_with(|| {
            let build = |content_type: bool| {
                let headers = Object::new();
                set(
                    &headers,
                    "authorization",
                    &config.secret_key.bearer().into(),
                );
                set(&headers, "clerk-api-version", &API_VERSION.into());
                set(&headers, "user-agent", &USER_AGENT.into());
                set(&headers, "accept", &"application/json".into());
                if content_type {
                    set(&headers, "content-type", &"application/json".into());
                }
                headers
            };
            [build(false), build(true)]
        });
        if with_body {
            with.clone()
        } else {
            without.clone()
        }
    }

    /// Sends the plan, waiting for the rate limiter and retrying transient failures.
    /// A 2xx response is returned as is; anything else becomes an [`Error`] with `attempts` set.
    pub async fn execute(
        &self,
        config: &Config,
        plan: &RequestPlan,
        signal: Option<&AbortSignal>,
    ) -> Result<Received, Error> {
        let started = now();
        let mut attempts = 0u32;
        loop {
            let ticket = self.acquire(plan, started, attempts, signal).await?;
            attempts += 1;
            let outcome = self.send_once(config, plan, signal).await;
            self.release(ticket);
            let mut error = match outcome {
                Ok(mut received) if received.head.is_success() => {
                    received.head.attempts = attempts;
                    return Ok(received);
                }
                Ok(received) => match received.into_response() {
                    Ok(response) => response::api_error(&response),
                    Err(error) => error,
                },
                Err(error) => error,
            };
            error.attempts = attempts;
            match self
                .retry
                .decide(attempts, &error, now() - started, js_sys::Math::random())
            {
                Decision::Retry { delay_ms } => {
                    let deadline = started + self.retry.deadline_ms;
                    self.wait(now() + delay_ms, deadline, attempts, signal, false)
                        .await?
                }
                Decision::GiveUp => return Err(error),
            }
        }
    }

    /// Waits for a rate-limiter slot; a request that is never sent never holds one, and a
    /// user's writes are granted in the order they were made.
    async fn acquire(
        &self,
        plan: &RequestPlan,
        started: f64,
        attempts: u32,
        signal: Option<&AbortSignal>,
    ) -> Result<Ticket, Error> {
        let deadline = started + self.retry.deadline_ms;
        let is_write = plan.method.is_write();
        let place = self
            .limiter
            .borrow_mut()
            .enqueue(&plan.user_id, is_write, attempts > 0);
        let outcome = loop {
            if let Err(error) = check_aborted(signal, attempts) {
                break Err(error);
            }
            let answer = {
                let mut limiter = self.limiter.borrow_mut();
                let at = now_if(!limiter.is_off());
                limiter.try_acquire(at, &plan.user_id, is_write, place)
            };
            let until = match answer {
                Acquire::Granted(ticket) => break Ok(ticket),
                Acquire::WaitUntil(at) => at,
                Acquire::WaitForRelease => f64::INFINITY,
            };
            if let Err(error) = self.wait(until, deadline, attempts, signal, true).await {
                break Err(error);
            }
        };
        if outcome.is_err() {
            self.limiter.borrow_mut().abandon(&plan.user_id, place);
        }
        // The queue moved (granted or given up): whoever is next must look again.
        if place.is_some() && self.limiter.borrow().has_queue(&plan.user_id) {
            self.wake_waiting();
        }
        outcome
    }

    fn wake_waiting(&self) {
        let woken: Vec<Function> = self.waiting.borrow_mut().drain(..).collect();
        for wake in woken {
            let _ = wake.call0(&JsValue::UNDEFINED);
        }
    }

    /// The response for a ticket is in: free its slot a window from now, and wake the queue.
    fn release(&self, ticket: Ticket) {
        {
            let mut limiter = self.limiter.borrow_mut();
            let at = now_if(!limiter.is_off());
            limiter.release(ticket, at);
        }
        self.wake_waiting();
    }

    /// Sleeps until `until` (or, for the rate limiter, until any response frees a slot), unless
    /// the caller aborts or the operation's deadline would pass first.
    async fn wait(
        &self,
        until: f64,
        deadline: f64,
        attempts: u32,
        signal: Option<&AbortSignal>,
        wake_on_release: bool,
    ) -> Result<(), Error> {
        check_aborted(signal, attempts)?;
        let now = now();
        if until <= now {
            return Ok(());
        }
        if until > deadline && (!wake_on_release || now >= deadline) {
            let mut error = Error::new(
                ErrorKind::Timeout,
                format!(
                    "the rate limiter or a retry would wait past the {} ms deadline",
                    number_text(self.retry.deadline_ms)
                ),
            );
            error.attempts = attempts;
            return Err(error);
        }
        let waiting = wake_on_release.then_some(&self.waiting);
        // setTimeout treats anything over 2^31 - 1 ms as 1 ms: cap, then ask again.
        let ms = (until.min(deadline) - now).min(2_147_483_647.0);
        sleep(ms, signal, waiting).await;
        check_aborted(signal, attempts)
    }

    async fn send_once(
        &self,
        config: &Config,
        plan: &RequestPlan,
        signal: Option<&AbortSignal>,
    ) -> Result<Received, Error> {
        let headers = self.headers(config, plan.body.is_some());
        let id = {
            let mut exchanges = self.exchanges.borrow_mut();
            exchanges.next_id = exchanges.next_id.wrapping_add(1);
            let id = exchanges.next_id;
            exchanges.slots.push((id, Slot::default()));
            id
        };
        let settlement = Settlement {
            exchanges: &self.exchanges,
            id,
        };
        exchange(
            self.fetch.as_ref(),
            &config.url(&plan.path),
            plan.method.as_str(),
            &headers,
            plan.body.as_deref(),
            self.timeout_ms,
            signal,
            MAX_RESPONSE_BYTES as f64,
            id,
            self.settled.as_ref().unchecked_ref(),
        );
        let answer = settlement
            .await
            .map_err(|failure| self.failure(failure.unchecked_into()))?;
        let answer: Answer = answer.unchecked_into();
        Ok(Received {
            head: HttpResponse {
                status: answer.status(),
                content_type: answer.content_type(),
                retry_after: answer.retry_after(),
                cf_ray: answer.cf_ray(),
                body: String::new(),
                attempts: 0,
            },
            body: answer.body(),
        })
    }

    /// Names why an exchange failed: the caller's abort, our timeout, or the network.
    fn failure(&self, failure: Failure) -> Error {
        match failure.kind().as_deref().unwrap_or("network") {
            "aborted" => Error::new(
                ErrorKind::Aborted,
                "the operation was aborted by its AbortSignal",
            ),
            "timeout" => Error::new(
                ErrorKind::Timeout,
                format!(
                    "no complete response within {} ms",
                    number_text(self.timeout_ms)
                ),
            ),
            "not_response" => Error::new(
                ErrorKind::InvalidResponse,
                "fetch resolved with something that is not a Response",
            ),
            "too_large" => too_large(failure.status(), failure.bytes() as usize),
            _ => Error::new(
                ErrorKind::Network,
                format!("network error: {}", describe_js_error(&failure.cause())),
            ),
        }
    }
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

pub(crate) fn check_aborted(signal: Option<&AbortSignal>, attempts: u32) -> Result<(), Error> {
    match signal {
        Some(signal) if signal.aborted() => {
            let mut error = Error::new(
                ErrorKind::Aborted,
                "the operation was aborted by its AbortSignal",
            );
            error.attempts = attempts;
            Err(error)
        }
        _ => Ok(()),
    }
}

/// `message` of a JS error and of its `cause` (undici puts the useful part there), no stack.
fn describe_js_error(error: &JsValue) -> String {
    let message_of = |value: &JsValue| {
        Reflect::get(value, &"message".into())
            .ok()
            .and_then(|message| message.as_string())
            .filter(|message| !message.is_empty())
    };
    let mut text = message_of(error)
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "fetch failed".into());
    if let Some(cause) = Reflect::get(error, &"cause".into())
        .ok()
        .filter(JsValue::is_object)
    {
        if let Some(cause_message) = message_of(&cause) {
            text.push_str(&format!(" ({cause_message})"));
        }
    }
    text
}

/// Awaits `promise`, or fails as soon as `signal` aborts, whether or not whatever made the
/// promise honours the signal. The listener is removed either way.
pub(crate) async fn unless_aborted(
    promise: Promise,
    signal: Option<&AbortSignal>,
) -> Result<JsValue, JsValue> {
    let Some(signal) = signal else {
        return JsFuture::from(promise).await;
    };
    if signal.aborted() {
        return Err(JsValue::from_str("aborted"));
    }
    let mut stop: Option<Function> = None;
    let aborted = Promise::new(&mut |_resolve, reject| {
        let _ = signal.add_event_listener_with_callback("abort", &reject);
        stop = Some(reject);
    });
    let result = JsFuture::from(Promise::race(&Array::of2(&promise, &aborted))).await;
    if let Some(stop) = stop {
        let _ = signal.remove_event_listener_with_callback("abort", &stop);
    }
    result
}

/// Resolves after `ms`, as soon as `signal` aborts, or (with `waiting`) when a rate-limiter
/// slot frees; leaves no timer, listener or queue entry behind.
async fn sleep(ms: f64, signal: Option<&AbortSignal>, waiting: Option<&RefCell<Vec<Function>>>) {
    let mut timer = JsValue::UNDEFINED;
    let mut wake: Option<Function> = None;
    let promise = Promise::new(&mut |resolve, _reject| {
        timer = set_timeout(&resolve, ms);
        if let Some(signal) = signal {
            let _ = signal.add_event_listener_with_callback("abort", &resolve);
        }
        if let Some(waiting) = waiting {
            waiting.borrow_mut().push(resolve.clone());
        }
        wake = Some(resolve);
    });
    let _ = JsFuture::from(promise).await;
    clear_timeout(&timer);
    if let Some(wake) = wake {
        if let Some(signal) = signal {
            let _ = signal.remove_event_listener_with_callback("abort", &wake);
        }
        if let Some(waiting) = waiting {
            let wake: &JsValue = &wake;
            waiting.borrow_mut().retain(|queued| {
                let queued: &JsValue = queued;
                queued != wake
            });
        }
    }
}
