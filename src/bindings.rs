//! The wasm exports: one `WasmClient` class whose methods each check their arguments, ask the
//! core for a plan, send it, and read the answer. No decision lives here.
//!
//! Every method returns a `Promise` and never throws synchronously: bad input rejects it, as an
//! `async` function would. Rejections are `Error`s carrying `code`, `status`, `clerkTraceId`,
//! `retryAfter`, `errors`, `attempts` and `operation`; the TypeScript wrapper turns them into its
//! exported `ClerkMetadataError` class.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use crate::convert;
use crate::core::cache::{Cache, Stamp, UserFields};
use crate::core::config::Config;
use crate::core::json::{Map, Value};
use crate::core::merge;
use crate::core::options::{LimitOption, RawOptions};
use crate::core::plan::{self, Method, RequestPlan};
use crate::core::response::{self, HttpResponse};
use crate::core::validate;
use crate::core::{Error, ErrorKind, MetadataKind, Operation};
use crate::task;
use crate::transport::{check_aborted, now, now_if, unless_aborted, Received, Transport};

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
  cache?: false | { ttlMs?: number; maxUsers?: number };
  rateLimit?: false | { userWrites?: false | { requests: number; windowMs: number }; instance?: false | { requests: number; windowMs: number } };
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "WasmClientOptions")]
    pub type WasmClientOptions;
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
    /// The opt-in read cache; with caching off it still orders reads after writes.
    cache: RefCell<Cache>,
    /// Reads of a user in flight, which concurrent reads of that user join (single flight).
    flights: RefCell<HashMap<String, Flight>>,
}

/// One shared read: its start, a promise settled when it is done, and where its result lands.
#[derive(Clone)]
struct Flight {
    stamp: Stamp,
    /// Resolvers of the callers waiting on this read, called when it settles. A promise is made
    /// only for a caller that joins, so a read nobody joins costs nothing extra.
    waiters: Rc<RefCell<Vec<Function>>>,
    result: Rc<RefCell<Option<Result<UserFields, Error>>>>,
}

/// One metadata field as read: its raw JSON text (from the cache or a read shared with other
/// callers), or the object the host's `JSON.parse` made of a read nobody shared.
enum Field {
    Text(String),
    Object(JsValue),
}

/// One member of a field: its raw JSON text, or the value the host already parsed.
enum Member<'a> {
    Text(&'a str),
    Value(JsValue),
}

/// `key`'s value if it is an own member of `object` (a fresh `JSON.parse` result: plain data
/// properties, and a `__proto__` key is an own one).
fn own_member(object: &JsValue, key: &str) -> Option<JsValue> {
    let descriptor =
        Object::get_own_property_descriptor(object.unchecked_ref::<Object>(), &key.into());
    if descriptor.is_undefined() {
        return None;
    }
    Reflect::get(&descriptor, &JsValue::from_str("value")).ok()
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
    set(&js, "operation", &operation.name().into());
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
    // Clerk's entries camelCased, as `@clerk/backend` shows them; `meta` is free-form JSON and
    // goes through JSON.parse, which keeps numbers and `__proto__` keys exactly as sent.
    let errors = js_sys::Array::new();
    for entry in &error.errors {
        let target: JsValue = Object::new().into();
        set(&target, "code", &entry.code.as_str().into());
        set(&target, "message", &entry.message.as_str().into());
        if let Some(long_message) = &entry.long_message {
            set(&target, "longMessage", &long_message.as_str().into());
        }
        if let Some(meta) = entry.meta.as_ref().and_then(|meta| to_js(meta).ok()) {
            set(&target, "meta", &meta);
        }
        errors.push(&target);
    }
    set(&js, "errors", &errors);
    js
}

/// A `window` or `document` global means a page, where a secret key would be exposed.
fn is_browser_like() -> bool {
    let global = js_sys::global();
    ["window", "document"].iter().any(|name| {
        Reflect::get(&global, &JsValue::from_str(name)).is_ok_and(|value| !value.is_undefined())
    })
}

/// Reads the options object field by field; the core checks the values.
///
/// Hand-written rather than serde-derived: a derive with untagged enums (for `false | {…}`)
/// weighed 15 KB of wasm, more than the whole transport.
struct OptionsReader<'a> {
    object: &'a JsValue,
    prefix: &'a str,
}

impl OptionsReader<'_> {
    fn get(&self, name: &str) -> Result<Option<JsValue>, Error> {
        if !self.object.is_object() {
            return Ok(None);
        }
        let value = Reflect::get(self.object, &JsValue::from_str(name)).map_err(|_| {
            Error::invalid_argument(format!("{}{name} could not be read", self.prefix))
        })?;
        Ok((!value.is_undefined()).then_some(value))
    }

    fn wrong(&self, name: &str, expected: &str, value: &JsValue) -> Error {
        Error::invalid_argument(format!(
            "{}{name} must be {expected}, got {}",
            self.prefix,
            convert::describe(value)
        ))
    }

    /// An optional member read with `read`, or an error naming what it should have been.
    fn typed<T>(
        &self,
        name: &str,
        expected: &str,
        read: fn(&JsValue) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        match self.get(name)? {
            None => Ok(None),
            Some(value) => read(&value)
                .map(Some)
                .ok_or_else(|| self.wrong(name, expected, &value)),
        }
    }

    fn string(&self, name: &str) -> Result<Option<String>, Error> {
        self.typed(name, "a string", JsValue::as_string)
    }

    fn number(&self, name: &str) -> Result<Option<f64>, Error> {
        self.typed(name, "a number", JsValue::as_f64)
    }

    fn flag(&self, name: &str) -> Result<bool, Error> {
        Ok(self
            .typed(name, "a boolean", JsValue::as_bool)?
            .unwrap_or(false))
    }

    /// `false` → off; `true` or absent → Clerk's limit; `{requests, windowMs}` → custom.
    fn limit(&self, name: &str) -> Result<LimitOption, Error> {
        let Some(value) = self.get(name)? else {
            return Ok(LimitOption::Clerk);
        };
        if let Some(on) = value.as_bool() {
            return Ok(if on {
                LimitOption::Clerk
            } else {
                LimitOption::Off
            });
        }
        if !value.is_object() {
            return Err(self.wrong(name, "false or { requests, windowMs }", &value));
        }
        let prefix = format!("{}{name}.", self.prefix);
        let window = OptionsReader {
            object: &value,
            prefix: &prefix,
        };
        let requests = window.number("requests")?;
        let window_ms = window.number("windowMs")?;
        match (requests, window_ms) {
            (Some(requests), Some(window_ms)) => Ok(LimitOption::Custom {
                requests,
                window_ms,
            }),
            _ => Err(self.wrong(name, "false or { requests, windowMs }", &value)),
        }
    }
}

fn read_options(options: &JsValue) -> Result<(RawOptions, Option<Function>), Error> {
    if !(options.is_undefined() || options.is_null() || options.is_object()) {
        return Err(Error::invalid_argument(format!(
            "options must be an object, got {}",
            convert::describe(options)
        )));
    }
    let reader = OptionsReader {
        object: options,
        prefix: "options.",
    };
    let fetch = match reader.get("fetch")? {
        None => None,
        Some(value) if value.is_null() => None,
        Some(value) if value.is_function() => Some(value.unchecked_into::<Function>()),
        Some(value) => return Err(reader.wrong("fetch", "a function", &value)),
    };
    let (user_writes, instance) = match reader.get("rateLimit")? {
        None => (LimitOption::Clerk, LimitOption::Clerk),
        Some(value) if value.as_bool() == Some(false) => (LimitOption::Off, LimitOption::Off),
        Some(value) if value.as_bool() == Some(true) => (LimitOption::Clerk, LimitOption::Clerk),
        Some(value) if value.is_object() => {
            let limits = OptionsReader {
                object: &value,
                prefix: "options.rateLimit.",
            };
            (limits.limit("userWrites")?, limits.limit("instance")?)
        }
        Some(value) => return Err(reader.wrong("rateLimit", "false or an object", &value)),
    };
    let cache = match reader.get("cache")? {
        None => None,
        Some(value) if value.as_bool() == Some(false) => None,
        Some(value) if value.is_object() => {
            let cache = OptionsReader {
                object: &value,
                prefix: "options.cache.",
            };
            Some((cache.number("ttlMs")?, cache.number("maxUsers")?))
        }
        Some(value) => return Err(reader.wrong("cache", "false or { ttlMs, maxUsers }", &value)),
    };
    let raw = RawOptions {
        cache,
        secret_key: reader.string("secretKey")?,
        api_url: reader.string("apiUrl")?,
        timeout_ms: reader.number("timeoutMs")?,
        max_retries: reader.number("maxRetries")?,
        deadline_ms: reader.number("deadlineMs")?,
        max_retry_after_ms: reader.number("maxRetryAfterMs")?,
        retry_base_delay_ms: reader.number("retryBaseDelayMs")?,
        max_metadata_bytes: reader.number("maxMetadataBytes")?,
        dangerously_allow_browser: reader.flag("dangerouslyAllowBrowser")?,
        user_writes,
        instance,
    };
    Ok((raw, fetch))
}

#[wasm_bindgen]
impl WasmClient {
    /// Builds a client. Throws only for malformed options (wrong types, bad numbers); a missing
    /// or malformed secret key or API URL is reported by each call instead, in its own words.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<WasmClientOptions>) -> Result<WasmClient, JsValue> {
        let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        let invalid = |error: Error| {
            let js: JsValue =
                js_sys::Error::new(&format!("Invalid client options: {}", error.reason)).into();
            set(&js, "name", &"ClerkMetadataError".into());
            set(&js, "code", &error.code().into());
            js
        };
        let (raw, fetch) = read_options(&options).map_err(invalid)?;
        let settings = raw.settle(is_browser_like()).map_err(invalid)?;
        Ok(WasmClient {
            inner: Rc::new(Client {
                config: settings.config,
                transport: Transport::new(
                    fetch,
                    settings.timeout_ms,
                    settings.retry,
                    settings.limiter,
                ),
                max_metadata_bytes: settings.max_metadata_bytes,
                cache: RefCell::new(settings.cache),
                flights: RefCell::new(HashMap::new()),
            }),
        })
    }

    /// The metadata object of `kind` ("public", "private" or "unsafe"); `{}` when empty.
    pub fn get(&self, kind: &str, user_id: JsValue, signal: Option<AbortSignal>) -> Promise {
        self.run(Operation::Get, kind, signal, |client, kind, signal| {
            let plan = plan::get_user(&convert::string(&user_id, "userId")?)?;
            Ok(async move {
                match client.read(&plan, kind, signal.as_ref()).await? {
                    Field::Text(metadata) => parse_json(&metadata),
                    Field::Object(metadata) => Ok(metadata),
                }
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
        self.read_member(
            Operation::GetKey,
            kind,
            user_id,
            key,
            signal,
            |member| match member {
                None => Ok(JsValue::UNDEFINED),
                Some(Member::Text(text)) => parse_json(text),
                Some(Member::Value(value)) => Ok(value),
            },
        )
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
        self.read_member(Operation::HasKey, kind, user_id, key, signal, |member| {
            Ok(JsValue::from_bool(member.is_some()))
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
        self.write_object(
            Operation::Update,
            Method::Put,
            kind,
            user_id,
            metadata,
            signal,
        )
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
        self.write_object(
            Operation::Merge,
            Method::Patch,
            kind,
            user_id,
            metadata,
            signal,
        )
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
            let value = convert::json_value(&value, "value", client.max_metadata_bytes)?;
            let mut entries = Map::new();
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
            let entries = convert::plain_object(&entries, "entries", client.max_metadata_bytes)?;
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

impl WasmClient {
    /// `getKey` and `hasKey`: one member of the metadata, answered by `answer`.
    fn read_member(
        &self,
        operation: Operation,
        kind: &str,
        user_id: JsValue,
        key: JsValue,
        signal: Option<AbortSignal>,
        answer: fn(Option<Member>) -> Result<JsValue, Error>,
    ) -> Promise {
        self.run(operation, kind, signal, |client, kind, signal| {
            let user_id = convert::string(&user_id, "userId")?;
            let key = convert::string(&key, "key")?;
            validate::key(&key, "key")?;
            let plan = plan::get_user(&user_id)?;
            Ok(async move {
                match client.read(&plan, kind, signal.as_ref()).await? {
                    Field::Text(text) => answer(response::member(&text, &key)?.map(Member::Text)),
                    Field::Object(object) => answer(own_member(&object, &key).map(Member::Value)),
                }
            })
        })
    }

    /// `replace` and `merge`: a whole metadata object sent with `method`.
    fn write_object(
        &self,
        operation: Operation,
        method: Method,
        kind: &str,
        user_id: JsValue,
        metadata: JsValue,
        signal: Option<AbortSignal>,
    ) -> Promise {
        self.run(operation, kind, signal, |client, kind, signal| {
            let user_id = convert::string(&user_id, "userId")?;
            let metadata = convert::plain_object(&metadata, "metadata", client.max_metadata_bytes)?;
            let plan = plan::metadata_write(
                method,
                &user_id,
                kind,
                metadata,
                client.max_metadata_bytes,
                "metadata",
            )?;
            Ok(async move { client.write(&plan, kind, signal.as_ref()).await })
        })
    }

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
        Fut: Future<Output = Result<JsValue, Error>> + 'static,
    {
        let client = Rc::clone(&self.inner);
        let prepared = match MetadataKind::from_name(kind) {
            Some(kind) => prepare(client, kind, signal),
            None => Err(Error::invalid_argument(
                "kind must be \"public\", \"private\" or \"unsafe\"",
            )),
        };
        match prepared {
            // One box per call: the executor (`task`) is not generic, so only this small
            // wrapper is made per operation.
            Ok(future) => task::spawn(Box::pin(async move {
                future.await.map_err(|error| js_error(&error, operation))
            })),
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
        self.receive(plan, signal).await?.into_response()
    }

    /// Sends the plan; a success's body stays in the host until it is asked for.
    async fn receive(
        &self,
        plan: &RequestPlan,
        signal: Option<&AbortSignal>,
    ) -> Result<Received, Error> {
        self.transport.execute(self.config()?, plan, signal).await
    }

    /// Sends a write and checks Clerk answered with a user, so a proxy's HTML 200 is not
    /// mistaken for success.
    /// Every successful write refreshes the cached user from Clerk's answer; a failed one
    /// forgets it.
    async fn write(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        let stamp = self.cache.borrow_mut().begin_write(&plan.user_id);
        let outcome = match self.receive(plan, signal).await {
            // With the cache off nothing keeps the user, so checking that Clerk answered with
            // one is all there is to do, and the host's parse does that without the body
            // entering wasm. Anything else is explained by the core.
            Ok(received)
                if !self.cache.borrow().is_enabled() && received.object_field(kind).is_some() =>
            {
                Ok(None)
            }
            Ok(received) => received
                .into_response()
                .and_then(|response| response::user_fields(&response, kind))
                .map(Some),
            Err(error) => Err(error),
        };
        let mut cache = self.cache.borrow_mut();
        let done = cache.write_completed(&plan.user_id);
        let result = match outcome {
            Ok(fields) => {
                if let Some(fields) = fields {
                    let at = now_if(cache.is_enabled());
                    cache.store(&plan.user_id, done, fields, at);
                }
                Ok(JsValue::UNDEFINED)
            }
            Err(error) => {
                cache.invalidate(&plan.user_id);
                Err(error)
            }
        };
        cache.finish(stamp);
        result
    }

    /// One field of a user: from the cache when fresh, else from a read that concurrent
    /// callers share, unless a write to that user started after it did. A read nobody shares
    /// answers with the host's parse of the body.
    async fn read(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        signal: Option<&AbortSignal>,
    ) -> Result<Field, Error> {
        let user_id = &plan.user_id;
        let cached = {
            let cache = self.cache.borrow();
            let at = now_if(cache.is_enabled());
            cache
                .get(user_id, at)
                .and_then(|f| f.get(kind))
                .map(str::to_owned)
        };
        if let Some(metadata) = cached {
            return Ok(Field::Text(metadata));
        }
        let shared = self.flights.borrow().get(user_id).cloned();
        if let Some(flight) = shared.filter(|f| self.cache.borrow().may_share(user_id, f.stamp)) {
            // Joining is waiting: this caller's own signal still ends its wait.
            check_aborted(signal, 0)?;
            let done =
                Promise::new(&mut |resolve, _reject| flight.waiters.borrow_mut().push(resolve));
            if unless_aborted(done, signal).await.is_err() {
                check_aborted(signal, 0)?;
            }
            match &*flight.result.borrow() {
                // Another caller's abort is not this caller's: read on its own.
                Some(Err(error)) if error.kind == ErrorKind::Aborted => {}
                Some(result) => return field_of(result, kind).map(Field::Text),
                None => {}
            }
        }
        self.lead_read(plan, kind, signal).await
    }

    /// Sends the read that others may join, and stores its answer in the cache.
    async fn lead_read(
        &self,
        plan: &RequestPlan,
        kind: MetadataKind,
        signal: Option<&AbortSignal>,
    ) -> Result<Field, Error> {
        let stamp = self.cache.borrow_mut().begin_read();
        let flight = Flight {
            stamp,
            waiters: Rc::new(RefCell::new(Vec::new())),
            result: Rc::new(RefCell::new(None)),
        };
        self.flights
            .borrow_mut()
            .insert(plan.user_id.clone(), flight.clone());
        let received = self.receive(plan, signal).await;
        // Nobody to share the answer with (no cache, no caller joined): the caller takes the
        // host's parse of the body, which never enters wasm. Checked and used with no await in
        // between, so nobody can join meanwhile.
        let direct = match &received {
            Ok(received)
                if !self.cache.borrow().is_enabled() && flight.waiters.borrow().is_empty() =>
            {
                received.object_field(kind)
            }
            _ => None,
        };
        if let Some(object) = direct {
            self.cache.borrow_mut().finish(stamp);
            self.end_flight(&plan.user_id, &flight);
            return Ok(Field::Object(object));
        }
        let outcome = received
            .and_then(Received::into_response)
            .and_then(|response| response::user_fields(&response, kind));
        {
            let mut cache = self.cache.borrow_mut();
            match &outcome {
                Ok(fields) if cache.is_enabled() => {
                    cache.store(&plan.user_id, stamp, fields.clone(), now())
                }
                _ => {}
            }
            cache.finish(stamp);
        }
        let result = field_of(&outcome, kind).map(Field::Text);
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
        for settle in waiters {
            let _ = settle.call0(&JsValue::UNDEFINED);
        }
    }

    /// Everything about an exact set that can be refused before any request, read or write.
    fn check_exact_set(&self, user_id: &str, entries: &Map) -> Result<(), Error> {
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
        entries: Map,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, Error> {
        let current = if entries.values().any(merge::needs_current_value) {
            // Always from Clerk, never the cache: a key another process added since must be
            // named in the patch, or it would survive the exact set.
            let response = self.send(&plan::get_user(user_id)?, signal).await?;
            Some(response::user_metadata(&response, kind)?)
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

/// Hands a value to JS through the host's `JSON.parse`: one native parse rather than a
/// property-by-property build, and `__proto__` keys land as own data properties (assigning them
/// one by one would call the `__proto__` setter instead).
/// One field's raw JSON of a shared read result (`{}` when that field was not an object).
fn field_of(result: &Result<UserFields, Error>, kind: MetadataKind) -> Result<String, Error> {
    match result {
        Ok(fields) => Ok(fields.get(kind).unwrap_or("{}").to_owned()),
        Err(error) => Err(error.clone()),
    }
}

/// Raw JSON text from Clerk handed to the host's `JSON.parse`: one native parse, numbers and key
/// order exactly as sent, and `__proto__` keys land as own data properties.
fn parse_json(text: &str) -> Result<JsValue, Error> {
    js_sys::JSON::parse(text).map_err(|_| {
        Error::new(
            ErrorKind::InvalidResponse,
            "unexpected response from Clerk: metadata could not be parsed",
        )
    })
}

fn to_js(value: &Value) -> Result<JsValue, Error> {
    js_sys::JSON::parse(&value.to_string()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidResponse,
            "unexpected response from Clerk: metadata could not be handed to JavaScript",
        )
    })
}
