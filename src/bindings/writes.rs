//! Writes, and the promise behind them: once this client has resolved a write to a user, no
//! request it sent earlier can be applied after it.
//!
//! Each user's writes go through a lane: one at a time, in call order. An exact set holds the
//! lane for its read and its patch, so concurrent writes always end in one of their sequential
//! orders. A write whose outcome is unknown leaves the lane closed until `writeSettleMs` after
//! its connection was closed, so it can no longer land after the next write.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Function, Promise};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use super::{Call, Client};
use crate::core::error::{number_text, quoted};
use crate::core::plan::{self, Method, RequestPlan};
use crate::core::{merge, response, validate, Error, ErrorKind, Map, MetadataKind};
use crate::exchange::aborted;
use crate::limiter::{lock_user, release_host, release_host_at};
use crate::transport::Failed;
use crate::wait::{clock_if, deferred, now, settled, sleep, when_settled, Waited};

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

/// A user's lane, held (or being waited for). Dropping it hands the lane on, whatever happened
/// to the write: a write given up while queued passes it on once the writes before it are done.
pub struct Turn<'a> {
    lanes: &'a Lanes,
    user_id: String,
    pass_on: Function,
    /// The earlier writes, while this one still waits for them.
    before: Option<Promise>,
    /// When a write of unknown outcome was abandoned: the settle time starts then.
    unknown_since: Option<f64>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.lanes.hand_on(self);
    }
}

impl Lanes {
    pub fn new(settle_ms: f64) -> Lanes {
        Lanes {
            users: RefCell::new(HashMap::new()),
            settle_ms,
        }
    }

    /// Waits for every earlier write to this user, then for any unknown one to settle, within
    /// the call's signal and deadline.
    pub async fn enter(&self, user_id: &str, call: &Call) -> Result<Turn<'_>, Error> {
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
        let mut turn = Turn {
            lanes: self,
            user_id: user_id.to_owned(),
            pass_on,
            before,
            unknown_since: None,
        };
        if let Some(before) = &turn.before {
            match settled(before, call.signal(), call.deadline_at).await {
                Waited::Settled => turn.before = None,
                Waited::Aborted => return Err(aborted()),
                Waited::Late => return Err(call.past_deadline("earlier writes to this user")),
            }
        }
        let settle_until = self
            .users
            .borrow()
            .get(user_id)
            .map_or(0.0, |lane| lane.settle_until);
        if settle_until > call.deadline_at {
            return Err(call.past_deadline(
                "an earlier write of unknown outcome to this user (writeSettleMs)",
            ));
        }
        if settle_until > now() {
            sleep(settle_until - now(), call.signal(), None).await;
            if call.signal().is_some_and(AbortSignal::aborted) {
                return Err(aborted());
            }
        }
        Ok(turn)
    }

    /// When a write of unknown outcome abandoned at `since` can no longer land.
    pub fn settled_after(&self, since: f64) -> f64 {
        since + self.settle_ms
    }

    /// Whether an earlier write to this user may still land.
    pub fn is_settling(&self, user_id: &str) -> bool {
        self.users
            .borrow()
            .get(user_id)
            .is_some_and(|lane| lane.settle_until > now())
    }

    fn hand_on(&self, turn: &Turn) {
        let mut users = self.users.borrow_mut();
        if let Some(lane) = users.get_mut(&turn.user_id) {
            if let Some(since) = turn.unknown_since {
                lane.settle_until = lane.settle_until.max(self.settled_after(since));
            }
            lane.queued = lane.queued.saturating_sub(1);
        }
        match &turn.before {
            // Given up while queued: the next writer still waits for the ones before this one.
            Some(before) => when_settled(before, &turn.pass_on),
            None => {
                let _ = turn.pass_on.call0(&JsValue::UNDEFINED);
            }
        }
        if users.len() > MAX_IDLE_LANES {
            let at = now();
            users.retain(|_, lane| lane.queued > 0 || lane.settle_until > at);
        }
    }
}

/// What a successful write resolves with: Clerk's user object when the host asked for it
/// (`onUserWritten`), else nothing.
type Written = Option<String>;

/// Hands the lane on (when the turn is dropped), with the settle time if the write's outcome is
/// unknown.
fn finish_write(mut turn: Turn, outcome: Result<Written, Failed>) -> Result<JsValue, Error> {
    match outcome {
        Ok(None) => Ok(JsValue::UNDEFINED),
        // Already checked to be a JSON user object (`response::user_fields`).
        Ok(Some(user)) => super::reads::parse(&user),
        Err(failed) => {
            turn.unknown_since = failed.unknown_since;
            Err(failed.error)
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
        call: &Call,
    ) -> Result<JsValue, Error> {
        let turn = self.lanes.enter(&plan.user_id, call).await?;
        let outcome = self.write(&plan, kind, call).await;
        finish_write(turn, outcome)
    }

    /// Sends a write and checks Clerk answered with a user, so a proxy's HTML 200 is not
    /// mistaken for success. A success refreshes the cached user from Clerk's answer (and keeps
    /// its body when the host wants the user); a failure forgets it.
    async fn write(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        call: &Call,
    ) -> Result<Written, Failed> {
        let stamp = self.cache.borrow_mut().begin_write(&plan.user_id);
        let outcome = match self.config() {
            Ok(config) => self.transport.execute(config, plan, call).await,
            Err(error) => Err(error.into()),
        }
        .and_then(|answer| {
            let fields = response::user_fields(&answer, kind).map_err(Failed::from)?;
            Ok((fields, self.return_user.then_some(answer.body)))
        });
        let mut cache = self.cache.borrow_mut();
        let done = cache.write_completed(&plan.user_id);
        let result = match outcome {
            Ok((fields, user)) => {
                let at = clock_if(cache.is_enabled());
                cache.store(&plan.user_id, done, fields, at);
                Ok(user)
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
        call: &Call,
    ) -> Result<JsValue, Error> {
        let turn = self.lanes.enter(user_id, call).await?;
        let outcome = self.exact_set_in_lane(user_id, kind, &entries, call).await;
        finish_write(turn, outcome)
    }

    async fn exact_set_in_lane(
        &self,
        user_id: &str,
        kind: MetadataKind,
        entries: &Map,
        call: &Call,
    ) -> Result<Written, Failed> {
        if !entries.values().any(merge::needs_current_value) {
            return self.patch_exactly(user_id, kind, entries, None, call).await;
        }
        // Another process's write between the read and the patch would survive the exact set:
        // a shared limiter that can hold the user (`lockUser`) holds it across both.
        let lock = lock_user(&self.transport.limiter, user_id, call).await?;
        let outcome = async {
            // Always from Clerk, never the cache: a key another process added since must be
            // named in the patch, or it would survive the exact set.
            let read = plan::get_user(user_id)?;
            let answer = self.transport.execute(self.config()?, &read, call).await?;
            let current = response::user_metadata(&answer, kind)?;
            self.patch_exactly(user_id, kind, entries, Some(current), call)
                .await
        }
        .await;
        match &outcome {
            // The patch may still land: the user stays held until it cannot, as this client's
            // own next write to the user waits (the lane's settle rule).
            Err(Failed {
                unknown_since: Some(since),
                ..
            }) => release_host_at(lock, self.lanes.settled_after(*since)),
            _ => release_host(lock, call.deadline_at).await,
        }
        outcome
    }

    async fn patch_exactly(
        &self,
        user_id: &str,
        kind: MetadataKind,
        entries: &Map,
        current: Option<Map>,
        call: &Call,
    ) -> Result<Written, Failed> {
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
        self.write(&plan, kind, call).await
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
