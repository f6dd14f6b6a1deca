//! The wasm exports: one `WasmClient` class whose methods each check their arguments, ask the
//! core for a plan, send it, and read the answer. No decision lives here.
//!
//! Every method returns a `Promise` and never throws synchronously: bad input rejects it, as an
//! `async` function would. Rejections are `Error`s carrying `code`, `status`, `clerkTraceId`,
//! `retryAfter`, `errors`, `attempts` and `operation`; the TypeScript wrapper turns them into its
//! exported `ClerkMetadataError` class.

use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use crate::convert;
use crate::core::config::{Config, Host};
use crate::core::limiter::{RateLimiter, Window};
use crate::core::merge;
use crate::core::plan::{self, Method, RequestPlan};
use crate::core::response::{self, HttpResponse};
use crate::core::retry::RetryPolicy;
use crate::core::validate::{self, DEFAULT_MAX_METADATA_BYTES};
use crate::core::{Error, ErrorKind, MetadataKind, Operation};
use crate::transport::Transport;

#[wasm_bindgen(typescript_custom_section)]
const OPTIONS_TS: &str = r#"
/** Options of a WasmClient; see the TypeScript wrapper for the documented public form. */
export interface WasmClientOptions {
  secretKey?: string;
  apiUrl?: string;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  timeoutMs?: number;
  maxRetries?: number;
  deadlineMs?: number;
  maxRetryAfterMs?: number;
  retryBaseDelayMs?: number;
  maxMetadataBytes?: number;
  dangerouslyAllowBrowser?: boolean;
  rateLimit?: false | { userWrites?: false | { requests: number; windowMs: number }; instance?: false | { requests: number; windowMs: number } };
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "WasmClientOptions")]
    pub type WasmClientOptions;
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Options {
    secret_key: Option<String>,
    api_url: Option<String>,
    timeout_ms: Option<f64>,
    max_retries: Option<u32>,
    deadline_ms: Option<f64>,
    max_retry_after_ms: Option<f64>,
    retry_base_delay_ms: Option<f64>,
    max_metadata_bytes: Option<usize>,
    dangerously_allow_browser: bool,
    #[serde(deserialize_with = "deserialize_rate_limit")]
    rate_limit: Option<RateLimitOptions>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RateLimitOptions {
    #[serde(deserialize_with = "deserialize_window")]
    user_writes: Option<Option<WindowOptions>>,
    #[serde(deserialize_with = "deserialize_window")]
    instance: Option<Option<WindowOptions>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct WindowOptions {
    requests: u32,
    window_ms: f64,
}

/// `false` switches the limiter off (an all-off `RateLimitOptions`); an object configures it.
fn deserialize_rate_limit<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<RateLimitOptions>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Flag(bool),
        Options(RateLimitOptions),
    }
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        None | Some(Raw::Flag(true)) => None,
        Some(Raw::Flag(false)) => Some(RateLimitOptions {
            user_writes: Some(None),
            instance: Some(None),
        }),
        Some(Raw::Options(options)) => Some(options),
    })
}

/// Outer `None`: not given (Clerk's default); `Some(None)`: `false`, switched off.
fn deserialize_window<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<WindowOptions>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Flag(bool),
        Window(WindowOptions),
    }
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        None | Some(Raw::Flag(true)) => None,
        Some(Raw::Flag(false)) => Some(None),
        Some(Raw::Window(window)) => Some(Some(window)),
    })
}

/// A configured client. Cheap to call concurrently: each call clones an `Rc`.
#[wasm_bindgen]
pub struct WasmClient {
    inner: Rc<Client>,
}

struct Client {
    /// Kept as a result: a missing key is reported by each call, in that call's words.
    config: Result<Config, Error>,
    transport: Transport,
    max_metadata_bytes: usize,
}

/// The shape of Clerk's error entries as JS sees them (camelCase, like `@clerk/backend`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsErrorEntry<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    long_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<&'a Value>,
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a data property on an Error we just made cannot throw.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// The JS `Error` for a failed operation.
fn js_error(error: &Error, operation: Operation) -> JsValue {
    let js: JsValue = js_sys::Error::new(&error.message(operation)).into();
    set(&js, "name", &"ClerkMetadataError".into());
    set(&js, "code", &error.code().into());
    set(&js, "operation", &operation_name(operation).into());
    set(
        &js,
        "status",
        &error.status.map_or(JsValue::UNDEFINED, JsValue::from),
    );
    set(
        &js,
        "clerkTraceId",
        &error
            .clerk_trace_id
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from),
    );
    set(
        &js,
        "retryAfter",
        &error.retry_after.map_or(JsValue::UNDEFINED, JsValue::from),
    );
    set(&js, "attempts", &error.attempts.into());
    let entries: Vec<JsErrorEntry<'_>> = error
        .errors
        .iter()
        .map(|entry| JsErrorEntry {
            code: &entry.code,
            message: &entry.message,
            long_message: entry.long_message.as_deref(),
            meta: entry.meta.as_ref(),
        })
        .collect();
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let errors = entries
        .serialize(&serializer)
        .unwrap_or_else(|_| js_sys::Array::new().into());
    set(&js, "errors", &errors);
    js
}

fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Update => "update",
        Operation::Get => "get",
        Operation::Merge => "merge",
        Operation::RemoveKeys => "removeKeys",
        Operation::SetKey => "setKey",
        Operation::SetKeys => "setKeys",
        Operation::GetKey => "getKey",
        Operation::HasKey => "hasKey",
        Operation::Clear => "clear",
    }
}

/// A `window` or `document` global means a page, where a secret key would be exposed.
fn is_browser_like() -> bool {
    let global = js_sys::global();
    ["window", "document"].iter().any(|name| {
        Reflect::get(&global, &JsValue::from_str(name)).is_ok_and(|value| !value.is_undefined())
    })
}

fn positive(value: Option<f64>, name: &str, default: f64) -> Result<f64, Error> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v > 0.0 => Ok(v),
        Some(v) => Err(Error::invalid_argument(format!(
            "options.{name} must be a positive number of milliseconds, got {v}"
        ))),
    }
}

impl Options {
    fn into_client(self, fetch: Option<Function>) -> Result<Client, Error> {
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: self
                .max_retries
                .map_or(defaults.max_attempts, |n| n.saturating_add(1)),
            base_delay_ms: positive(
                self.retry_base_delay_ms,
                "retryBaseDelayMs",
                defaults.base_delay_ms,
            )?,
            max_delay_ms: defaults.max_delay_ms,
            max_retry_after_ms: match self.max_retry_after_ms {
                Some(v) if v.is_finite() && v >= 0.0 => v,
                None => defaults.max_retry_after_ms,
                Some(v) => {
                    return Err(Error::invalid_argument(format!(
                        "options.maxRetryAfterMs must be a number of milliseconds ≥ 0, got {v}"
                    )))
                }
            },
            deadline_ms: positive(self.deadline_ms, "deadlineMs", defaults.deadline_ms)?,
        };
        let timeout_ms = positive(self.timeout_ms, "timeoutMs", 10_000.0)?;
        let host = Host {
            browser_like: is_browser_like(),
            allow_browser: self.dangerously_allow_browser,
        };
        let config = Config::new(self.secret_key.as_deref(), self.api_url.as_deref(), host);
        let live = config.as_ref().is_ok_and(|c| c.secret_key.is_live());
        let clerk = RateLimiter::for_clerk(live);
        let limiter = match self.rate_limit {
            None => clerk,
            Some(options) => {
                let window =
                    |given: Option<Option<WindowOptions>>, default: Window, name: &str| match given
                    {
                        None => Ok(Some(default)),
                        Some(None) => Ok(None),
                        Some(Some(w))
                            if w.requests > 0 && w.window_ms.is_finite() && w.window_ms > 0.0 =>
                        {
                            Ok(Some(Window {
                                requests: w.requests,
                                window_ms: w.window_ms,
                            }))
                        }
                        Some(Some(_)) => Err(Error::invalid_argument(format!(
                            "options.rateLimit.{name} needs requests > 0 and windowMs > 0"
                        ))),
                    };
                let instance_default = if live {
                    crate::core::limiter::CLERK_INSTANCE_LIVE
                } else {
                    crate::core::limiter::CLERK_INSTANCE_TEST
                };
                RateLimiter::new(
                    window(
                        options.user_writes,
                        crate::core::limiter::CLERK_USER_WRITES,
                        "userWrites",
                    )?,
                    window(options.instance, instance_default, "instance")?,
                )
            }
        };
        let max_metadata_bytes = match self.max_metadata_bytes {
            None => DEFAULT_MAX_METADATA_BYTES,
            Some(0) => {
                return Err(Error::invalid_argument(
                    "options.maxMetadataBytes must be > 0",
                ))
            }
            Some(n) => n,
        };
        Ok(Client {
            config,
            transport: Transport::new(fetch, timeout_ms, retry, limiter),
            max_metadata_bytes,
        })
    }
}

#[wasm_bindgen]
impl WasmClient {
    /// Builds a client. Throws only for malformed options (wrong types, bad numbers); a missing
    /// or malformed secret key or API URL is reported by each call instead, in its own words.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<WasmClientOptions>) -> Result<WasmClient, JsValue> {
        let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        let invalid = |reason: String| {
            let error = Error::invalid_argument(reason);
            let js: JsValue =
                js_sys::Error::new(&format!("Invalid client options: {}", error.reason)).into();
            set(&js, "name", &"ClerkMetadataError".into());
            set(&js, "code", &error.code().into());
            js
        };
        let fetch = if options.is_object() {
            match Reflect::get(&options, &"fetch".into()) {
                Ok(f) if f.is_undefined() || f.is_null() => None,
                Ok(f) if f.is_function() => Some(f.unchecked_into::<Function>()),
                _ => return Err(invalid("options.fetch must be a function".into())),
            }
        } else {
            None
        };
        let parsed: Options = if options.is_undefined() || options.is_null() {
            Options::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| invalid(e.to_string()))?
        };
        let client = parsed.into_client(fetch).map_err(|e| invalid(e.reason))?;
        Ok(WasmClient {
            inner: Rc::new(client),
        })
    }

    /// The metadata object of `kind` ("public", "private" or "unsafe"); `{}` when empty.
    pub fn get(&self, kind: &str, user_id: JsValue, signal: Option<AbortSignal>) -> Promise {
        self.run(Operation::Get, kind, signal, |client, kind, signal| {
            let plan = plan::get_user(&convert::string(&user_id, "userId")?)?;
            Ok(async move {
                let response = client.send(&plan, signal.as_ref()).await?;
                parse_json(response::user_metadata(&response, kind)?.get())
            })
        })
    }

    /// One key's value, or `undefined` when the key is absent.
    #[wasm_bindgen(js_name = getKey)]
    pub fn get_key(
        &self,
        kind: &str,
        user_id: JsValue,
        key: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(Operation::GetKey, kind, signal, |client, kind, signal| {
            let (plan, key) = read_key_plan(&user_id, &key)?;
            Ok(async move {
                let response = client.send(&plan, signal.as_ref()).await?;
                let metadata = response::user_metadata(&response, kind)?;
                match response::member(metadata, &key)? {
                    Some(raw) => parse_json(raw.get()),
                    None => Ok(JsValue::UNDEFINED),
                }
            })
        })
    }

    /// Whether `key` is an own member of the metadata, whatever its value.
    #[wasm_bindgen(js_name = hasKey)]
    pub fn has_key(
        &self,
        kind: &str,
        user_id: JsValue,
        key: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(Operation::HasKey, kind, signal, |client, kind, signal| {
            let (plan, key) = read_key_plan(&user_id, &key)?;
            Ok(async move {
                let response = client.send(&plan, signal.as_ref()).await?;
                let metadata = response::user_metadata(&response, kind)?;
                Ok(JsValue::from_bool(
                    response::member(metadata, &key)?.is_some(),
                ))
            })
        })
    }

    /// Replaces the whole field with `metadata` (`PUT`).
    pub fn replace(
        &self,
        kind: &str,
        user_id: JsValue,
        metadata: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(Operation::Update, kind, signal, |client, kind, signal| {
            let user_id = convert::string(&user_id, "userId")?;
            let metadata = convert::plain_object(&metadata, "metadata")?;
            let plan = plan::replace(&user_id, kind, metadata, client.max_metadata_bytes)?;
            Ok(async move { client.write(&plan, kind, signal.as_ref()).await })
        })
    }

    /// Empties the field (`PUT {}`).
    pub fn clear(&self, kind: &str, user_id: JsValue, signal: Option<AbortSignal>) -> Promise {
        self.run(Operation::Clear, kind, signal, |client, kind, signal| {
            let user_id = convert::string(&user_id, "userId")?;
            let plan = plan::replace(&user_id, kind, Map::new(), client.max_metadata_bytes)?;
            Ok(async move { client.write(&plan, kind, signal.as_ref()).await })
        })
    }

    /// Deep-merges `metadata` on Clerk's side (`PATCH`); a `null` member removes that key.
    pub fn merge(
        &self,
        kind: &str,
        user_id: JsValue,
        metadata: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(Operation::Merge, kind, signal, |client, kind, signal| {
            let user_id = convert::string(&user_id, "userId")?;
            let metadata = convert::plain_object(&metadata, "metadata")?;
            let plan = plan::merge(&user_id, kind, metadata, client.max_metadata_bytes)?;
            Ok(async move { client.write(&plan, kind, signal.as_ref()).await })
        })
    }

    /// Removes each key in one `PATCH` (`{key: null}`); an empty list sends nothing.
    #[wasm_bindgen(js_name = removeKeys)]
    pub fn remove_keys(
        &self,
        kind: &str,
        user_id: JsValue,
        keys: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(
            Operation::RemoveKeys,
            kind,
            signal,
            |client, kind, signal| {
                let user_id = convert::string(&user_id, "userId")?;
                let keys = convert::string_array(&keys, "keysToRemove")?;
                for (index, key) in keys.iter().enumerate() {
                    validate::key(key, &format!("keysToRemove[{index}]"))?;
                }
                let patch = merge::removal_patch(keys.iter().map(String::as_str));
                // Planned even when empty: a bad id is refused, never silently ignored.
                let plan = plan::merge(&user_id, kind, patch, client.max_metadata_bytes)?;
                Ok(async move {
                    if keys.is_empty() {
                        return Ok(JsValue::UNDEFINED);
                    }
                    client.write(&plan, kind, signal.as_ref()).await
                })
            },
        )
    }

    /// Sets one key to exactly `value`, leaving every other key alone (one write).
    #[wasm_bindgen(js_name = setKey)]
    pub fn set_key(
        &self,
        kind: &str,
        user_id: JsValue,
        key: JsValue,
        value: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(Operation::SetKey, kind, signal, |client, kind, signal| {
            let user_id = convert::string(&user_id, "userId")?;
            let key = convert::string(&key, "key")?;
            validate::key(&key, "key")?;
            let value = convert::json_value(&value, "value")?;
            let mut entries = Map::with_capacity(1);
            entries.insert(key, value);
            client.check_exact_set(&user_id, &entries)?;
            Ok(async move {
                client
                    .set_exact(&user_id, kind, entries, signal.as_ref())
                    .await
            })
        })
    }

    /// Sets several keys to exactly these values in one write; `{}` sends nothing.
    #[wasm_bindgen(js_name = setKeys)]
    pub fn set_keys(
        &self,
        kind: &str,
        user_id: JsValue,
        entries: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(Operation::SetKeys, kind, signal, |client, kind, signal| {
            let user_id = convert::string(&user_id, "userId")?;
            let entries = convert::plain_object(&entries, "entries")?;
            for key in entries.keys() {
                validate::key(key, "a key of entries")?;
            }
            client.check_exact_set(&user_id, &entries)?;
            Ok(async move {
                if entries.is_empty() {
                    return Ok(JsValue::UNDEFINED);
                }
                client
                    .set_exact(&user_id, kind, entries, signal.as_ref())
                    .await
            })
        })
    }
}

/// The read plan and checked key shared by `getKey` and `hasKey`.
fn read_key_plan(user_id: &JsValue, key: &JsValue) -> Result<(RequestPlan, String), Error> {
    let user_id = convert::string(user_id, "userId")?;
    let key = convert::string(key, "key")?;
    validate::key(&key, "key")?;
    Ok((plan::get_user(&user_id)?, key))
}

impl WasmClient {
    /// Runs one operation as a Promise. `prepare` runs now, synchronously (so arguments are read
    /// before the caller can change them, as in an `async` function); its future runs after.
    /// Any [`Error`] becomes that operation's JS error.
    fn run<F, Fut>(
        &self,
        operation: Operation,
        kind: &str,
        signal: Option<AbortSignal>,
        prepare: F,
    ) -> Promise
    where
        F: FnOnce(Rc<Client>, MetadataKind, Option<AbortSignal>) -> Result<Fut, Error>,
        Fut: std::future::Future<Output = Result<JsValue, Error>> + 'static,
    {
        let client = Rc::clone(&self.inner);
        let prepared = match MetadataKind::from_name(kind) {
            Some(kind) => prepare(client, kind, signal),
            None => Err(Error::invalid_argument(
                "kind must be \"public\", \"private\" or \"unsafe\"",
            )),
        };
        match prepared {
            Ok(future) => future_to_promise(async move {
                future.await.map_err(|error| js_error(&error, operation))
            }),
            Err(error) => Promise::reject(&js_error(&error, operation)),
        }
    }
}

impl Client {
    fn config(&self) -> Result<&Config, Error> {
        self.config.as_ref().map_err(Clone::clone)
    }

    async fn send(
        &self,
        plan: &RequestPlan,
        signal: Option<&AbortSignal>,
    ) -> Result<HttpResponse, Error> {
        self.transport.execute(self.config()?, plan, signal).await
    }

    /// Sends a write and checks Clerk answered with a user, so a proxy's HTML 200 is not
    /// mistaken for success.
    async fn write(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        let response = self.send(plan, signal).await?;
        response::user_metadata(&response, kind)?;
        Ok(JsValue::UNDEFINED)
    }

    /// Everything about an exact set that can be refused before any request, read or write.
    fn check_exact_set(&self, user_id: &str, entries: &Map<String, Value>) -> Result<(), Error> {
        validate::user_id(user_id)?;
        merge::exact_set_patch(None, entries, "value")?;
        Ok(())
    }

    /// The exact-set write: reads first only when some value is an object (see
    /// [`merge::needs_current_value`]), then sends one `PATCH`.
    async fn set_exact(
        &self,
        user_id: &str,
        kind: MetadataKind,
        entries: Map<String, Value>,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        let current = if entries.values().any(merge::needs_current_value) {
            let response = self.send(&plan::get_user(user_id)?, signal).await?;
            Some(response::members(response::user_metadata(
                &response, kind,
            )?)?)
        } else {
            None
        };
        let patch = merge::exact_set_patch(current.as_ref(), &entries, "value")?;
        let plan = plan::metadata_write(
            Method::Patch,
            user_id,
            kind,
            patch,
            self.max_metadata_bytes,
            "value",
        )?;
        self.write(&plan, kind, signal).await
    }
}

/// Hands raw JSON text to the host's `JSON.parse`: one native parse instead of a Rust tree
/// converted value by value, and `__proto__` keys land as own data properties.
fn parse_json(text: &str) -> Result<JsValue, Error> {
    js_sys::JSON::parse(text).map_err(|_| {
        Error::new(
            ErrorKind::InvalidResponse,
            "unexpected response from Clerk: metadata could not be parsed",
        )
    })
}
