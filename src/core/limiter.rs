//! A client-side rate limiter that queues requests to stay inside Clerk's limits, instead of
//! collecting 429s: each user's writes (10 per 10 s) and the instance's requests (100 per 10 s
//! with `sk_test_` keys, 1000 with `sk_live_`).
//!
//! Each bucket is a sliding-window log of the times it granted: a request may start at `t` when
//! fewer than `requests` grants lie in `(t - window, t]`. Grants are first-come, first-served per
//! bucket, so a queue never reorders. A write takes its user slot first and its instance slot
//! only when that user slot comes due, so one busy user's queued writes never hold instance
//! slots that other users could use now.
//!
//! Time is passed in (milliseconds), which keeps this module pure and its tests exact.

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
/// Added to every window: requests leave here and arrive at Clerk with jitter in between.
pub const SAFETY_MARGIN_MS: f64 = 100.0;

/// One sliding-window log.
#[derive(Debug, Clone)]
struct Log {
    window: Window,
    grants: VecDeque<f64>,
}

impl Log {
    fn new(window: Window) -> Log {
        Log {
            window,
            grants: VecDeque::new(),
        }
    }

    /// Takes the earliest slot at or after `now` and after every earlier grant.
    fn reserve(&mut self, now: f64) -> f64 {
        let span = self.window.window_ms + SAFETY_MARGIN_MS;
        while self.grants.front().is_some_and(|&t| t <= now - span) {
            self.grants.pop_front();
        }
        let limit = self.window.requests.max(1) as usize;
        let mut at = self.grants.back().map_or(now, |&last| last.max(now));
        if self.grants.len() >= limit {
            if let Some(&oldest_in_window) = self.grants.get(self.grants.len() - limit) {
                at = at.max(oldest_in_window + span);
            }
        }
        self.grants.push_back(at);
        at
    }

    fn is_idle(&self, now: f64) -> bool {
        let span = self.window.window_ms + SAFETY_MARGIN_MS;
        self.grants.back().is_none_or(|&t| t <= now - span)
    }
}

/// The limiter of one client (one secret key).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    user_writes: Option<Window>,
    instance: Option<Log>,
    users: HashMap<String, Log>,
    reservations: u64,
}

impl RateLimiter {
    /// `None` switches that bucket off.
    pub fn new(user_writes: Option<Window>, instance: Option<Window>) -> RateLimiter {
        RateLimiter {
            user_writes,
            instance: instance.map(Log::new),
            users: HashMap::new(),
            reservations: 0,
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

    /// Step one, at call time: the time at which this user's write may go (`now` for reads and
    /// when the user bucket is off).
    pub fn reserve_user_write(&mut self, now: f64, user_id: &str) -> f64 {
        let Some(window) = self.user_writes else {
            return now;
        };
        self.reservations += 1;
        if self.reservations % 1024 == 0 {
            // Forget users that have been quiet for a whole window, so memory stays bounded.
            self.users.retain(|_, log| !log.is_idle(now));
        }
        self.users
            .entry(user_id.to_owned())
            .or_insert_with(|| Log::new(window))
            .reserve(now)
    }

    /// Step two, when step one's time has come: the time at which the request may be sent.
    pub fn reserve_instance(&mut self, now: f64) -> f64 {
        match self.instance.as_mut() {
            Some(log) => log.reserve(now),
            None => now,
        }
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

    #[test]
    fn ten_writes_go_at_once_the_eleventh_waits_a_window() {
        let mut limiter = RateLimiter::for_clerk(false);
        let times: Vec<f64> = (0..11)
            .map(|_| limiter.reserve_user_write(0.0, "u"))
            .collect();
        assert!(times[..10].iter().all(|&t| t == 0.0));
        assert_eq!(times[10], SPAN);
        // Another user is not held up by the first one's queue.
        assert_eq!(limiter.reserve_user_write(0.0, "other"), 0.0);
    }

    #[test]
    fn no_window_ever_holds_more_than_the_limit() {
        let mut limiter = RateLimiter::new(
            Some(Window {
                requests: 3,
                window_ms: 1000.0,
            }),
            None,
        );
        let mut granted = Vec::new();
        for i in 0..40 {
            let now = f64::from(i) * 137.0;
            granted.push(limiter.reserve_user_write(now, "u"));
        }
        for &start in &granted {
            let in_window = granted
                .iter()
                .filter(|&&t| t > start - 1100.0 && t <= start)
                .count();
            assert!(
                in_window <= 3,
                "{in_window} grants in the window ending at {start}"
            );
        }
        assert!(
            granted.windows(2).all(|w| w[0] <= w[1]),
            "grants are first come, first served"
        );
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
        assert_eq!(limiter.reserve_instance(0.0), 0.0);
        assert_eq!(limiter.reserve_instance(0.0), 0.0);
        assert_eq!(limiter.reserve_instance(0.0), 500.0 + SAFETY_MARGIN_MS);
    }

    #[test]
    fn switched_off_buckets_never_delay() {
        let mut limiter = RateLimiter::new(None, None);
        for _ in 0..1000 {
            assert_eq!(limiter.reserve_user_write(5.0, "u"), 5.0);
            assert_eq!(limiter.reserve_instance(5.0), 5.0);
        }
        assert_eq!(limiter.tracked_users(), 0);
    }

    #[test]
    fn quiet_users_are_forgotten() {
        let mut limiter = RateLimiter::for_clerk(true);
        for i in 0..1000 {
            limiter.reserve_user_write(0.0, &format!("user_{i}"));
        }
        assert_eq!(limiter.tracked_users(), 1000);
        for _ in 0..1024 {
            limiter.reserve_user_write(100_000.0, "busy");
        }
        assert!(limiter.tracked_users() <= 1, "{}", limiter.tracked_users());
    }
}
