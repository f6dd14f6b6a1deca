//! Sends a [`RequestPlan`]: waits for the rate limiter, makes the exchange, and retries what
//! the core's [`RetryPolicy`] says may be retried, all within the operation's deadline.
//!
//! A write whose outcome is unknown (it timed out, or its connection dropped after the body was
//! sent) is marked so in its error and, unless the client opted in, not sent again: it may still
//! be applied, and a second copy could land after a later write.

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, Headers};

use crate::bindings::Call;
use crate::core::config::{Config, API_VERSION, USER_AGENT};
use crate::core::error::{number_text, Error, ErrorKind};
use crate::core::plan::RequestPlan;
use crate::core::response::{self, HttpResponse};
use crate::core::retry::{Decision, RetryPolicy};
use crate::exchange::{aborted, exchange, Failure, Outgoing};
use crate::limiter::{Limiter, SlotRequest};
use crate::wait::{now, sleep};

/// How the client sends: which fetch, how patiently, and at what pace.
pub struct Transport {
    pub fetch: Option<Function>,
    pub timeout_ms: f64,
    pub retry: RetryPolicy,
    pub limiter: Limiter,
    /// The caller's `onWait`, told before each wait for the rate limiter or a retry.
    pub on_wait: Option<Function>,
    /// The request headers without and with a body, made on first use: the host's `fetch`
    /// copies them, so one pair serves every request of this client (whose key never changes).
    pub headers: RefCell<Option<[Headers; 2]>>,
}

/// A failed operation's error, and when its request was given up (for the settle rule).
pub struct Failed {
    pub error: Error,
    /// Host time at which the last request of an unknown write was aborted.
    pub unknown_since: Option<f64>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed {
            error,
            unknown_since: None,
        }
    }
}

fn headers(config: &Config, with_body: bool) -> Result<Headers, Error> {
    let build = || -> Result<Headers, JsValue> {
        let headers = Headers::new()?;
        headers.set("authorization", &config.secret_key.bearer())?;
        headers.set("clerk-api-version", API_VERSION)?;
        headers.set("user-agent", USER_AGENT)?;
        headers.set("accept", "application/json")?;
        if with_body {
            headers.set("content-type", "application/json")?;
        }
        Ok(headers)
    };
    build().map_err(|_| Error::new(ErrorKind::Network, "this host has no Headers class"))
}

impl Transport {
    fn headers_for(&self, config: &Config, with_body: bool) -> Result<Headers, Error> {
        let mut cached = self.headers.borrow_mut();
        if cached.is_none() {
            *cached = Some([headers(config, false)?, headers(config, true)?]);
        }
        let template = match cached.as_ref() {
            Some(pair) => pair[usize::from(with_body)].clone(),
            None => return headers(config, with_body),
        };
        // An injected fetch is user code and may change what it is given: it gets a copy.
        if self.fetch.is_some() {
            return Headers::new_with_headers(&template)
                .map_err(|_| Error::new(ErrorKind::Network, "this host has no Headers class"));
        }
        Ok(template)
    }

    /// Sends the plan until it succeeds or the retry policy gives up. A 2xx response is
    /// returned as is; anything else becomes an [`Error`] with `attempts` set.
    pub async fn execute(
        &self,
        config: &Config,
        plan: &RequestPlan,
        call: &Call,
    ) -> Result<HttpResponse, Failed> {
        let (signal, deadline_at) = (call.signal(), call.deadline_at);
        let started = deadline_at - call.deadline_ms;
        let headers = self.headers_for(config, plan.body.is_some())?;
        let url = config.url(&plan.path);
        let outgoing = Outgoing {
            fetch: self.fetch.as_ref(),
            url: &url,
            method: plan.method.as_str(),
            headers: &headers,
            body: plan.body.as_deref(),
            max_response_bytes: plan.max_response_bytes,
        };
        let mut attempts = 0u32;
        loop {
            let slot = self
                .limiter
                .acquire(&SlotRequest {
                    user_id: &plan.user_id,
                    is_write: plan.method.is_write(),
                    retry: attempts > 0,
                    live: config.secret_key.is_live(),
                    call,
                    on_wait: self.on_wait.as_ref(),
                })
                .await
                .map_err(|error| with_attempts(error, attempts))?;
            let remaining = deadline_at - now();
            if remaining <= 0.0 {
                // Nothing is sent past the deadline (so nothing of unknown outcome either).
                self.limiter.release(slot, deadline_at).await;
                return Err(with_attempts(call.past_deadline("the next request"), attempts).into());
            }
            attempts += 1;
            let deadline_cut = remaining < self.timeout_ms;
            let outcome = exchange(
                &outgoing,
                self.timeout_ms.min(remaining.max(0.0)),
                deadline_cut,
                signal,
            )
            .await;
            self.limiter.release(slot, deadline_at).await;
            let (error, unknown_since) = match outcome {
                Ok(response) if response.is_success() => {
                    return Ok(HttpResponse {
                        attempts,
                        ..response
                    })
                }
                Ok(response) => (response::api_error(&response), None),
                Err(failure) => self.classify(plan, failure),
            };
            let error = with_attempts(error, attempts);
            let decision =
                self.retry
                    .decide(attempts, &error, now() - started, js_sys::Math::random());
            let Decision::Retry { delay_ms } = decision else {
                return Err(Failed {
                    error,
                    unknown_since,
                });
            };
            if delay_ms > 0.0 {
                notify_wait(
                    self.on_wait.as_ref(),
                    "retry",
                    delay_ms,
                    attempts,
                    error.status,
                );
                sleep(delay_ms, signal, None).await;
            }
            if signal.is_some_and(AbortSignal::aborted) {
                return Err(Failed {
                    error: with_attempts(aborted(), attempts),
                    unknown_since,
                });
            }
        }
    }

    /// A failed exchange of a write is of unknown outcome, unless nothing was sent or the
    /// caller stopped it before it left.
    fn classify(&self, plan: &RequestPlan, failure: Failure) -> (Error, Option<f64>) {
        let mut error = failure.error;
        let may_have_landed = plan.method.is_write()
            && !failure.certainly_unsent
            && matches!(
                error.kind,
                ErrorKind::Timeout | ErrorKind::Network | ErrorKind::Aborted
            );
        if !may_have_landed {
            return (error, None);
        }
        error.outcome_unknown = true;
        if error.kind != ErrorKind::Aborted {
            error.reason.push_str(&format!(
                "; the write's outcome is unknown: it may still be applied. Read the metadata back to see, or send it again (this client's next write to the user waits {} ms for it first; retryUnknownWrites: true retries automatically)",
                number_text(self.retry.write_settle_ms)
            ));
        }
        (error, Some(now()))
    }
}

/// Tells the caller's `onWait` (a CLI's notice, a log) that the operation waits `ms`. What it
/// throws is ignored: a notice must not change the outcome.
pub fn notify_wait(
    on_wait: Option<&Function>,
    reason: &str,
    ms: f64,
    attempts: u32,
    status: Option<u16>,
) {
    let Some(on_wait) = on_wait else {
        return;
    };
    let wait = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&wait, &"reason".into(), &reason.into());
    let _ = js_sys::Reflect::set(&wait, &"ms".into(), &ms.into());
    let _ = js_sys::Reflect::set(&wait, &"attempts".into(), &attempts.into());
    if let Some(status) = status {
        let _ = js_sys::Reflect::set(&wait, &"status".into(), &status.into());
    }
    let _ = on_wait.call1(&JsValue::UNDEFINED, &wait);
}

fn with_attempts(mut error: Error, attempts: u32) -> Error {
    error.attempts = attempts;
    error
}
