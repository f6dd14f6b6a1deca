//! Writes, and the promise behind them: once this client has resolved a write to a user, no
//! request it sent earlier can be applied after it.
//!
//! Each user's writes go through a lane: one at a time, in call order. An exact set holds the
//! lane for its read and its patch, so concurrent writes always end in one of their sequential
//! orders. A write whose outcome is unknown leaves the lane closed until `writeSettleMs` after
//! its connection was closed, so it can no longer land after the next write.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Function, Promise, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use super::Client;
use crate::core::error::{number_text, quoted};
use crate::core::plan::{self, Method, RequestPlan};
use crate::core::{merge, response, validate, Error, ErrorKind, Map, MetadataKind};
use crate::exchange::aborted;
use crate::transport::Failed;
use crate::wait::{deferred, now, settled, sleep};

/// Lanes kept at most before idle ones are dropped.
const MAX_IDLE_LANES: usize = 1024;

struct Lane {
    /// Settles when the last write queued on this lane is done.
    tail: Option<Promise>,
    /// Writes queued or running.
    queued: usize,
    /// Until then, an earlier write of unknown outcome may still land (host clock, ms).
    settle_until: f64,
}

pub struct Lanes {
    users: RefCell<HashMap<String, Lane>>,
    settle_ms: f64,
}

/// A user's lane, held; given back with [`Lanes::leave`].
pub struct Turn {
    user_id: String,
    pass_on: Function,
}

impl Lanes {
    pub fn new(settle_ms: f64) -> Lanes {
        Lanes {
            users: RefCell::new(HashMap::new()),
            settle_ms,
        }
    }

    /// Waits for every earlier write to this user, then for any unknown one to settle.
    pub async fn enter(&self, user_id: &str, signal: Option<&AbortSignal>) -> Result<Turn, Error> {
        let (mine, pass_on) = deferred();
        let before = {
            let mut users = self.users.borrow_mut();
            let lane = users.entry(user_id.to_owned()).or_insert_with(|| Lane {
                tail: None,
                queued: 0,
                settle_until: 0.0,
            });
            // An idle lane (nobody queued) is entered at once, without a wait.
            let busy = lane.queued > 0;
            lane.queued += 1;
            lane.tail.replace(mine).filter(|_| busy)
        };
        let turn = Turn {
            user_id: user_id.to_owned(),
            pass_on,
        };
        let Some(before) = before else {
            return self.after_settling(turn, signal).await;
        };
        if !settled(&before, signal).await {
            // Given up while queued: the next writer still waits for the ones before this one.
            let then = Reflect::get(&before, &"then".into()).ok();
            if let Some(then) = then.and_then(|then| then.dyn_into::<Function>().ok()) {
                let _ = then.call1(&before, &turn.pass_on);
            }
            self.forget(&turn.user_id);
            return Err(aborted());
        }
        self.after_settling(turn, signal).await
    }

    /// Holding the lane, waits out an earlier write of unknown outcome, if any.
    async fn after_settling(
        &self,
        turn: Turn,
        signal: Option<&AbortSignal>,
    ) -> Result<Turn, Error> {
        let settle_until = self
            .users
            .borrow()
            .get(&turn.user_id)
            .map_or(0.0, |lane| lane.settle_until);
        let wait = settle_until - now();
        if wait > 0.0 {
            sleep(wait, signal, None).await;
            if signal.is_some_and(AbortSignal::aborted) {
                self.leave(turn, None);
                return Err(aborted());
            }
        }
        Ok(turn)
    }

    /// Hands the lane to the next write; `unknown_since` starts the settle time.
    pub fn leave(&self, turn: Turn, unknown_since: Option<f64>) {
        if let Some(since) = unknown_since {
            if let Some(lane) = self.users.borrow_mut().get_mut(&turn.user_id) {
                lane.settle_until = lane.settle_until.max(since + self.settle_ms);
            }
        }
        let _ = turn.pass_on.call0(&JsValue::UNDEFINED);
        self.forget(&turn.user_id);
    }

    fn forget(&self, user_id: &str) {
        let mut users = self.users.borrow_mut();
        if let Some(lane) = users.get_mut(user_id) {
            lane.queued = lane.queued.saturating_sub(1);
        }
        if users.len() > MAX_IDLE_LANES {
            let at = now();
            users.retain(|_, lane| lane.queued > 0 || lane.settle_until > at);
        }
    }
}

/// Everything about an exact set that can be refused before any request, read or write.
pub fn check_exact_set(user_id: &str, entries: &Map) -> Result<(), Error> {
    validate::user_id(user_id)?;
    merge::exact_set_patch(None, entries, "value")?;
    Ok(())
}

impl Client {
    /// One write, in its user's lane.
    pub(super) async fn send_write(
        &self,
        plan: RequestPlan,
        kind: MetadataKind,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        let turn = self.lanes.enter(&plan.user_id, signal).await?;
        let outcome = self.write(&plan, kind, signal).await;
        self.finish_write(turn, outcome)
    }

    fn finish_write(&self, turn: Turn, outcome: Result<(), Failed>) -> Result<JsValue, Error> {
        match outcome {
            Ok(()) => {
                self.lanes.leave(turn, None);
                Ok(JsValue::UNDEFINED)
            }
            Err(failed) => {
                self.lanes.leave(turn, failed.unknown_since);
                Err(failed.error)
            }
        }
    }

    /// Sends a write and checks Clerk answered with a user, so a proxy's HTML 200 is not
    /// mistaken for success. A success refreshes the cached user from Clerk's answer; a
    /// failure forgets it.
    async fn write(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        signal: Option<&AbortSignal>,
    ) -> Result<(), Failed> {
        let stamp = self.cache.borrow_mut().begin_write(&plan.user_id);
        let outcome = match self.config() {
            Ok(config) => self.transport.execute(config, plan, signal).await,
            Err(error) => Err(error.into()),
        }
        .and_then(|answer| response::user_fields(&answer, kind).map_err(Failed::from));
        let mut cache = self.cache.borrow_mut();
        let done = cache.write_completed(&plan.user_id);
        let result = match outcome {
            Ok(fields) => {
                let at = if cache.is_enabled() { now() } else { 0.0 };
                cache.store(&plan.user_id, done, fields, at);
                Ok(())
            }
            Err(failed) => {
                cache.invalidate(&plan.user_id);
                Err(failed)
            }
        };
        cache.finish(stamp);
        result
    }

    /// The exact set: reads first only when some value is an object (see
    /// [`merge::needs_current_value`]), then sends one `PATCH`, all in the user's lane.
    pub(super) async fn set_exact(
        &self,
        user_id: &str,
        kind: MetadataKind,
        entries: Map,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        let turn = self.lanes.enter(user_id, signal).await?;
        let outcome = self
            .exact_set_in_lane(user_id, kind, &entries, signal)
            .await;
        self.finish_write(turn, outcome)
    }

    async fn exact_set_in_lane(
        &self,
        user_id: &str,
        kind: MetadataKind,
        entries: &Map,
        signal: Option<&AbortSignal>,
    ) -> Result<(), Failed> {
        let current = if entries.values().any(merge::needs_current_value) {
            // Always from Clerk, never the cache: a key another process added since must be
            // named in the patch, or it would survive the exact set.
            let read = plan::get_user(user_id)?;
            let answer = self
                .transport
                .execute(self.config()?, &read, signal)
                .await?;
            Some(response::user_metadata(&answer, kind)?)
        } else {
            None
        };
        let patch = merge::exact_set_patch(current.as_ref(), entries, "value")?;
        let dropped = patch_nulls(&patch);
        let plan = plan::metadata_write(
            Method::Patch,
            user_id,
            kind,
            patch,
            self.max_metadata_bytes,
            "value",
        )
        .map_err(|error| self.true_size_reason(error, entries, dropped))?;
        self.write(&plan, kind, signal).await
    }

    /// A patch over the size limit only because it names stale stored members with `null` is
    /// refused for that reason, not for the value's size.
    fn true_size_reason(&self, error: Error, entries: &Map, dropped: usize) -> Error {
        let value_size = Value::Object(entries.clone()).to_string().len();
        if error.kind != ErrorKind::InvalidArgument || value_size > self.max_metadata_bytes {
            return error;
        }
        let keys: Vec<String> = entries.keys().map(|key| quoted(key)).collect();
        let values: usize = entries.values().map(|value| value.to_string().len()).sum();
        Error::invalid_argument(format!(
            "setting {} exactly needs a patch that also removes {dropped} stored member(s) with null, and that patch is over Clerk's limit of {} bytes (the value alone is {values}); replace the whole metadata instead, or remove the stale members first",
            keys.join(", "),
            number_text(self.max_metadata_bytes as f64)
        ))
    }
}

/// How many members a patch removes (`null`s in objects, at any depth).
fn patch_nulls(patch: &Map) -> usize {
    patch
        .values()
        .map(|value| match value {
            Value::Null => 1,
            Value::Object(object) => patch_nulls(object),
            _ => 0,
        })
        .sum()
}
