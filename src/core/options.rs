//! Client options: defaults and checks, from values already read off the JS options object.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::cache::Cache;
use super::config::{Config, Host};
use super::error::{number_text, Error};
use super::limiter::{
    RateLimiter, Window, CLERK_INSTANCE_LIVE, CLERK_INSTANCE_TEST, CLERK_USER_WRITES,
};
use super::response::MAX_RESPONSE_BYTES;
use super::retry::RetryPolicy;
use super::validate::DEFAULT_MAX_METADATA_BYTES;

/// The longest delay `setTimeout` honours (2^31 - 1 ms).
pub const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// The default per-request timeout.
pub const DEFAULT_TIMEOUT_MS: f64 = 10_000.0;

/// `true`, `false` or an object: the shape of `rateLimit`, `cache` and each rate limit.
/// Read by a visitor of its own rather than an untagged enum, which would buffer the value and
/// cost the wasm several kilobytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Toggle<T> {
    Flag(bool),
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Toggle<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ToggleVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ToggleVisitor<T> {
            type Value = Toggle<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("true, false or an object")
            }
            fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Toggle<T>, E> {
                Ok(Toggle::Flag(flag))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Toggle<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Toggle::Set)
            }
        }
        deserializer.deserialize_any(ToggleVisitor(PhantomData))
    }
}

/// One rate-limit window as given.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowOption {
    pub requests: f64,
    pub window_ms: f64,
}

/// `true` (Clerk's limit), `false` (off), or a window.
pub type LimitOption = Toggle<WindowOption>;

/// The object form of `rateLimit`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LimitsOption {
    pub user_writes: Option<LimitOption>,
    pub instance: Option<LimitOption>,
}

/// The object form of `cache`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CacheOption {
    pub ttl_ms: Option<f64>,
    pub max_users: Option<f64>,
}

/// The options object as given (the documented `ClerkMetadataClientOptions`), before any check.
/// The host-only members (`fetch`, `limiter`) are read by the bindings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RawOptions {
    pub secret_key: Option<String>,
    pub api_url: Option<String>,
    pub timeout_ms: Option<f64>,
    pub max_retries: Option<f64>,
    pub deadline_ms: Option<f64>,
    pub max_retry_after_ms: Option<f64>,
    pub retry_base_delay_ms: Option<f64>,
    pub max_metadata_bytes: Option<f64>,
    pub dangerously_allow_browser: Option<bool>,
    pub retry_unknown_writes: Option<bool>,
    pub write_settle_ms: Option<f64>,
    pub rate_limit: Option<Toggle<LimitsOption>>,
    pub cache: Option<Toggle<CacheOption>>,
}

/// Everything a client runs with.
#[derive(Debug)]
pub struct Settings {
    /// Kept as a result: a missing key is reported by each call, in that call's words.
    pub config: Result<Config, Error>,
    pub retry: RetryPolicy,
    pub timeout_ms: f64,
    pub limiter: RateLimiter,
    pub max_metadata_bytes: usize,
    pub cache: Cache,
}

/// Cache defaults when it is switched on: a minute, a thousand users.
pub const DEFAULT_CACHE_TTL_MS: f64 = 60_000.0;
pub const DEFAULT_CACHE_MAX_USERS: f64 = 1000.0;

fn milliseconds(
    value: Option<f64>,
    name: &str,
    default: f64,
    zero_allowed: bool,
) -> Result<f64, Error> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && (v > 0.0 || (zero_allowed && v == 0.0)) => Ok(v),
        Some(v) => Err(Error::invalid_argument(format!(
            "options.{name} must be a {} number of milliseconds, got {}",
            if zero_allowed {
                "non-negative"
            } else {
                "positive"
            },
            number_text(v)
        ))),
    }
}

fn whole(value: f64, name: &str, min: f64, max: f64) -> Result<f64, Error> {
    if value.fract() == 0.0 && (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid_argument(format!(
            "options.{name} must be a whole number from {} to {}, got {}",
            number_text(min),
            number_text(max),
            number_text(value)
        )))
    }
}

fn window(given: Option<LimitOption>, clerk: Window, name: &str) -> Result<Option<Window>, Error> {
    match given {
        None | Some(Toggle::Flag(true)) => Ok(Some(clerk)),
        Some(Toggle::Flag(false)) => Ok(None),
        Some(Toggle::Set(WindowOption {
            requests,
            window_ms,
        })) => Ok(Some(Window {
            requests: whole(requests, &format!("rateLimit.{name}.requests"), 1.0, 1e6)? as u32,
            window_ms: milliseconds(
                Some(window_ms),
                &format!("rateLimit.{name}.windowMs"),
                0.0,
                false,
            )?,
        })),
    }
}

impl RawOptions {
    /// Applies defaults and checks every value; `browser_like` is what the host looks like.
    pub fn settle(self, browser_like: bool) -> Result<Settings, Error> {
        let retry = self.retry_policy()?;
        let timeout_ms = milliseconds(self.timeout_ms, "timeoutMs", DEFAULT_TIMEOUT_MS, false)?;
        if timeout_ms > MAX_TIMER_MS {
            // Hosts treat longer timers as 1 ms: every request would time out at once.
            return Err(Error::invalid_argument(format!(
                "options.timeoutMs must be at most {} (about 24.8 days), got {}",
                number_text(MAX_TIMER_MS),
                number_text(timeout_ms)
            )));
        }
        let max_metadata_bytes = match self.max_metadata_bytes {
            None => DEFAULT_MAX_METADATA_BYTES,
            // Past the response limit nothing could be read back anyway.
            Some(n) => whole(n, "maxMetadataBytes", 1.0, MAX_RESPONSE_BYTES as f64)? as usize,
        };
        let host = Host {
            browser_like,
            allow_browser: self.dangerously_allow_browser.unwrap_or(false),
        };
        let config = Config::new(self.secret_key.as_deref(), self.api_url.as_deref(), host);
        let live = config.as_ref().is_ok_and(|c| c.secret_key.is_live());
        let limiter = self.limiter(live)?;
        let cache = self.cache()?;
        Ok(Settings {
            config,
            retry,
            timeout_ms,
            limiter,
            max_metadata_bytes,
            cache,
        })
    }

    fn retry_policy(&self) -> Result<RetryPolicy, Error> {
        let defaults = RetryPolicy::default();
        let retries = match self.max_retries {
            None => defaults.max_attempts - 1,
            Some(n) => whole(n, "maxRetries", 0.0, 100.0)? as u32,
        };
        Ok(RetryPolicy {
            max_attempts: retries + 1,
            base_delay_ms: milliseconds(
                self.retry_base_delay_ms,
                "retryBaseDelayMs",
                defaults.base_delay_ms,
                true,
            )?,
            max_delay_ms: defaults.max_delay_ms,
            max_retry_after_ms: milliseconds(
                self.max_retry_after_ms,
                "maxRetryAfterMs",
                defaults.max_retry_after_ms,
                true,
            )?,
            deadline_ms: milliseconds(self.deadline_ms, "deadlineMs", defaults.deadline_ms, false)?,
            retry_unknown_writes: self.retry_unknown_writes.unwrap_or(false),
            write_settle_ms: milliseconds(
                self.write_settle_ms,
                "writeSettleMs",
                defaults.write_settle_ms,
                true,
            )?,
        })
    }

    /// Clerk's limits for this kind of key, as the options tune them.
    fn limiter(&self, live_key: bool) -> Result<RateLimiter, Error> {
        let instance_default = if live_key {
            CLERK_INSTANCE_LIVE
        } else {
            CLERK_INSTANCE_TEST
        };
        let (user_writes, instance) = match self.rate_limit {
            None | Some(Toggle::Flag(true)) => (None, None),
            Some(Toggle::Flag(false)) => (Some(Toggle::Flag(false)), Some(Toggle::Flag(false))),
            Some(Toggle::Set(limits)) => (limits.user_writes, limits.instance),
        };
        Ok(RateLimiter::new(
            window(user_writes, CLERK_USER_WRITES, "userWrites")?,
            window(instance, instance_default, "instance")?,
        ))
    }

    fn cache(&self) -> Result<Cache, Error> {
        Ok(match self.cache {
            None | Some(Toggle::Flag(false)) => Cache::new(0.0, 1),
            Some(Toggle::Flag(true)) => {
                Cache::new(DEFAULT_CACHE_TTL_MS, DEFAULT_CACHE_MAX_USERS as usize)
            }
            Some(Toggle::Set(CacheOption { ttl_ms, max_users })) => Cache::new(
                milliseconds(ttl_ms, "cache.ttlMs", DEFAULT_CACHE_TTL_MS, false)?,
                whole(
                    max_users.unwrap_or(DEFAULT_CACHE_MAX_USERS),
                    "cache.maxUsers",
                    1.0,
                    1e7,
                )? as usize,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::limiter::Acquire;
    use serde_json::json;

    const KEY: &str = "sk_test_abcdefghijklmnopqrstuvwxyz";

    /// The options as JS would pass them: the same `Deserialize` the bindings use.
    fn from_json(value: serde_json::Value) -> RawOptions {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_documented_shape_deserializes() {
        let raw = from_json(json!({
            "secretKey": KEY,
            "timeoutMs": 500,
            "rateLimit": false,
            "cache": {"ttlMs": 1000},
            "retryUnknownWrites": true,
            "fetch": "ignored: read by the bindings"
        }));
        assert_eq!(raw.timeout_ms, Some(500.0));
        assert_eq!(raw.rate_limit, Some(Toggle::Flag(false)));
        let settings = raw.settle(false).unwrap();
        assert!(settings.limiter.is_off());
        assert!(settings.cache.is_enabled());
        assert!(settings.retry.retry_unknown_writes);
        for bad in [
            json!({"timeoutMs": "10"}),
            json!({"rateLimit": "yes"}),
            json!({"cache": 5}),
            json!({"rateLimit": {"instance": {"requests": 1}}}),
        ] {
            assert!(
                serde_json::from_value::<RawOptions>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn defaults_are_clerks() {
        let settings = RawOptions::default().settle(false).unwrap();
        assert_eq!(settings.retry, RetryPolicy::default());
        assert_eq!(settings.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(settings.max_metadata_bytes, 8192);
        assert_eq!(settings.config.unwrap_err().code(), "missing_secret_key");
    }

    #[test]
    fn max_retries_counts_retries_not_attempts() {
        let raw = RawOptions {
            max_retries: Some(0.0),
            ..RawOptions::default()
        };
        assert_eq!(raw.settle(false).unwrap().retry.max_attempts, 1);
        let raw = RawOptions {
            max_retries: Some(5.0),
            ..RawOptions::default()
        };
        assert_eq!(raw.settle(false).unwrap().retry.max_attempts, 6);
    }

    #[test]
    fn bad_numbers_are_named() {
        for (raw, field) in [
            (
                RawOptions {
                    timeout_ms: Some(-1.0),
                    ..RawOptions::default()
                },
                "options.timeoutMs",
            ),
            (
                RawOptions {
                    timeout_ms: Some(3e9),
                    ..RawOptions::default()
                },
                "options.timeoutMs",
            ),
            (
                RawOptions {
                    timeout_ms: Some(f64::NAN),
                    ..RawOptions::default()
                },
                "options.timeoutMs",
            ),
            (
                RawOptions {
                    max_retries: Some(1.5),
                    ..RawOptions::default()
                },
                "options.maxRetries",
            ),
            (
                RawOptions {
                    max_metadata_bytes: Some(0.0),
                    ..RawOptions::default()
                },
                "options.maxMetadataBytes",
            ),
            (
                from_json(json!({"rateLimit": {"userWrites": {"requests": 0, "windowMs": 10}}})),
                "options.rateLimit.userWrites.requests",
            ),
        ] {
            let error = raw.settle(false).unwrap_err();
            assert_eq!(error.code(), "invalid_argument");
            assert!(error.reason.starts_with(field), "{}", error.reason);
        }
    }

    #[test]
    fn live_keys_get_the_larger_instance_limit() {
        let raw = RawOptions {
            secret_key: Some(KEY.replace("test", "live")),
            ..RawOptions::default()
        };
        let mut limiter = raw.settle(false).unwrap().limiter;
        let granted = |answer: Acquire| matches!(answer, Acquire::Granted(_));
        let sent_now = (0..1000)
            .filter(|_| granted(limiter.try_acquire(0.0, "u", false, None)))
            .count();
        assert_eq!(sent_now, 1000);
        assert!(!granted(limiter.try_acquire(0.0, "u", false, None)));
    }

    #[test]
    fn limits_can_be_switched_off_or_tuned() {
        let raw = from_json(json!({
            "secretKey": KEY,
            "rateLimit": {"userWrites": {"requests": 2, "windowMs": 100}, "instance": false}
        }));
        let mut limiter = raw.settle(false).unwrap().limiter;
        let granted = |answer: Acquire| matches!(answer, Acquire::Granted(_));
        assert!(granted(limiter.try_acquire(0.0, "u", true, None)));
        assert!(granted(limiter.try_acquire(0.0, "u", true, None)));
        assert!(!granted(limiter.try_acquire(0.0, "u", true, None)));
        assert!((0..500).all(|_| granted(limiter.try_acquire(0.0, "v", false, None))));
    }
}
