//! A client-side rate limiter that queues requests to stay inside Clerk's limits, instead of
//! collecting 429s: each user's writes (10 per 10 s) and the instance's requests (100 per 10 s
//! with `sk_test_` keys, 1000 with `sk_live_`).
//!
//! Clerk counts a request when it *arrives*, which this side never observes: it lies somewhere
//! between sending and the response. So a request holds its slot from the moment it is sent
//! until one window after its response came back. Any two requests that arrive less than a
//! window apart then both hold their slots at the later arrival, so at most `requests` of them
//! can ever fall in one of Clerk's windows, however late or early each one arrived. (Counting
//! from the grant instead lets a slow first request and a fast later one land in the same
//! window: a 429.)
//!
//! A request takes a slot in its user's write bucket and the instance bucket together, or
//! neither, so one busy user's queue never holds instance slots others could use. Time is passed
//! in (milliseconds), which keeps this module pure and its tests exact.

use std::collections::{HashMap, VecDeque};

/// A limit of `requests` per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub requests: u32,
    pub window_ms: f64,
}

/// Clerk's per-user write limit.
pub const CLERK_USER_WRITES: Window = Window {
    requests: 10,
    window_ms: 10_000.0,
};
/// Clerk's instance-wide limit for development keys.
pub const CLERK_INSTANCE_TEST: Window = Window {
    requests: 100,
    window_ms: 10_000.0,
};
/// Clerk's instance-wide limit for production keys.
pub const CLERK_INSTANCE_LIVE: Window = Window {
    requests: 1000,
    window_ms: 10_000.0,
};
/// Added to every window, for clocks that do not agree to the millisecond.
pub const SAFETY_MARGIN_MS: f64 = 50.0;

/// Proof of a granted slot; hand it back to [`RateLimiter::release`] when the response is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    id: u64,
    user: Option<String>,
    instance: bool,
}

/// The answer to [`RateLimiter::try_acquire`].
#[derive(Debug, Clone, PartialEq)]
pub enum Acquire {
    /// Send now.
    Granted(Ticket),
    /// A slot frees at this time; ask again then (or when a response arrives).
    WaitUntil(f64),
    /// Every slot is held by a request still in flight; ask again when a response arrives.
    WaitForRelease,
}

/// One bucket: the slots held now, each with the time it frees (`INFINITY` while in flight),
/// and, for a user's writes, the queue that keeps them in call order.
#[derive(Debug, Clone)]
struct Bucket {
    window: Window,
    slots: Vec<(u64, f64)>,
    queue: VecDeque<u64>,
}

impl Bucket {
    fn new(window: Window) -> Bucket {
        Bucket {
            window,
            slots: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    fn prune(&mut self, now: f64) {
        self.slots.retain(|&(_, frees_at)| frees_at > now);
    }

    /// `None` when a slot is free now; otherwise when to ask again.
    fn wait(&self) -> Option<Acquire> {
        if self.slots.len() < self.window.requests.max(1) as usize {
            return None;
        }
        let next = self
            .slots
            .iter()
            .map(|&(_, frees_at)| frees_at)
            .fold(f64::INFINITY, f64::min);
        Some(if next.is_finite() {
            Acquire::WaitUntil(next)
        } else {
            Acquire::WaitForRelease
        })
    }

    fn release(&mut self, id: u64, completed_at: f64) {
        let frees_at = completed_at + self.window.window_ms + SAFETY_MARGIN_MS;
        for slot in self.slots.iter_mut().filter(|(slot_id, _)| *slot_id == id) {
            slot.1 = frees_at;
        }
    }
}

/// Both buckets must have room: wait for the later of the two.
fn both(a: Acquire, b: Acquire) -> Acquire {
    match (a, b) {
        (Acquire::WaitUntil(x), Acquire::WaitUntil(y)) => Acquire::WaitUntil(x.max(y)),
        (Acquire::WaitForRelease, _) | (_, Acquire::WaitForRelease) => Acquire::WaitForRelease,
        (other, _) => other,
    }
}

/// The limiter of one client (one secret key).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    user_writes: Option<Window>,
    instance: Option<Bucket>,
    users: HashMap<String, Bucket>,
    next_id: u64,
}

impl RateLimiter {
    /// `None` switches that bucket off.
    pub fn new(user_writes: Option<Window>, instance: Option<Window>) -> RateLimiter {
        RateLimiter {
            user_writes,
            instance: instance.map(Bucket::new),
            users: HashMap::new(),
            next_id: 0,
        }
    }

    /// Clerk's own limits for this kind of key.
    pub fn for_clerk(live_key: bool) -> RateLimiter {
        let instance = if live_key {
            CLERK_INSTANCE_LIVE
        } else {
            CLERK_INSTANCE_TEST
        };
        RateLimiter::new(Some(CLERK_USER_WRITES), Some(instance))
    }

    /// Joins the queue of this user's writes, which are granted strictly in call order (so
    /// two queued merges of one key land in the order they were made). Returns the place to pass
    /// to [`RateLimiter::try_acquire`] and, if the request is given up, to
    /// [`RateLimiter::abandon`]. Reads, and writes with the user bucket off, need no place.
    ///
    /// A retry (`retry: true`) goes to the head of the queue, since it was first before; writes
    /// granted while it waited for its retry may still land before it.
    pub fn enqueue(&mut self, user_id: &str, is_write: bool, retry: bool) -> Option<u64> {
        let window = self.user_writes.filter(|_| is_write)?;
        self.next_id += 1;
        let id = self.next_id;
        let queue = &mut self
            .users
            .entry(user_id.to_owned())
            .or_insert_with(|| Bucket::new(window))
            .queue;
        if retry {
            queue.push_front(id);
        } else {
            queue.push_back(id);
        }
        Some(id)
    }

    /// Leaves the queue without sending (aborted, or past its deadline).
    pub fn abandon(&mut self, user_id: &str, place: Option<u64>) {
        if let (Some(place), Some(bucket)) = (place, self.users.get_mut(user_id)) {
            bucket.queue.retain(|&queued| queued != place);
        }
    }

    /// Whether any write is queued (its waiters must be woken when the queue moves).
    pub fn has_queue(&self, user_id: &str) -> bool {
        self.users
            .get(user_id)
            .is_some_and(|bucket| !bucket.queue.is_empty())
    }

    /// Takes a slot in every bucket this request counts against, or tells how long to wait.
    /// A queued write (`place` from [`RateLimiter::enqueue`]) is granted only at the head of its
    /// user's queue.
    pub fn try_acquire(
        &mut self,
        now: f64,
        user_id: &str,
        is_write: bool,
        place: Option<u64>,
    ) -> Acquire {
        self.next_id += 1;
        let id = self.next_id;
        if id % 1024 == 0 {
            // Forget idle users (no slot held, nobody queued), so memory stays bounded.
            self.users.retain(|_, bucket| {
                bucket.prune(now);
                !bucket.slots.is_empty() || !bucket.queue.is_empty()
            });
        }
        let user_window = if is_write { self.user_writes } else { None };
        let mut wait: Option<Acquire> = None;
        if let Some(window) = user_window {
            let bucket = self
                .users
                .entry(user_id.to_owned())
                .or_insert_with(|| Bucket::new(window));
            bucket.prune(now);
            if place.is_some() && bucket.queue.front() != place.as_ref() {
                return Acquire::WaitForRelease;
            }
            wait = bucket.wait();
        }
        if let Some(bucket) = self.instance.as_mut() {
            bucket.prune(now);
            if let Some(instance_wait) = bucket.wait() {
                wait = Some(match wait {
                    Some(user_wait) => both(user_wait, instance_wait),
                    None => instance_wait,
                });
            }
        }
        if let Some(wait) = wait {
            return wait;
        }
        let mut ticket = Ticket {
            id,
            user: None,
            instance: false,
        };
        if user_window.is_some() {
            if let Some(bucket) = self.users.get_mut(user_id) {
                bucket.slots.push((id, f64::INFINITY));
                if place.is_some() {
                    bucket.queue.pop_front();
                }
                ticket.user = Some(user_id.to_owned());
            }
        }
        if let Some(bucket) = self.instance.as_mut() {
            bucket.slots.push((id, f64::INFINITY));
            ticket.instance = true;
        }
        Acquire::Granted(ticket)
    }

    /// The response for `ticket` arrived (or the request failed) at `completed_at`: its slots
    /// free one window later.
    pub fn release(&mut self, ticket: Ticket, completed_at: f64) {
        if let Some(user) = &ticket.user {
            if let Some(bucket) = self.users.get_mut(user) {
                bucket.release(ticket.id, completed_at);
            }
        }
        if ticket.instance {
            if let Some(bucket) = self.instance.as_mut() {
                bucket.release(ticket.id, completed_at);
            }
        }
    }

    /// Whether both buckets are off: then every request is granted at once, whatever the time.
    pub fn is_off(&self) -> bool {
        self.user_writes.is_none() && self.instance.is_none()
    }

    /// How many users the limiter currently remembers (for tests and the memory benchmark).
    pub fn tracked_users(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: f64 = 10_000.0 + SAFETY_MARGIN_MS;

    fn granted(answer: Acquire) -> Ticket {
        match answer {
            Acquire::Granted(ticket) => ticket,
            other => panic!("expected a grant, got {other:?}"),
        }
    }

    #[test]
    fn off_means_both_buckets_off_and_grants_at_any_time() {
        let mut off = RateLimiter::new(None, None);
        assert!(off.is_off());
        assert!(matches!(
            off.try_acquire(0.0, "u", true, None),
            Acquire::Granted(_)
        ));
        assert!(!RateLimiter::new(Some(CLERK_USER_WRITES), None).is_off());
        assert!(!RateLimiter::for_clerk(false).is_off());
    }

    #[test]
    fn ten_writes_go_at_once_the_eleventh_waits_for_a_response_then_a_window() {
        let mut limiter = RateLimiter::for_clerk(false);
        let tickets: Vec<Ticket> = (0..10)
            .map(|_| granted(limiter.try_acquire(0.0, "u", true, None)))
            .collect();
        assert_eq!(
            limiter.try_acquire(0.0, "u", true, None),
            Acquire::WaitForRelease
        );
        // Another user is not held up by the first one's queue.
        granted(limiter.try_acquire(0.0, "other", true, None));
        // Reads do not count against the user's write bucket.
        granted(limiter.try_acquire(0.0, "u", false, None));
        for (i, ticket) in tickets.into_iter().enumerate() {
            limiter.release(ticket, 100.0 + i as f64);
        }
        assert_eq!(
            limiter.try_acquire(200.0, "u", true, None),
            Acquire::WaitUntil(100.0 + SPAN)
        );
        granted(limiter.try_acquire(100.0 + SPAN, "u", true, None));
    }

    /// The property that makes 429s impossible: requests arriving at Clerk anywhere between
    /// their send and their response never put more than the limit in one window.
    #[test]
    fn no_window_of_arrivals_ever_holds_more_than_the_limit() {
        let window = Window {
            requests: 3,
            window_ms: 1000.0,
        };
        let mut limiter = RateLimiter::new(Some(window), None);
        // Requests with varied latencies; each arrives at Clerk at a chosen point in flight.
        let mut in_flight: Vec<(Ticket, f64, f64)> = Vec::new(); // ticket, completes_at, arrives_at
        let mut arrivals = Vec::new();
        let mut now = 0.0;
        let mut sent = 0;
        let mut step = 0u64;
        while sent < 40 {
            step += 1;
            now += 37.0;
            in_flight.retain(|(ticket, completes_at, _)| {
                if *completes_at <= now {
                    limiter.release(ticket.clone(), *completes_at);
                    false
                } else {
                    true
                }
            });
            if let Acquire::Granted(ticket) = limiter.try_acquire(now, "u", true, None) {
                let latency = [20.0, 900.0, 60.0, 450.0, 5.0][(step % 5) as usize];
                let arrives_at = now + latency * [0.0, 0.5, 1.0][(step % 3) as usize];
                arrivals.push(arrives_at);
                in_flight.push((ticket, now + latency, arrives_at));
                sent += 1;
            }
        }
        for &at in &arrivals {
            let in_window = arrivals
                .iter()
                .filter(|&&t| t > at - window.window_ms && t <= at)
                .count();
            assert!(
                in_window <= 3,
                "{in_window} arrivals in the window ending at {at}"
            );
        }
    }

    #[test]
    fn the_instance_bucket_counts_every_request() {
        let mut limiter = RateLimiter::new(
            None,
            Some(Window {
                requests: 2,
                window_ms: 500.0,
            }),
        );
        let first = granted(limiter.try_acquire(0.0, "a", false, None));
        granted(limiter.try_acquire(0.0, "b", true, None));
        assert_eq!(
            limiter.try_acquire(0.0, "c", false, None),
            Acquire::WaitForRelease
        );
        limiter.release(first, 10.0);
        assert_eq!(
            limiter.try_acquire(10.0, "c", false, None),
            Acquire::WaitUntil(510.0 + SAFETY_MARGIN_MS)
        );
    }

    #[test]
    fn a_request_never_sent_holds_no_slot() {
        let mut limiter = RateLimiter::new(
            Some(Window {
                requests: 1,
                window_ms: 1000.0,
            }),
            None,
        );
        // Asking and being told to wait takes nothing.
        let ticket = granted(limiter.try_acquire(0.0, "u", true, None));
        for _ in 0..5 {
            assert_eq!(
                limiter.try_acquire(0.0, "u", true, None),
                Acquire::WaitForRelease
            );
        }
        limiter.release(ticket, 0.0);
        granted(limiter.try_acquire(1000.0 + SAFETY_MARGIN_MS, "u", true, None));
    }

    #[test]
    fn queued_writes_of_a_user_are_granted_in_call_order() {
        let mut limiter = RateLimiter::new(
            Some(Window {
                requests: 1,
                window_ms: 100.0,
            }),
            None,
        );
        let first = limiter.enqueue("u", true, false);
        let second = limiter.enqueue("u", true, false);
        let third = limiter.enqueue("u", true, false);
        assert_eq!(
            limiter.enqueue("u", false, false),
            None,
            "reads do not queue"
        );
        // The second may not overtake the first, even with a free slot.
        assert_eq!(
            limiter.try_acquire(0.0, "u", true, second),
            Acquire::WaitForRelease
        );
        let ticket = granted(limiter.try_acquire(0.0, "u", true, first));
        limiter.release(ticket, 0.0);
        // The second gives up: the third is next, once the window has passed.
        limiter.abandon("u", second);
        assert_eq!(
            limiter.try_acquire(10.0, "u", true, third),
            Acquire::WaitUntil(100.0 + SAFETY_MARGIN_MS)
        );
        // A retry of an earlier write goes ahead of the writes still queued.
        let fourth = limiter.enqueue("u", true, false);
        let retry = limiter.enqueue("u", true, true);
        assert_eq!(
            limiter.try_acquire(200.0, "u", true, third),
            Acquire::WaitForRelease
        );
        let ticket = granted(limiter.try_acquire(200.0, "u", true, retry));
        limiter.release(ticket, 200.0);
        granted(limiter.try_acquire(400.0, "u", true, third));
        limiter.abandon("u", fourth);
        assert!(!limiter.has_queue("u"));
    }

    #[test]
    fn switched_off_buckets_never_delay() {
        let mut limiter = RateLimiter::new(None, None);
        for _ in 0..1000 {
            granted(limiter.try_acquire(5.0, "u", true, None));
        }
        assert_eq!(limiter.tracked_users(), 0);
    }

    #[test]
    fn quiet_users_are_forgotten() {
        let mut limiter = RateLimiter::for_clerk(true);
        for i in 0..1000 {
            let ticket = granted(limiter.try_acquire(0.0, &format!("user_{i}"), true, None));
            limiter.release(ticket, 0.0);
        }
        assert_eq!(limiter.tracked_users(), 1000);
        for _ in 0..100 {
            if let Acquire::Granted(ticket) = limiter.try_acquire(SPAN + 1.0, "busy", true, None) {
                limiter.release(ticket, SPAN + 1.0);
            }
        }
        assert!(limiter.tracked_users() <= 1, "{}", limiter.tracked_users());
    }
}
