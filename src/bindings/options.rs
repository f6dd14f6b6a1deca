//! The options object, as the host passes it (`ClerkMetadataClientOptions` in js/client.ts), read
//! with serde-wasm-bindgen into [`RawOptions`].

use js_sys::{Function, Object, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::convert::{describe, object_keys};
use crate::core::options::RawOptions;
use crate::core::Error;

// The options' one TypeScript definition is `ClerkMetadataClientOptions` in js/client.ts, the
// public module; the wasm's own declarations import it from there.
#[wasm_bindgen(typescript_custom_section)]
const OPTIONS_TS: &str =
    r#"import type { ClerkMetadataClientOptions, ClerkMetadataError } from "../js/client.js";"#;

/// The options, with the two members only the host can hold.
pub struct HostOptions {
    pub raw: RawOptions,
    pub fetch: Option<Function>,
    pub limiter: Option<Object>,
    pub on_wait: Option<Function>,
    /// `onUserWritten` was given: writes resolve with Clerk's user object, which the host hands
    /// to it (js/fields.ts), instead of `undefined`.
    pub return_user: bool,
}

/// Nested option objects go no deeper than `rateLimit.userWrites.requests`.
const MAX_OPTION_DEPTH: usize = 3;

/// `CLERK_SECRET_KEY` and `CLERK_API_URL`, as the host read them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Environment {
    secret_key: Option<String>,
    api_url: Option<String>,
}

/// The options, with the environment filling in what they leave out.
pub fn read(options: &JsValue, environment: &JsValue) -> Result<HostOptions, Error> {
    let environment: Environment =
        serde_wasm_bindgen::from_value(environment.clone()).unwrap_or_default();
    let mut host = read_options(options)?;
    host.raw.secret_key = host.raw.secret_key.or(environment.secret_key);
    host.raw.api_url = host.raw.api_url.or(environment.api_url);
    Ok(host)
}

fn read_options(options: &JsValue) -> Result<HostOptions, Error> {
    if options.is_undefined() {
        return Ok(HostOptions {
            raw: RawOptions::default(),
            fetch: None,
            limiter: None,
            on_wait: None,
            return_user: false,
        });
    }
    if !options.is_object() || options.is_function() {
        return Err(Error::invalid_argument(format!(
            "options must be an object, got {}",
            describe(options)
        )));
    }
    let plain = snapshot(options, "options", 0)?;
    let fetch = function(&plain, "fetch")?;
    let on_wait = function(&plain, "onWait")?;
    let return_user = function(&plain, "onUserWritten")?.is_some();
    let limiter = match Reflect::get(&plain, &"limiter".into()).unwrap_or_default() {
        value if value.is_undefined() || value.is_null() => None,
        value if Reflect::get(&value, &"acquire".into()).is_ok_and(|a| a.is_function()) => {
            Some(value.unchecked_into::<Object>())
        }
        value => {
            return Err(Error::invalid_argument(format!(
                "options.limiter must be an object with an acquire function, got {}",
                describe(&value)
            )))
        }
    };
    let raw = serde_wasm_bindgen::from_value(plain.clone()).map_err(|error| {
        Error::invalid_argument(format!(
            "options.{}: {}",
            culprit(&plain),
            without_strings(&error.to_string())
        ))
    })?;
    Ok(HostOptions {
        raw,
        fetch,
        limiter,
        on_wait,
        return_user,
    })
}

/// An optional function member of the options.
fn function(plain: &JsValue, name: &str) -> Result<Option<Function>, Error> {
    match Reflect::get(plain, &name.into()).unwrap_or_default() {
        value if value.is_undefined() || value.is_null() => Ok(None),
        value => value.dyn_into::<Function>().map(Some).map_err(|value| {
            Error::invalid_argument(format!(
                "options.{name} must be a function, got {}",
                describe(&value)
            ))
        }),
    }
}

/// The member of `plain` that fails to deserialize on its own, found by trying each one alone
/// (only when the whole object failed, so it costs nothing otherwise).
fn culprit(plain: &JsValue) -> String {
    let keys = object_keys(plain).unwrap_or_default();
    keys.iter()
        .find(|key| {
            let alone = Object::new();
            let _ = Reflect::set(&alone, key, &Reflect::get(plain, key).unwrap_or_default());
            serde_wasm_bindgen::from_value::<RawOptions>(alone.into()).is_err()
        })
        .and_then(|key| key.as_string())
        .unwrap_or_default()
}

/// A copy of the options' own data, read once with every throw caught (a getter or a Proxy
/// trap may throw, and a throw must not unwind through wasm). Plain nested objects are copied
/// too; functions and other objects (`fetch`, `limiter`) are kept as they are.
fn snapshot(value: &JsValue, path: &str, depth: usize) -> Result<JsValue, Error> {
    let unreadable = || {
        Error::invalid_argument(format!(
            "{path} could not be read (a getter or Proxy trap threw)"
        ))
    };
    let keys = object_keys(value).map_err(|_| unreadable())?;
    let copy = Object::new();
    for key in keys.iter() {
        let name = key.as_string().unwrap_or_default();
        let member = Reflect::get(value, &key).map_err(|_| unreadable())?;
        let member = if is_plain_object(&member) && depth < MAX_OPTION_DEPTH {
            snapshot(&member, &format!("{path}.{name}"), depth + 1)?
        } else {
            member
        };
        let _ = Reflect::set(&copy, &key, &member);
    }
    Ok(copy.into())
}

fn is_plain_object(value: &JsValue) -> bool {
    value.is_object()
        && !value.is_function()
        && !crate::convert::is_array(value)
        && Reflect::get_prototype_of(value).is_ok_and(|prototype| {
            prototype.is_null()
                || Reflect::get_prototype_of(&prototype).is_ok_and(|grand| grand.is_null())
        })
}

/// serde's messages quote the value they refused; a secret key pasted into the wrong option
/// must not be echoed, so everything from the first quote to the last is dropped.
fn without_strings(message: &str) -> String {
    match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if first < last => {
            let (before, after) = (&message[..first], &message[last + 1..]);
            format!("{}{after}", before.trim_end())
        }
        _ => message.to_owned(),
    }
}
