//! The rate limiter behind one small interface: acquire a slot for a request (a per-user write
//! slot for a write, an instance slot for every request), then release it when the answer is in.
//!
//! The built-in limiter ([`core::limiter::RateLimiter`](crate::core::limiter::RateLimiter)) counts
//! within this client. A host-side one (the `limiter` option: Convex components, Redis) stands in
//! for it when Clerk's limits must be shared by many processes; its contract is documented with
//! `ClerkRateLimiter` in js/client.ts.

use std::cell::RefCell;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::bindings::Call;
use crate::core::error::{Error, ErrorKind};
use crate::core::limiter::{Acquire, RateLimiter, Ticket};
use crate::exchange::aborted;
use crate::transport::notify_wait;
use crate::wait::{clock_if, now, settled, sleep, wake_all, when_settled, Waited};

/// What a request asks the limiter for.
pub struct SlotRequest<'a> {
    pub user_id: &'a str,
    pub is_write: bool,
    /// A retry of a request that already waited its turn once.
    pub retry: bool,
    /// The secret key is a production one (`sk_live_`): Clerk's instance limit is 1000, not 100.
    pub live: bool,
    /// The operation's signal and deadline.
    pub call: &'a Call,
    /// Told once, before the first wait.
    pub on_wait: Option<&'a Function>,
}

/// A granted slot, given back with [`Limiter::release`].
pub enum Slot {
    Local(Ticket),
    /// The release function a host limiter returned, if any.
    Host(Option<Function>),
}

pub enum Limiter {
    Local {
        state: RefCell<RateLimiter>,
        /// Resolvers of requests waiting for a slot, woken whenever a slot frees.
        waiting: RefCell<Vec<Function>>,
    },
    Host(Object),
}

impl Limiter {
    pub fn local(state: RateLimiter) -> Limiter {
        Limiter::Local {
            state: RefCell::new(state),
            waiting: RefCell::new(Vec::new()),
        }
    }

    pub async fn acquire(&self, request: &SlotRequest<'_>) -> Result<Slot, Error> {
        match self {
            Limiter::Local { state, waiting } => acquire_local(state, waiting, request)
                .await
                .map(Slot::Local),
            Limiter::Host(host) => acquire_host(host, request).await.map(Slot::Host),
        }
    }

    /// The answer for `slot` is in (or the request failed): it frees a window from now. A host's
    /// release is waited for until `until` (the operation's deadline) at most.
    pub async fn release(&self, slot: Slot, until: f64) {
        match (self, slot) {
            (Limiter::Local { state, waiting }, Slot::Local(ticket)) => {
                {
                    let mut state = state.borrow_mut();
                    let at = clock_if(!state.is_off());
                    state.release(ticket, at);
                }
                wake_all(waiting);
            }
            (Limiter::Host(_), Slot::Host(release)) => release_host(release, until).await,
            _ => {}
        }
    }
}

/// Waits for the built-in limiter; a request that is never sent never holds a slot, and a
/// user's writes are granted in the order they were made.
async fn acquire_local(
    state: &RefCell<RateLimiter>,
    waiting: &RefCell<Vec<Function>>,
    request: &SlotRequest<'_>,
) -> Result<Ticket, Error> {
    let place = state
        .borrow_mut()
        .enqueue(request.user_id, request.is_write, request.retry);
    let (signal, deadline_at) = (request.call.signal(), request.call.deadline_at);
    let mut told = false;
    let outcome = loop {
        if signal.is_some_and(AbortSignal::aborted) {
            break Err(aborted());
        }
        let answer = {
            let mut state = state.borrow_mut();
            let at = clock_if(!state.is_off());
            state.try_acquire(at, request.user_id, request.is_write, place)
        };
        let until = match answer {
            Acquire::Granted(ticket) => break Ok(ticket),
            Acquire::WaitUntil(at) => at,
            Acquire::WaitForRelease => f64::INFINITY,
        };
        // A known wait past the deadline fails now; a wait for a release, once it reaches it.
        if until > deadline_at && (until.is_finite() || now() >= deadline_at) {
            break Err(request.call.past_deadline("the rate limiter"));
        }
        if !told {
            told = true;
            let ms = until.min(deadline_at) - now();
            notify_wait(request.on_wait, "rate_limit", ms, 0, None);
        }
        sleep(until.min(deadline_at) - now(), signal, Some(waiting)).await;
    };
    if outcome.is_err() {
        state.borrow_mut().abandon(request.user_id, place);
    }
    // The queue moved (granted or given up): whoever is next must look again.
    if place.is_some() && state.borrow().has_queue(request.user_id) {
        wake_all(waiting);
    }
    outcome
}

/// Asks a host limiter: `acquire({ userId, write, signal })` resolves (with an optional release
/// function) when the request may be sent.
async fn acquire_host(host: &Object, request: &SlotRequest<'_>) -> Result<Option<Function>, Error> {
    let slot = Object::new();
    let _ = Reflect::set(&slot, &"userId".into(), &request.user_id.into());
    let _ = Reflect::set(&slot, &"write".into(), &request.is_write.into());
    let _ = Reflect::set(&slot, &"live".into(), &request.live.into());
    ask_host(host, "acquire", slot, request.call).await
}

/// Holds a user across an exact set's read and patch, so that no write from another process
/// lands between them: the host limiter's `lockUser({ userId, signal })`, when it has one.
/// Within one client the user's lane already does this, so the built-in limiter needs no lock.
pub async fn lock_user(
    limiter: &Limiter,
    user_id: &str,
    call: &Call,
) -> Result<Option<Function>, Error> {
    let Limiter::Host(host) = limiter else {
        return Ok(None);
    };
    let has_lock = Reflect::get(host, &"lockUser".into()).is_ok_and(|lock| lock.is_function());
    if !has_lock {
        return Ok(None);
    }
    let request = Object::new();
    let _ = Reflect::set(&request, &"userId".into(), &user_id.into());
    ask_host(host, "lockUser", request, call).await
}

/// Calls `host[method](request)` with the call's signal added. The wait ends early on the
/// caller's abort or the operation's deadline; a slot granted after that is released as soon as
/// it arrives.
async fn ask_host(
    host: &Object,
    method: &str,
    request: Object,
    call: &Call,
) -> Result<Option<Function>, Error> {
    let refused = |why: String| {
        Error::new(
            ErrorKind::Network,
            format!("the rate limiter failed: {why}"),
        )
    };
    let function = Reflect::get(host, &method.into())
        .ok()
        .and_then(|function| function.dyn_into::<Function>().ok())
        .ok_or_else(|| refused(format!("options.limiter has no {method} function")))?;
    if let Some(signal) = call.signal() {
        let _ = Reflect::set(&request, &"signal".into(), signal);
    }
    let pending = function
        .call1(host, &request)
        .map(|answer| Promise::resolve(&answer))
        .map_err(|thrown| refused(describe(&thrown)))?;
    match settled(&pending, call.signal(), call.deadline_at).await {
        Waited::Settled => {}
        Waited::Aborted => return Err(release_when_granted(&pending, aborted())),
        Waited::Late => {
            let late = call.past_deadline("the rate limiter");
            return Err(release_when_granted(&pending, late));
        }
    }
    let release = JsFuture::from(pending)
        .await
        .map_err(|thrown| refused(describe(&thrown)))?;
    Ok(release.dyn_into::<Function>().ok())
}

/// Calls a host's release function and waits for the promise it may return, until `until` at
/// most: in hosts that drop what is still pending when a function returns (Convex actions,
/// serverless), a release left running could be lost, but a release that never settles must not
/// hold the call past its deadline. What it throws or rejects with is ignored (the slot frees by
/// its lease).
pub async fn release_host(release: Option<Function>, until: f64) {
    let Some(release) = release else {
        return;
    };
    if let Ok(answer) = release.call0(&JsValue::UNDEFINED) {
        if answer.is_object() {
            let _ = settled(&Promise::resolve(&answer), None, until).await;
        }
    }
}

/// Lets go of a user lock at `at` (host clock), in the background: a write of unknown outcome
/// may still land until then, and no other process may read the user before it has.
pub fn release_host_at(release: Option<Function>, at: f64) {
    if release.is_none() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        sleep(at - now(), None, None).await;
        release_host(release, f64::INFINITY).await;
    });
}

/// A host slot the caller no longer wants: released when (and if) it is granted.
fn release_when_granted(pending: &Promise, error: Error) -> Error {
    let release = Closure::once_into_js(|granted: JsValue| {
        let release = granted.dyn_into::<Function>().ok();
        wasm_bindgen_futures::spawn_local(release_host(release, f64::INFINITY));
    });
    when_settled(pending, &release);
    error
}

fn describe(thrown: &JsValue) -> String {
    Reflect::get(thrown, &"message".into())
        .ok()
        .and_then(|message| message.as_string())
        .or_else(|| thrown.as_string())
        .unwrap_or_else(|| "it threw".into())
}
