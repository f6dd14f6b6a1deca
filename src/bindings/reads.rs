//! Reads: from the cache when fresh, else from one request that concurrent readers of the same
//! user share (single flight), unless a write to that user started after that request did.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::Call;
use super::Client;
use crate::core::cache::{Stamp, UserFields};
use crate::core::plan::RequestPlan;
use crate::core::response;
use crate::core::{Error, ErrorKind, MetadataKind};
use crate::exchange::aborted;
use crate::wait::{clock_if, deferred, settled, Waited};

/// One shared read: when it began, who joined it, and its result.
#[derive(Clone)]
pub struct Flight {
    stamp: Stamp,
    /// Resolvers of the callers waiting on this read. A promise is made only for a caller that
    /// joins, so a read nobody joins costs none.
    waiters: Rc<RefCell<Vec<Function>>>,
    result: Rc<RefCell<Option<Result<UserFields, Error>>>>,
}

/// Raw JSON text from Clerk handed to the host's `JSON.parse`: one native parse, numbers and key
/// order exactly as sent, and `__proto__` keys land as own data properties.
pub fn parse(text: &str) -> Result<JsValue, Error> {
    js_sys::JSON::parse(text).map_err(|_| {
        Error::new(
            ErrorKind::InvalidResponse,
            "unexpected response from Clerk: metadata could not be parsed",
        )
    })
}

/// One field's raw JSON of a read result (`{}` when that field was not an object).
fn field_of(result: &Result<UserFields, Error>, kind: MetadataKind) -> Result<String, Error> {
    match result {
        Ok(fields) => Ok(fields.get(kind).unwrap_or("{}").to_owned()),
        Err(error) => Err(error.clone()),
    }
}

impl Client {
    /// One metadata field of a user, as raw JSON text.
    pub(super) async fn read(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        call: &Call,
    ) -> Result<String, Error> {
        let user_id = &plan.user_id;
        loop {
            let cached = {
                let cache = self.cache.borrow();
                cache
                    .get(user_id, clock_if(cache.is_enabled()))
                    .and_then(|f| f.get(kind))
                    .map(str::to_owned)
            };
            if let Some(metadata) = cached {
                return Ok(metadata);
            }
            let shared = self.flights.borrow().get(user_id).cloned();
            let Some(flight) = shared.filter(|f| self.cache.borrow().may_share(user_id, f.stamp))
            else {
                return self.lead_read(plan, kind, call).await;
            };
            // Joining is waiting: this caller's own signal and deadline still end its wait.
            let (done, wake) = deferred();
            flight.waiters.borrow_mut().push(wake);
            match settled(&done, call.signal(), call.deadline_at).await {
                Waited::Settled => {}
                Waited::Aborted => return Err(aborted()),
                Waited::Late => return Err(call.past_deadline("a shared read")),
            }
            let result = flight.result.borrow();
            match &*result {
                // Another caller's abort is not this caller's: look again (a joiner that got
                // there first may be leading a new read, which this one then shares).
                Some(Err(error)) if error.kind == ErrorKind::Aborted => {}
                Some(result) => return field_of(result, kind),
                None => {}
            }
        }
    }

    /// Sends the read that others may join, and stores its answer in the cache.
    async fn lead_read(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        call: &Call,
    ) -> Result<String, Error> {
        let stamp = self.cache.borrow_mut().begin_read();
        let flight = Flight {
            stamp,
            waiters: Rc::new(RefCell::new(Vec::new())),
            result: Rc::new(RefCell::new(None)),
        };
        self.flights
            .borrow_mut()
            .insert(plan.user_id.clone(), flight.clone());
        let outcome = match self.config() {
            Ok(config) => self
                .transport
                .execute(config, plan, call)
                .await
                .map_err(|failed| failed.error),
            Err(error) => Err(error),
        }
        .and_then(|answer| response::user_fields(&answer, kind));
        {
            let mut cache = self.cache.borrow_mut();
            // While an earlier write of unknown outcome may still land, what Clerk answers now
            // may soon be old: it is handed to this caller but not kept.
            let settling = self.lanes.is_settling(&plan.user_id);
            if let (Ok(fields), false) = (&outcome, settling) {
                let at = clock_if(cache.is_enabled());
                cache.store(&plan.user_id, stamp, fields.clone(), at);
            }
            cache.finish(stamp);
        }
        let result = field_of(&outcome, kind);
        *flight.result.borrow_mut() = Some(outcome);
        self.end_flight(&plan.user_id, &flight);
        result
    }

    /// Takes a finished read out of the flights (unless a newer one replaced it) and wakes the
    /// callers that joined it.
    fn end_flight(&self, user_id: &str, flight: &Flight) {
        {
            let mut flights = self.flights.borrow_mut();
            if flights
                .get(user_id)
                .is_some_and(|f| f.stamp == flight.stamp && Rc::ptr_eq(&f.result, &flight.result))
            {
                flights.remove(user_id);
            }
        }
        let waiters: Vec<Function> = flight.waiters.borrow_mut().drain(..).collect();
        for wake in waiters {
            let _ = wake.call0(&JsValue::UNDEFINED);
        }
    }
}
