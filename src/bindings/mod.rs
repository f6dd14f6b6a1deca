//! The wasm exports: one `WasmClient` class whose methods each read their arguments, ask the
//! core for a plan, and hand the work to [`Client`] (reads in `reads`, writes in `writes`).
//!
//! Every method returns a `Promise` and never throws: bad input rejects it, as an `async`
//! function would, and arguments are read when the method is called (so a caller changing them
//! afterwards changes nothing).

mod errors;
mod options;
mod reads;
mod writes;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use crate::convert;
use crate::core::cache::Cache;
use crate::core::config::Config;
use crate::core::error::number_text;
use crate::core::plan::{self, Method};
use crate::core::validate::{self, MAX_KEY_LEN, MAX_USER_ID_LEN};
use crate::core::ErrorKind;
use crate::core::{merge, Error, MetadataKind, Operation};
use crate::limiter::Limiter;
use crate::transport::Transport;
use crate::wait::{now, private_view};
use reads::Flight;
use writes::Lanes;

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
    /// Each user's writes, one at a time and in call order.
    lanes: Lanes,
    /// The host's `ClerkMetadataError`, of which every failure is an instance.
    error_class: Function,
    /// Writes resolve with Clerk's user object (for the host's `onUserWritten`).
    return_user: bool,
}

impl Client {
    fn config(&self) -> Result<&Config, Error> {
        self.config.as_ref().map_err(Clone::clone)
    }
}

/// What every step of one operation shares: the caller's signal (this call's private view of
/// it) and the operation's deadline, which bounds everything from the call on: waiting for the
/// user's earlier writes, the rate limiter, every request and every retry.
pub(crate) struct Call {
    pub signal: Option<AbortSignal>,
    /// Host clock, ms.
    pub deadline_at: f64,
    pub deadline_ms: f64,
}

impl Call {
    fn start(signal: Option<AbortSignal>, deadline_ms: f64) -> Call {
        Call {
            signal,
            deadline_at: now() + deadline_ms,
            deadline_ms,
        }
    }

    pub fn signal(&self) -> Option<&AbortSignal> {
        self.signal.as_ref()
    }

    /// The error for a wait that would pass the deadline.
    pub fn past_deadline(&self, waiting_for: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{waiting_for} would wait past the {} ms deadline (deadlineMs)",
                number_text(self.deadline_ms)
            ),
        )
    }
}

/// A `window` or `document` global means a page, where a secret key would be exposed.
fn is_browser_like() -> bool {
    let global = js_sys::global();
    ["window", "document"].iter().any(|name| {
        Reflect::get(&global, &JsValue::from_str(name)).is_ok_and(|value| !value.is_undefined())
    })
}

/// The caller's `signal` from per-call options, as this call's private view of it.
fn signal_of(options: &JsValue) -> Result<Option<AbortSignal>, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    if !options.is_object() {
        return Err(Error::invalid_argument(format!(
            "options must be an object, got {}",
            convert::describe(options)
        )));
    }
    let signal = Reflect::get(options, &"signal".into()).map_err(|_| {
        Error::invalid_argument("options.signal could not be read (a getter or Proxy trap threw)")
    })?;
    if signal.is_undefined() || signal.is_null() {
        return Ok(None);
    }
    match signal.dyn_ref::<AbortSignal>() {
        Some(signal) => Ok(Some(private_view(signal))),
        None => Err(Error::invalid_argument(format!(
            "options.signal must be an AbortSignal, got {}",
            convert::describe(&signal)
        ))),
    }
}

fn user_id(value: &JsValue) -> Result<String, Error> {
    convert::string(value, "userId", MAX_USER_ID_LEN)
}

fn key(value: &JsValue, what: &str) -> Result<String, Error> {
    let key = convert::string(value, what, MAX_KEY_LEN)?;
    validate::key(&key, what)?;
    Ok(key)
}

#[wasm_bindgen]
impl WasmClient {
    /// Builds a client. `environment` holds `CLERK_SECRET_KEY` and `CLERK_API_URL` as the host
    /// read them, used where the options say nothing. Throws only for malformed options; a missing
    /// or malformed secret key or API URL is reported by each call instead, in its own words.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClerkMetadataClientOptions | undefined")]
        options: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "{ secretKey: string | undefined; apiUrl: string | undefined }"
        )]
        environment: JsValue,
        #[wasm_bindgen(unchecked_param_type = "typeof ClerkMetadataError")] error_class: Function,
    ) -> Result<WasmClient, JsValue> {
        let invalid = |error: Error| errors::to_js(&error, None, &error_class);
        let host = options::read(&options, &environment).map_err(invalid)?;
        let settings = host.raw.settle(is_browser_like()).map_err(invalid)?;
        let limiter = match host.limiter {
            Some(shared) => Limiter::Host(shared),
            None => Limiter::local(settings.limiter),
        };
        let write_settle_ms = settings.retry.write_settle_ms;
        Ok(WasmClient {
            inner: Rc::new(Client {
                config: settings.config,
                transport: Transport {
                    fetch: host.fetch,
                    timeout_ms: settings.timeout_ms,
                    retry: settings.retry,
                    limiter,
                    headers: RefCell::new(None),
                    on_wait: host.on_wait,
                },
                max_metadata_bytes: settings.max_metadata_bytes,
                cache: RefCell::new(settings.cache),
                flights: RefCell::new(HashMap::new()),
                lanes: Lanes::new(write_settle_ms),
                error_class: error_class.clone(),
                return_user: host.return_user,
            }),
        })
    }

    /// One page of Clerk's user list, oldest first, after the user `startingAfter` (when given):
    /// Clerk's user objects as sent.
    #[wasm_bindgen(js_name = listUsers)]
    pub fn list_users(&self, limit: JsValue, starting_after: JsValue, options: JsValue) -> Promise {
        self.run(
            Operation::ListUsers,
            "public",
            &options,
            |client, _, call| {
                let cursor = if starting_after.is_undefined() || starting_after.is_null() {
                    None
                } else {
                    Some(convert::string(
                        &starting_after,
                        "startingAfter",
                        MAX_USER_ID_LEN,
                    )?)
                };
                let plan = plan::list_users(limit.as_f64(), cursor.as_deref())?;
                Ok(async move {
                    let answer = client
                        .transport
                        .execute(client.config()?, &plan, &call)
                        .await
                        .map_err(|failed| failed.error)?;
                    reads::parse(crate::core::response::user_list(&answer)?)
                })
            },
        )
    }

    /// The metadata object of `kind` ("public", "private" or "unsafe"); `{}` when empty.
    pub fn get(&self, kind: &str, user_id: JsValue, options: JsValue) -> Promise {
        self.run(Operation::Get, kind, &options, |client, kind, call| {
            let plan = plan::get_user(&self::user_id(&user_id)?)?;
            Ok(async move {
                let metadata = client.read(&plan, kind, &call).await?;
                reads::parse(&metadata)
            })
        })
    }

    /// One key's value, or `undefined` when the key is absent.
    #[wasm_bindgen(js_name = getKey)]
    pub fn get_key(&self, kind: &str, user_id: JsValue, key: JsValue, options: JsValue) -> Promise {
        self.read_member(Operation::GetKey, kind, user_id, key, options, |member| {
            member.map_or(Ok(JsValue::UNDEFINED), reads::parse)
        })
    }

    /// Whether `key` is a member of the metadata, whatever its value.
    #[wasm_bindgen(js_name = hasKey)]
    pub fn has_key(&self, kind: &str, user_id: JsValue, key: JsValue, options: JsValue) -> Promise {
        self.read_member(Operation::HasKey, kind, user_id, key, options, |member| {
            Ok(JsValue::from_bool(member.is_some()))
        })
    }

    /// Replaces the whole field with `metadata` (`PUT`).
    pub fn replace(
        &self,
        kind: &str,
        user_id: JsValue,
        metadata: JsValue,
        options: JsValue,
    ) -> Promise {
        self.write_object(
            Operation::Update,
            Method::Put,
            kind,
            user_id,
            metadata,
            options,
        )
    }

    /// Deep-merges `metadata` into the field on Clerk's side (`PATCH`); `null` removes a key.
    pub fn merge(
        &self,
        kind: &str,
        user_id: JsValue,
        metadata: JsValue,
        options: JsValue,
    ) -> Promise {
        self.write_object(
            Operation::Merge,
            Method::Patch,
            kind,
            user_id,
            metadata,
            options,
        )
    }

    /// Empties the field (`PUT {}`).
    pub fn clear(&self, kind: &str, user_id: JsValue, options: JsValue) -> Promise {
        self.run(Operation::Clear, kind, &options, |client, kind, call| {
            let plan = plan::replace(
                &self::user_id(&user_id)?,
                kind,
                Default::default(),
                client.max_metadata_bytes,
            )?;
            Ok(async move { client.send_write(plan, kind, &call).await })
        })
    }

    /// Removes these keys in one `PATCH` (`{key: null, …}`); an empty list sends nothing.
    #[wasm_bindgen(js_name = removeKeys)]
    pub fn remove_keys(
        &self,
        kind: &str,
        user_id: JsValue,
        keys: JsValue,
        options: JsValue,
    ) -> Promise {
        self.run(
            Operation::RemoveKeys,
            kind,
            &options,
            |client, kind, call| {
                let user_id = self::user_id(&user_id)?;
                let keys = convert::string_array(&keys, "keysToRemove", MAX_KEY_LEN)?;
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
                    client.send_write(plan, kind, &call).await
                })
            },
        )
    }

    /// Sets one key to exactly `value`, leaving every other key alone.
    #[wasm_bindgen(js_name = setKey)]
    pub fn set_key(
        &self,
        kind: &str,
        user_id: JsValue,
        key: JsValue,
        value: JsValue,
        options: JsValue,
    ) -> Promise {
        self.run(Operation::SetKey, kind, &options, |client, kind, call| {
            let user_id = self::user_id(&user_id)?;
            let key = self::key(&key, "key")?;
            let value = convert::json_value(&value, "value", client.max_metadata_bytes)?;
            let mut entries = crate::core::Map::new();
            entries.insert(key, value);
            writes::check_exact_set(&user_id, &entries)?;
            Ok(async move { client.set_exact(&user_id, kind, entries, &call).await })
        })
    }

    /// Sets several keys to exactly these values in one write; `{}` sends nothing.
    #[wasm_bindgen(js_name = setKeys)]
    pub fn set_keys(
        &self,
        kind: &str,
        user_id: JsValue,
        entries: JsValue,
        options: JsValue,
    ) -> Promise {
        self.run(Operation::SetKeys, kind, &options, |client, kind, call| {
            let user_id = self::user_id(&user_id)?;
            let entries = convert::plain_object(&entries, "entries", client.max_metadata_bytes)?;
            for key in entries.keys() {
                validate::key(key, "a key of entries")?;
            }
            writes::check_exact_set(&user_id, &entries)?;
            Ok(async move {
                if entries.is_empty() {
                    return Ok(JsValue::UNDEFINED);
                }
                client.set_exact(&user_id, kind, entries, &call).await
            })
        })
    }
}

impl WasmClient {
    /// `getKey` and `hasKey`: one member of the metadata (its raw JSON), answered by `answer`.
    fn read_member(
        &self,
        operation: Operation,
        kind: &str,
        user_id: JsValue,
        key: JsValue,
        options: JsValue,
        answer: fn(Option<&str>) -> Result<JsValue, Error>,
    ) -> Promise {
        self.run(operation, kind, &options, |client, kind, call| {
            let plan = plan::get_user(&self::user_id(&user_id)?)?;
            let key = self::key(&key, "key")?;
            Ok(async move {
                let metadata = client.read(&plan, kind, &call).await?;
                answer(crate::core::response::member(&metadata, &key)?)
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
        options: JsValue,
    ) -> Promise {
        self.run(operation, kind, &options, |client, kind, call| {
            let user_id = self::user_id(&user_id)?;
            let metadata = convert::plain_object(&metadata, "metadata", client.max_metadata_bytes)?;
            let plan = plan::metadata_write(
                method,
                &user_id,
                kind,
                metadata,
                client.max_metadata_bytes,
                "metadata",
            )?;
            Ok(async move { client.send_write(plan, kind, &call).await })
        })
    }

    /// Runs one operation as a Promise. `prepare` runs now, synchronously (so arguments are read
    /// before the caller can change them, as in an `async` function); its future runs after.
    /// Any [`Error`] becomes that operation's JS error.
    fn run<F, Fut>(
        &self,
        operation: Operation,
        kind: &str,
        options: &JsValue,
        prepare: F,
    ) -> Promise
    where
        F: FnOnce(Rc<Client>, MetadataKind, Call) -> Result<Fut, Error>,
        Fut: Future<Output = Result<JsValue, Error>> + 'static,
    {
        let prepared = call_arguments(kind, options).and_then(|(kind, signal)| {
            let call = Call::start(signal, self.inner.transport.retry.deadline_ms);
            prepare(Rc::clone(&self.inner), kind, call)
        });
        spawn(
            operation,
            &self.inner.error_class,
            prepared.map(|future| Box::pin(future) as Operating),
        )
    }
}

/// The field and the signal of a call.
fn call_arguments(
    kind: &str,
    options: &JsValue,
) -> Result<(MetadataKind, Option<AbortSignal>), Error> {
    let kind = MetadataKind::from_name(kind).ok_or_else(|| {
        Error::invalid_argument("kind must be \"public\", \"private\" or \"unsafe\"")
    })?;
    Ok((kind, signal_of(options)?))
}

/// An operation under way: what `spawn` turns into a promise.
type Operating = Pin<Box<dyn Future<Output = Result<JsValue, Error>>>>;

/// The promise of an operation. Not generic: every operation's future is boxed, so there is one
/// copy of this (and of wasm-bindgen-futures' machinery) in the module, not one per operation.
fn spawn(operation: Operation, class: &Function, prepared: Result<Operating, Error>) -> Promise {
    match prepared {
        Ok(future) => {
            let class = class.clone();
            future_to_promise(async move {
                future
                    .await
                    .map_err(|error| errors::to_js(&error, Some(operation), &class))
            })
        }
        Err(error) => Promise::reject(&errors::to_js(&error, Some(operation), class)),
    }
}
