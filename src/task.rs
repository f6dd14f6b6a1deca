//! Runs each operation's future as a JS `Promise`: polled at once, in the call that started it
//! (as an `async` function runs until its first `await`), and again in the call that wakes it.
//!
//! Why not wasm-bindgen-futures' `future_to_promise`: it builds its promise through a closure the
//! host calls back into wasm, and polls only from a queued microtask, both on the way out (before
//! the request is sent) and on the way back (after the answer is in). On a read that was a good
//! part of this package's own cost per call. `JsFuture` (sleeps, aborts) still wakes these tasks.
//!
//! Re-entrancy: a task is never polled inside another poll. A wake or a new task that arrives
//! while some task is being polled (an injected `fetch` that calls the client synchronously, a
//! fetch that fails synchronously) is run from a microtask instead, as wasm-bindgen-futures
//! would have run it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/transport.js")]
extern "C" {
    /// A promise with its settle functions (see transport.js).
    type Deferred;
    #[wasm_bindgen(constructor)]
    fn new() -> Deferred;
    #[wasm_bindgen(method, getter)]
    fn promise(this: &Deferred) -> Promise;
    #[wasm_bindgen(method)]
    fn resolve(this: &Deferred, value: &JsValue);
    #[wasm_bindgen(method)]
    fn reject(this: &Deferred, value: &JsValue);
}

/// What a task runs: its result becomes the promise's value, or its rejection.
pub type Work = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

struct Task {
    /// `None` once the work is done.
    work: RefCell<Option<Work>>,
    deferred: Deferred,
    /// Woken while being polled: poll again right after.
    woken: Cell<bool>,
    polling: Cell<bool>,
}

thread_local! {
    /// Whether any task is being polled now.
    static POLLING: Cell<bool> = const { Cell::new(false) };
}

/// Starts `work` and returns its promise.
pub fn spawn(work: Work) -> Promise {
    let task = Rc::new(Task {
        work: RefCell::new(Some(work)),
        deferred: Deferred::new(),
        woken: Cell::new(false),
        polling: Cell::new(false),
    });
    let promise = task.deferred.promise();
    wake(task);
    promise
}

/// Polls the task now, or from a microtask when some poll is under way.
fn wake(task: Rc<Task>) {
    if task.polling.get() {
        task.woken.set(true);
    } else if POLLING.with(Cell::get) {
        wasm_bindgen_futures::spawn_local(async move { run(&task) });
    } else {
        run(&task);
    }
}

fn run(task: &Rc<Task>) {
    task.polling.set(true);
    POLLING.with(|polling| polling.set(true));
    let waker = waker(Rc::clone(task));
    let mut context = Context::from_waker(&waker);
    let outcome = loop {
        task.woken.set(false);
        let poll = match task.work.borrow_mut().as_mut() {
            Some(work) => work.as_mut().poll(&mut context),
            None => break None,
        };
        match poll {
            Poll::Ready(outcome) => break Some(outcome),
            Poll::Pending if task.woken.get() => continue,
            Poll::Pending => break None,
        }
    };
    if outcome.is_some() {
        // Dropped here, outside the poll: what the future held (a pending exchange's slot) is
        // released before the promise settles.
        task.work.replace(None);
    }
    POLLING.with(|polling| polling.set(false));
    task.polling.set(false);
    match outcome {
        Some(Ok(value)) => task.deferred.resolve(&value),
        Some(Err(error)) => task.deferred.reject(&error),
        None => {}
    }
}

// A `Waker` is an `Rc<Task>` behind a raw pointer: wasm32 without atomics is single-threaded, so
// the `Send + Sync` that `Waker` promises holds (wasm-bindgen-futures does the same).
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

fn waker(task: Rc<Task>) -> Waker {
    let raw = RawWaker::new(Rc::into_raw(task).cast::<()>(), &VTABLE);
    // SAFETY: the vtable's functions treat the pointer as the `Rc<Task>` it came from.
    unsafe { Waker::from_raw(raw) }
}

unsafe fn clone_raw(pointer: *const ()) -> RawWaker {
    // SAFETY: `pointer` came from `Rc::into_raw` of a live `Rc<Task>`.
    unsafe { Rc::increment_strong_count(pointer.cast::<Task>()) };
    RawWaker::new(pointer, &VTABLE)
}

unsafe fn wake_raw(pointer: *const ()) {
    // SAFETY: consumes the reference this waker held.
    wake(unsafe { Rc::from_raw(pointer.cast::<Task>()) });
}

unsafe fn wake_by_ref_raw(pointer: *const ()) {
    // SAFETY: borrows the waker's reference without consuming it.
    let task = ManuallyDrop::new(unsafe { Rc::from_raw(pointer.cast::<Task>()) });
    wake(Rc::clone(&task));
}

unsafe fn drop_raw(pointer: *const ()) {
    // SAFETY: releases the reference this waker held.
    drop(unsafe { Rc::from_raw(pointer.cast::<Task>()) });
}
