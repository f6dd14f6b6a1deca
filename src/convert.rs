//! JS values to JSON, refusing what JSON cannot hold faithfully.
//!
//! `JSON.stringify` silently turns `NaN` and `Infinity` into `null` (and a `null` in a merge
//! deletes a key), `undefined` array items into `null`, drops functions, and throws a bare
//! `TypeError` on cycles and `BigInt`. This walker refuses each of those with the path of the
//! offending value, before anything is sent. Its rules:
//! - plain objects (prototype `Object.prototype`, of any realm, or `null`), arrays, strings,
//!   finite numbers, booleans and `null` pass; a `Date` becomes its ISO string, as
//!   `JSON.stringify` does;
//! - an object member whose value is `undefined` is dropped, as `JSON.stringify` does (so code
//!   written against the original module keeps its meaning); `undefined` anywhere else is refused;
//! - `BigInt`, functions, symbols, `NaN`, `±Infinity`, class instances (`Map`, `Set`, …),
//!   cycles, nesting deeper than [`MAX_DEPTH`], strings that are not valid Unicode (lone
//!   surrogates), and more values than the size limit could hold are refused;
//! - `__proto__`, `constructor` and `prototype` are ordinary keys: they are read as own
//!   properties and stored in a `core::json::Map`, so no prototype is ever touched.
//!
//! The walk itself runs in the host (`convert.js`, which says why): it hands back JSON text,
//! which [`json::parse_distinct`] reads, or where and why it refused, which is worded here.
//!
//! Every JS operation here is one that reports a throw as a `Result` (a `Proxy` trap may throw):
//! an exception unwinding through wasm frames would leave the module's stack pointer behind and
//! eventually corrupt the instance for every client in the process.

use js_sys::{Array, JsString, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::error::{number_text, quoted, Error};
use crate::core::json::{self, Map, Value};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn array_is_array(value: &JsValue) -> Result<bool, JsValue>;

}

#[wasm_bindgen(module = "/src/convert.js")]
extern "C" {
    /// The value as JSON text, or a `Refusal` (see convert.js). Never throws; `catch` is there
    /// so that a bug could not unwind through wasm either.
    #[wasm_bindgen(js_name = jsonText, catch)]
    fn json_text(
        value: &JsValue,
        max_bytes: f64,
        object_only: bool,
        max_depth: u32,
    ) -> Result<JsValue, JsValue>;

    type Refusal;
    #[wasm_bindgen(method, getter)]
    fn why(this: &Refusal) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn path(this: &Refusal) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn value(this: &Refusal) -> JsValue;
}

/// Deeper than any real metadata (handed to convert.js with each walk).
pub const MAX_DEPTH: usize = 64;

/// A user's argument as a plain JSON object (`metadata`, `entries`). `max_bytes` bounds the
/// work: every JSON value takes at least one byte, so more values than that cannot fit.
pub fn plain_object(value: &JsValue, what: &str, max_bytes: usize) -> Result<Map, Error> {
    match to_json(value, what, max_bytes, true)? {
        Value::Object(object) => Ok(object),
        _ => Err(Error::invalid_argument(format!(
            "{what} must be a plain object"
        ))),
    }
}

/// Any JSON value (`value` of `setUserPublicMetadataKey`); `undefined` is refused.
pub fn json_value(value: &JsValue, what: &str, max_bytes: usize) -> Result<Value, Error> {
    to_json(value, what, max_bytes, false)
}

fn to_json(
    value: &JsValue,
    what: &str,
    max_bytes: usize,
    object_only: bool,
) -> Result<Value, Error> {
    let unreadable = || Error::invalid_argument(format!("{what} could not be read"));
    let answer = json_text(value, max_bytes as f64, object_only, MAX_DEPTH as u32)
        .map_err(|_| unreadable())?;
    match answer.as_string() {
        Some(text) => json::parse_distinct(&text).map_err(|_| unreadable()),
        None => Err(refusal(&answer.unchecked_into(), what, max_bytes)),
    }
}

/// Words a refusal from convert.js: where (`what` and the path) and why.
fn refusal(refusal: &Refusal, what: &str, max_bytes: usize) -> Error {
    let value = refusal.value();
    let why = match refusal.why().as_deref().unwrap_or("unreadable") {
        "too_large" => {
            return Error::invalid_argument(format!(
                "{what} holds more values than {max_bytes} bytes of JSON can (the size limit)"
            ))
        }
        "not_plain_root" => {
            return Error::invalid_argument(format!(
                "{what} must be a plain object, got {}",
                describe(&value)
            ))
        }
        "undefined_root" => {
            return Error::invalid_argument(format!(
                "{what} is undefined; to remove a key use removeUserPublicMetadataKeys (removeKeys on a metadata field)"
            ))
        }
        "not_finite" => format!(
            "is {}, which JSON cannot hold (JSON.stringify would turn it into null, and null removes a key)",
            number_text(value.as_f64().unwrap_or(f64::NAN))
        ),
        "lone_surrogate" => "contains a lone surrogate and is not valid Unicode".into(),
        "bigint" => {
            "is a BigInt, which JSON cannot hold; convert it to a string or number first".into()
        }
        "function" => "is a function, which JSON cannot hold".into(),
        "symbol" => "is a symbol, which JSON cannot hold".into(),
        "too_deep" => format!("is nested more than {MAX_DEPTH} levels deep"),
        "cycle" => "refers back to one of its parents (a cycle); JSON cannot hold cycles".into(),
        "invalid_date" => "is an invalid Date".into(),
        "hole" => "is undefined (or a hole); JSON would turn it into null".into(),
        "key_lone_surrogate" => "has a key that is not valid Unicode (a lone surrogate)".into(),
        "not_plain" => format!(
            "is {}; only plain objects, arrays, strings, finite numbers, booleans and null can be stored",
            describe(&value)
        ),
        "not_json" => format!("is {}, which JSON cannot hold", describe(&value)),
        _ => "could not be read (a getter or Proxy trap threw)".into(),
    };
    Error::invalid_argument(format!("{} {why}", here(what, &refusal.path())))
}

/// `what` and a path of keys and indexes, as code would write it: `metadata.a[0]["b c"]`.
fn here(what: &str, path: &JsValue) -> String {
    let mut text = what.to_owned();
    let segments = path
        .dyn_ref::<Array>()
        .map(Array::to_vec)
        .unwrap_or_default();
    for segment in segments {
        if let Some(index) = segment.as_f64() {
            text.push_str(&format!("[{}]", number_text(index)));
            continue;
        }
        let key = segment.as_string().unwrap_or_default();
        if !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        {
            text.push('.');
            text.push_str(&key);
        } else {
            text.push_str(&format!("[{}]", quoted(&key)));
        }
    }
    text
}

/// A JS string argument (`userId`, `key`), with a clear error for anything else.
pub fn string(value: &JsValue, what: &str) -> Result<String, Error> {
    match text(value) {
        Some(Ok(text)) => Ok(text),
        Some(Err(())) => Err(Error::invalid_argument(format!(
            "{what} contains a lone surrogate and is not valid Unicode"
        ))),
        None => Err(Error::invalid_argument(format!(
            "{what} must be a string, got {}",
            describe(value)
        ))),
    }
}

/// An array of strings (`keysToRemove`).
pub fn string_array(value: &JsValue, what: &str) -> Result<Vec<String>, Error> {
    let unreadable = || Error::invalid_argument(format!("{what} could not be read"));
    if !array_is_array(value).map_err(|_| unreadable())? {
        return Err(Error::invalid_argument(format!(
            "{what} must be an array of strings, got {}",
            describe(value)
        )));
    }
    let length = array_length(value).ok_or_else(unreadable)?;
    if length > 10_000 {
        return Err(Error::invalid_argument(format!(
            "{what} has {length} keys; the limit is 10000"
        )));
    }
    (0..length)
        .map(|index| {
            let item = Reflect::get_u32(value, index).map_err(|_| unreadable())?;
            string(&item, &format!("{what}[{index}]"))
        })
        .collect()
}

/// The string in a JS value, refusing lone surrogates (`as_string` would turn them into U+FFFD
/// silently, merging distinct keys). `None` when the value is not a string.
fn text(value: &JsValue) -> Option<Result<String, ()>> {
    let string = value.dyn_ref::<JsString>()?;
    let text = string.as_string()?;
    // Passing a string into wasm turns each lone surrogate into U+FFFD (UTF-8 EF BF BD), so only
    // a string that now holds a 0xEF byte needs the exact check (a call into the host per
    // character). A byte scan: `str::contains` with a char pattern links 9 KB of searcher.
    if text.bytes().any(|byte| byte == 0xEF) && !string.is_valid_utf16() {
        return Some(Err(()));
    }
    Some(Ok(text))
}

fn array_length(value: &JsValue) -> Option<u32> {
    let length = Reflect::get(value, &JsValue::from_str("length"))
        .ok()?
        .as_f64()?;
    (length >= 0.0 && length <= f64::from(u32::MAX) && length.fract() == 0.0)
        .then_some(length as u32)
}

/// Names a value's type for an error message without printing the value itself.
pub fn describe(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    if array_is_array(value).unwrap_or(false) {
        return "an array".into();
    }
    if value.is_object() {
        let name = Reflect::get(value, &JsValue::from_str("constructor"))
            .ok()
            .and_then(|constructor| Reflect::get(&constructor, &JsValue::from_str("name")).ok())
            .and_then(|name| name.as_string())
            .filter(|name| !name.is_empty());
        return match name {
            Some(name) if name != "Object" => format!("an instance of {name}"),
            _ => "an object".into(),
        };
    }
    match value.js_typeof().as_string() {
        Some(kind) => format!("a {kind}"),
        None => "a value of unknown type".into(),
    }
}
