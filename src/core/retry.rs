//! When a failed request is sent again, and how long to wait first.
//!
//! Every request this package sends is safe to repeat:
//! - `GET` reads;
//! - `PUT` replaces a field with the same value each time;
//! - `PATCH` is a JSON merge patch, and applying the same merge patch twice gives the same
//!   result as applying it once (`apply(apply(x, p), p) == apply(x, p)`). The only cost of a
//!   repeat is that it can overwrite a write another client made to the *same keys* in between,
//!   which a lost response would make ambiguous anyway.
//!
//! A repeat is safe, but not always harmless to ordering: a write whose outcome is unknown (it
//! timed out, or its connection dropped after the body was sent) may still be applied after a
//! later write. Such a write is not retried unless the caller opts in, and then only after the
//! settle time, when the first request can no longer land (see `RetryPolicy::write_settle_ms`).

use super::error::{Error, ErrorKind};

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// The first backoff ceiling; doubled on each retry.
    pub base_delay_ms: f64,
    /// No backoff ceiling grows past this.
    pub max_delay_ms: f64,
    /// A `Retry-After` longer than this is not waited for: the error is returned at once, with
    /// `retry_after` set, so a short-lived caller (a Convex action) can decide.
    pub max_retry_after_ms: f64,
    /// The whole operation, retries and waits included, ends by then.
    pub deadline_ms: f64,
    /// Whether a write whose outcome is unknown is sent again (after the settle time).
    pub retry_unknown_writes: bool,
    /// How long after an unknown write's connection was closed it is assumed unable to land:
    /// this client's next write to that user waits until then.
    pub write_settle_ms: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 200.0,
            max_delay_ms: 5_000.0,
            max_retry_after_ms: 15_000.0,
            deadline_ms: 60_000.0,
            retry_unknown_writes: false,
            write_settle_ms: 10_000.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Retry { delay_ms: f64 },
    GiveUp,
}

/// Whether this failure could go away on its own.
pub fn is_transient(error: &Error) -> bool {
    match &error.kind {
        ErrorKind::Network | ErrorKind::Timeout => true,
        ErrorKind::Api(_) => matches!(error.status, Some(429 | 500 | 502 | 503 | 504)),
        _ => false,
    }
}

impl RetryPolicy {
    /// Decides after `attempts_made` attempts, `elapsed_ms` after the operation began.
    /// `random` is uniform in `[0, 1)`: the full jitter that keeps clients from retrying in step.
    pub fn decide(
        &self,
        attempts_made: u32,
        error: &Error,
        elapsed_ms: f64,
        random: f64,
    ) -> Decision {
        if attempts_made >= self.max_attempts
            || !is_transient(error)
            || (error.outcome_unknown && !self.retry_unknown_writes)
        {
            return Decision::GiveUp;
        }
        let delay_ms = match (error.status, error.retry_after) {
            (Some(429 | 503), Some(seconds)) => {
                let wait = seconds as f64 * 1000.0;
                if wait > self.max_retry_after_ms {
                    return Decision::GiveUp;
                }
                wait
            }
            _ => {
                let exponent = attempts_made.saturating_sub(1).min(30);
                let ceiling =
                    (self.base_delay_ms * f64::from(1u32 << exponent)).min(self.max_delay_ms);
                let jittered = ceiling * random.clamp(0.0, 1.0);
                if error.outcome_unknown {
                    jittered.max(self.write_settle_ms)
                } else {
                    jittered
                }
            }
        };
        if elapsed_ms + delay_ms >= self.deadline_ms {
            return Decision::GiveUp;
        }
        Decision::Retry { delay_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, retry_after: Option<u64>) -> Error {
        let mut error = Error::new(ErrorKind::Api(format!("http_{status}").into()), "x");
        error.status = Some(status);
        error.retry_after = retry_after;
        error
    }

    #[test]
    fn transient_failures_are_retried_others_are_not() {
        let policy = RetryPolicy::default();
        for error in [
            api(500, None),
            api(502, None),
            api(503, None),
            api(504, None),
            api(429, None),
            Error::new(ErrorKind::Network, "reset"),
            Error::new(ErrorKind::Timeout, "slow"),
        ] {
            assert!(
                matches!(policy.decide(1, &error, 0.0, 0.5), Decision::Retry { .. }),
                "{error:?}"
            );
        }
        for error in [
            api(400, None),
            api(401, None),
            api(404, None),
            api(422, None),
            api(501, None),
            Error::new(ErrorKind::Aborted, "stop"),
            Error::new(ErrorKind::InvalidResponse, "html"),
            Error::invalid_argument("bad"),
        ] {
            assert_eq!(
                policy.decide(1, &error, 0.0, 0.5),
                Decision::GiveUp,
                "{error:?}"
            );
        }
    }

    #[test]
    fn attempts_are_bounded_and_zero_retries_disables() {
        let policy = RetryPolicy::default();
        assert!(matches!(
            policy.decide(2, &api(503, None), 0.0, 0.5),
            Decision::Retry { .. }
        ));
        assert_eq!(
            policy.decide(3, &api(503, None), 0.0, 0.5),
            Decision::GiveUp
        );
        let off = RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(off.decide(1, &api(503, None), 0.0, 0.5), Decision::GiveUp);
    }

    #[test]
    fn backoff_is_exponential_with_full_jitter_and_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            ..RetryPolicy::default()
        };
        let delay = |attempt, random| match policy.decide(attempt, &api(503, None), 0.0, random) {
            Decision::Retry { delay_ms } => delay_ms,
            Decision::GiveUp => f64::NAN,
        };
        assert_eq!(delay(1, 0.999_999_9).round(), 200.0);
        assert_eq!(delay(2, 0.999_999_9).round(), 400.0);
        assert_eq!(delay(3, 0.5), 400.0);
        assert_eq!(delay(9, 0.999_999_9).round(), 5000.0);
        assert_eq!(delay(1, 0.0), 0.0);
    }

    #[test]
    fn rate_limits_wait_for_retry_after_unless_it_is_too_long() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.decide(1, &api(429, Some(2)), 0.0, 0.1),
            Decision::Retry { delay_ms: 2000.0 }
        );
        assert_eq!(
            policy.decide(1, &api(429, Some(60)), 0.0, 0.1),
            Decision::GiveUp
        );
    }

    #[test]
    fn the_deadline_bounds_the_whole_operation() {
        let policy = RetryPolicy {
            deadline_ms: 1000.0,
            ..RetryPolicy::default()
        };
        assert_eq!(
            policy.decide(1, &api(429, Some(1)), 100.0, 0.1),
            Decision::GiveUp
        );
        assert!(matches!(
            policy.decide(1, &api(429, Some(1)), -100.0, 0.1),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn unknown_write_outcomes_are_retried_only_on_request_and_after_the_settle_time() {
        let mut unknown = Error::new(ErrorKind::Timeout, "slow");
        unknown.outcome_unknown = true;
        let policy = RetryPolicy::default();
        assert_eq!(policy.decide(1, &unknown, 0.0, 0.5), Decision::GiveUp);
        let opted_in = RetryPolicy {
            retry_unknown_writes: true,
            write_settle_ms: 1500.0,
            ..RetryPolicy::default()
        };
        assert_eq!(
            opted_in.decide(1, &unknown, 0.0, 0.5),
            Decision::Retry { delay_ms: 1500.0 }
        );
    }

    #[test]
    fn a_503_with_retry_after_waits_for_it() {
        assert_eq!(
            RetryPolicy::default().decide(1, &api(503, Some(1)), 0.0, 0.1),
            Decision::Retry { delay_ms: 1000.0 }
        );
    }
}
