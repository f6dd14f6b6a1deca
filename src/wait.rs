//! Waiting in the host: a sleep that the caller's signal (or a freed rate-limiter slot) can cut
//! short, and the private view of a caller's signal that every wait of one call listens to.

use std::cell::RefCell;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::core::options::MAX_TIMER_MS;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    pub(crate) fn set_timeout(callback: &Function, ms: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(handle: &JsValue);

    #[wasm_bindgen(js_namespace = AbortSignal, js_name = any, catch)]
    fn abort_signal_any(signals: &Array) -> Result<AbortSignal, JsValue>;
}

/// A signal that follows `signal` and belongs to one call. Every wait and request of the call
/// listens to it, never to the caller's own: one signal shared by many concurrent calls then
/// carries no listener of ours at all, and the host warns about none (Node warns past 10).
/// Where the host has no `AbortSignal.any`, the caller's signal is used as it is.
pub fn private_view(signal: &AbortSignal) -> AbortSignal {
    abort_signal_any(&Array::of1(signal)).unwrap_or_else(|_| signal.clone())
}

/// The host's clock, in milliseconds.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// The clock, read only when `needed` (a cache or limiter that is off never looks at it):
/// reading it is a call into the host.
pub fn clock_if(needed: bool) -> f64 {
    if needed {
        now()
    } else {
        0.0
    }
}

/// Resolves after `ms`, as soon as `signal` aborts, or (with `waiting`) when something calls the
/// resolver it queued there; leaves no timer, listener or queue entry behind.
pub async fn sleep(
    ms: f64,
    signal: Option<&AbortSignal>,
    waiting: Option<&RefCell<Vec<Function>>>,
) {
    let mut timer = JsValue::UNDEFINED;
    let mut wake: Option<Function> = None;
    let promise = Promise::new(&mut |resolve, _reject| {
        // Hosts treat a longer timer as 1 ms: wake then, and the caller asks again.
        timer = set_timeout(&resolve, ms.clamp(0.0, MAX_TIMER_MS));
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
    let Some(wake) = wake else {
        return;
    };
    if let Some(signal) = signal {
        let _ = signal.remove_event_listener_with_callback("abort", &wake);
    }
    if let Some(waiting) = waiting {
        waiting.borrow_mut().retain(|queued| {
            let (queued, wake): (&JsValue, &JsValue) = (queued, &wake);
            queued != wake
        });
    }
}

/// Calls every resolver queued by [`sleep`] in `waiting`.
pub fn wake_all(waiting: &RefCell<Vec<Function>>) {
    let woken: Vec<Function> = waiting.borrow_mut().drain(..).collect();
    for wake in woken {
        let _ = wake.call0(&JsValue::UNDEFINED);
    }
}

/// How a bounded wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    Settled,
    Aborted,
    /// The deadline came first.
    Late,
}

/// Awaits `promise` (whatever its outcome), unless `signal` aborts or `until` (host clock, ms)
/// comes first. Leaves no timer or listener behind.
pub async fn settled(promise: &Promise, signal: Option<&AbortSignal>, until: f64) -> Waited {
    if signal.is_some_and(AbortSignal::aborted) {
        return Waited::Aborted;
    }
    let mut stop: Option<Function> = None;
    let mut timer = JsValue::UNDEFINED;
    let cut_short = Promise::new(&mut |resolve, _reject| {
        timer = set_timeout(&resolve, (until - now()).clamp(0.0, MAX_TIMER_MS));
        if let Some(signal) = signal {
            let _ = signal.add_event_listener_with_callback("abort", &resolve);
        }
        stop = Some(resolve);
    });
    let _ = JsFuture::from(Promise::race(&Array::of2(promise, &cut_short))).await;
    clear_timeout(&timer);
    if let (Some(signal), Some(stop)) = (signal, &stop) {
        let _ = signal.remove_event_listener_with_callback("abort", stop);
    }
    if signal.is_some_and(AbortSignal::aborted) {
        Waited::Aborted
    } else if now() >= until {
        // Past the deadline, whether or not the promise settled meanwhile: nothing may start.
        Waited::Late
    } else {
        Waited::Settled
    }
}

/// Calls `callback` with `promise`'s value or rejection reason once it settles
/// (`promise.then(callback, callback)`): a rejection is handled, never left for the host to
/// report as unhandled (Node ends the process on one).
pub fn when_settled(promise: &Promise, callback: &JsValue) {
    let then = Reflect::get(promise, &"then".into()).and_then(JsCast::dyn_into::<Function>);
    if let Ok(then) = then {
        let _ = then.call2(promise, callback, callback);
    }
}

/// A promise and the function that resolves it.
pub fn deferred() -> (Promise, Function) {
    let mut resolver: Option<Function> = None;
    let promise = Promise::new(&mut |resolve, _reject| resolver = Some(resolve));
    // The executor runs synchronously, so the resolver is always there.
    (
        promise,
        resolver.unwrap_or_else(|| Function::new_no_args("")),
    )
}
