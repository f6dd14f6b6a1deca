//! JS values to JSON, refusing what JSON cannot hold faithfully.
//!
//! `JSON.stringify` silently turns `NaN` and `Infinity` into `null` (and a `null` in a merge
//! deletes a key), `undefined` array items into `null`, drops functions, and throws a bare
//! `TypeError` on cycles and `BigInt`. This walker refuses each of those with the path of the
//! offending value, before anything is sent. Its rules:
//! - plain objects (prototype `Object.prototype`, of any realm, or `null`), arrays, strings,
//!   finite numbers, booleans and `null` pass; a `Date` becomes its ISO string, as
//!   `JSON.stringify` does (a `Date` whose prototype was set to `Object.prototype` or `null` has
//!   no `toJSON` either, and is stored as the empty object `JSON.stringify` makes of it);
//! - an object member whose value is `undefined` is dropped, as `JSON.stringify` does (so code
//!   written against the original module keeps its meaning); `undefined` anywhere else is refused;
//! - `BigInt`, functions, symbols, `NaN`, `±Infinity`, class instances (`Map`, `Set`, …),
//!   cycles, nesting deeper than [`MAX_DEPTH`], strings that are not valid Unicode (lone
//!   surrogates), and more values than the size limit could hold are refused;
//! - `__proto__`, `constructor` and `prototype` are ordinary keys: they are read as own
//!   properties and stored in a `serde_json::Map`, so no prototype is ever touched;
//! - objects, arrays and `Date`s made in another realm (`vm`, an iframe) are treated as local
//!   ones;
//! - a string is measured before it is copied into wasm: one that cannot fit is refused without
//!   the copy, so a refused 100 MB string never grows the module's memory.
//!
//! Every JS operation here is one that reports a throw as a `Result` (a `Proxy` trap may throw):
//! an exception unwinding through wasm frames would leave the module's stack pointer behind and
//! eventually corrupt the instance for every client in the process.

use std::cell::OnceCell;

use js_sys::{Array, Function, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::error::{number_text, quoted, Error};
use serde_json::{Number, Value};

use crate::core::Map;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn array_is_array(value: &JsValue) -> Result<bool, JsValue>;

    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    pub(crate) fn object_keys(value: &JsValue) -> Result<Array, JsValue>;
}

/// `Array.isArray`, reporting a revoked Proxy's throw as "not an array".
pub fn is_array(value: &JsValue) -> bool {
    array_is_array(value).unwrap_or(false)
}

/// A string more than this many times its limit is refused before it is copied into wasm.
const FAR_OVER: usize = 4;

/// Deeper than any real metadata; keeps recursion far from the wasm stack's limit.
pub const MAX_DEPTH: usize = 64;

/// Largest integer that survives a round trip through an `f64` exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A user's argument as a plain JSON object (`metadata`, `entries`). `max_bytes` bounds the
/// work: every JSON value takes at least one byte, so more values than that cannot fit.
pub fn plain_object(value: &JsValue, what: &str, max_bytes: usize) -> Result<Map, Error> {
    let mut walker = Walker::new(what, max_bytes);
    let plain = value.is_object() && !walker.is_array(value)? && walker.is_plain(value)?;
    if !plain {
        return Err(Error::invalid_argument(format!(
            "{what} must be a plain object, got {}",
            describe(value)
        )));
    }
    match walker.walk(value, 0)? {
        Some(Value::Object(object)) => Ok(object),
        _ => Err(Error::invalid_argument(format!(
            "{what} must be a plain object"
        ))),
    }
}

/// Any JSON value (`value` of `setUserPublicMetadataKey`); `undefined` is refused.
pub fn json_value(value: &JsValue, what: &str, max_bytes: usize) -> Result<Value, Error> {
    Walker::new(what, max_bytes)
        .walk(value, 0)?
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "{what} is undefined; to remove a key use removeUserPublicMetadataKeys (removeKeys on a metadata field)"
            ))
        })
}

/// A JS string argument (`userId`, `key`), with a clear error for anything else. A string of
/// more than `max_units` UTF-16 units is refused before it is copied into wasm.
pub fn string(value: &JsValue, what: &str, max_units: usize) -> Result<String, Error> {
    // Far over the limit: refused without the copy (the checks after the copy, which word the
    // limit exactly, see every string that could be near it).
    if let Some(length) = value.dyn_ref::<JsString>().map(JsString::length) {
        if length as usize > FAR_OVER * max_units {
            return Err(Error::invalid_argument(format!(
                "{what} is {length} characters long; the limit is {max_units}"
            )));
        }
    }
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
pub fn string_array(value: &JsValue, what: &str, max_units: usize) -> Result<Vec<String>, Error> {
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
            string(&item, &format!("{what}[{index}]"), max_units)
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

struct Walker<'a> {
    what: &'a str,
    /// The objects on the path from the root, to find cycles.
    ancestors: Vec<JsValue>,
    /// Path segments, formatted only when an error needs them.
    path: Vec<Segment>,
    object_prototype: JsValue,
    /// This realm's `Date.prototype`, found only once an object that is not plain shows up.
    date_prototype: OnceCell<JsValue>,
    /// Values still allowed: each takes at least one byte of JSON.
    budget: usize,
    max_bytes: usize,
}

fn prototype_of(value: &JsValue) -> Result<JsValue, JsValue> {
    Reflect::get_prototype_of(value).map(JsValue::from)
}

enum Segment {
    Key(String),
    Index(u32),
}

impl<'a> Walker<'a> {
    fn new(what: &'a str, max_bytes: usize) -> Walker<'a> {
        Walker {
            what,
            ancestors: Vec::new(),
            path: Vec::new(),
            object_prototype: prototype_of(&Object::new()).unwrap_or(JsValue::NULL),
            date_prototype: OnceCell::new(),
            budget: max_bytes,
            max_bytes,
        }
    }

    fn unreadable(&self) -> Error {
        self.refuse("could not be read (a getter or Proxy trap threw)")
    }

    fn is_array(&self, value: &JsValue) -> Result<bool, Error> {
        array_is_array(value).map_err(|_| self.unreadable())
    }

    fn prototype(&self, value: &JsValue) -> Result<JsValue, Error> {
        prototype_of(value).map_err(|_| self.unreadable())
    }

    /// A plain object: prototype `null`, or an `Object.prototype` — this realm's or another's
    /// (objects made in a `vm` context or an iframe are plain too). Any prototype that itself
    /// has a prototype belongs to a class (`Map`, `Date`, user classes) and is refused.
    fn is_plain(&self, value: &JsValue) -> Result<bool, Error> {
        let prototype = self.prototype(value)?;
        if prototype.is_null() || prototype == self.object_prototype {
            return Ok(true);
        }
        Ok(self.prototype(&prototype)?.is_null()
            && Reflect::get(&prototype, &JsValue::from_str("hasOwnProperty"))
                .is_ok_and(|method| method.is_function()))
    }

    fn here(&self) -> String {
        let mut text = self.what.to_owned();
        for segment in &self.path {
            match segment {
                Segment::Index(index) => text.push_str(&format!("[{index}]")),
                Segment::Key(key)
                    if !key.is_empty()
                        && !key.starts_with(|c: char| c.is_ascii_digit())
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') =>
                {
                    text.push('.');
                    text.push_str(key);
                }
                Segment::Key(key) => text.push_str(&format!("[{}]", quoted(key))),
            }
        }
        text
    }

    fn refuse(&self, why: &str) -> Error {
        Error::invalid_argument(format!("{} {why}", self.here()))
    }

    fn too_large(&self) -> Error {
        Error::invalid_argument(format!(
            "{} holds more values than {} bytes of JSON can (the size limit)",
            self.what, self.max_bytes
        ))
    }

    /// `Ok(None)` is `undefined`: the caller decides whether to drop or refuse it.
    fn walk(&mut self, value: &JsValue, depth: usize) -> Result<Option<Value>, Error> {
        if value.is_undefined() {
            return Ok(None);
        }
        self.budget = self.budget.checked_sub(1).ok_or_else(|| self.too_large())?;
        if value.is_null() {
            return Ok(Some(Value::Null));
        }
        if let Some(flag) = value.as_bool() {
            return Ok(Some(Value::Bool(flag)));
        }
        if let Some(number) = value.as_f64() {
            return self.number(number).map(Some);
        }
        // Measured before the copy into wasm: every UTF-16 unit takes at least a byte of JSON,
        // so a string far over the limit is refused without ever entering wasm memory.
        if let Some(length) = value.dyn_ref::<JsString>().map(JsString::length) {
            if length as usize > FAR_OVER * self.max_bytes {
                return Err(self.refuse(&format!(
                    "is a string of {length} characters, far over the {} bytes of JSON allowed",
                    self.max_bytes
                )));
            }
        }
        if let Some(string) = text(value) {
            return match string {
                Ok(string) => Ok(Some(Value::String(string))),
                Err(()) => Err(self.refuse("contains a lone surrogate and is not valid Unicode")),
            };
        }
        if value.is_bigint() {
            return Err(self.refuse(
                "is a BigInt, which JSON cannot hold; convert it to a string or number first",
            ));
        }
        if value.is_function() {
            return Err(self.refuse("is a function, which JSON cannot hold"));
        }
        if value.is_symbol() {
            return Err(self.refuse("is a symbol, which JSON cannot hold"));
        }
        if !value.is_object() {
            return Err(self.refuse(&format!("is {}, which JSON cannot hold", describe(value))));
        }
        if depth >= MAX_DEPTH {
            return Err(self.refuse(&format!("is nested more than {MAX_DEPTH} levels deep")));
        }
        if self
            .ancestors
            .iter()
            .any(|ancestor| Object::is(ancestor, value))
        {
            return Err(
                self.refuse("refers back to one of its parents (a cycle); JSON cannot hold cycles")
            );
        }
        let is_array = self.is_array(value)?;
        // Plain objects are asked first: the date probe throws on anything that is not a date,
        // and a throw costs tens of microseconds.
        if !is_array && !self.is_plain(value)? {
            if self.is_date(value) {
                return self.date(value).map(Some);
            }
            return Err(self.refuse(&format!(
                "is {}; only plain objects, arrays, strings, finite numbers, booleans and null can be stored",
                describe(value)
            )));
        }
        self.ancestors.push(value.clone());
        let result = if is_array {
            self.array(value, depth)
        } else {
            self.object(value, depth)
        };
        self.ancestors.pop();
        result.map(Some)
    }

    /// Whether `value` is a `Date` of any realm: `Date.prototype.getTime` works only on objects
    /// that hold a date (a realm's own prototype check would miss another realm's dates).
    fn is_date(&self, value: &JsValue) -> bool {
        self.date_method("getTime")
            .is_some_and(|get_time| get_time.call0(value).is_ok())
    }

    fn date_method(&self, name: &str) -> Option<Function> {
        let prototype = self
            .date_prototype
            .get_or_init(|| prototype_of(&js_sys::Date::new_0()).unwrap_or(JsValue::NULL));
        Reflect::get(prototype, &JsValue::from_str(name))
            .ok()?
            .dyn_into()
            .ok()
    }

    /// A `Date` becomes `toISOString()`, as `JSON.stringify` does; an invalid one is refused.
    fn date(&self, value: &JsValue) -> Result<Value, Error> {
        let to_iso = self
            .date_method("toISOString")
            .ok_or_else(|| self.unreadable())?;
        match to_iso.call0(value).ok().and_then(|iso| iso.as_string()) {
            Some(iso) => Ok(Value::String(iso)),
            None => Err(self.refuse("is an invalid Date")),
        }
    }

    fn number(&self, number: f64) -> Result<Value, Error> {
        if !number.is_finite() {
            return Err(self.refuse(&format!(
                "is {}, which JSON cannot hold (JSON.stringify would turn it into null, and null removes a key)",
                number_text(number)
            )));
        }
        if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER {
            // Integers stay integers ("1", not "1.0"); -0 becomes 0, as in JSON.stringify.
            return Ok(Value::Number(Number::from(number as i64)));
        }
        Number::from_f64(number)
            .map(Value::Number)
            .ok_or_else(|| self.refuse("is not a finite number"))
    }

    fn array(&mut self, array: &JsValue, depth: usize) -> Result<Value, Error> {
        let length = array_length(array).ok_or_else(|| self.unreadable())?;
        // Checked before reading any item: `new Array(2 ** 32 - 1)` is one allocation away.
        if length as usize > self.budget {
            return Err(self.too_large());
        }
        // Grown as items come, never reserved from a length the caller chose.
        let mut items = Vec::new();
        for index in 0..length {
            self.path.push(Segment::Index(index));
            let item = Reflect::get_u32(array, index).map_err(|_| self.unreadable())?;
            let item = self.walk(&item, depth + 1)?.ok_or_else(|| {
                self.refuse("is undefined (or a hole); JSON would turn it into null")
            })?;
            self.path.pop();
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, object: &JsValue, depth: usize) -> Result<Value, Error> {
        let keys = object_keys(object).map_err(|_| self.unreadable())?;
        if keys.length() as usize > self.budget {
            return Err(self.too_large());
        }
        let mut members = Map::new();
        for key in keys.iter() {
            if key.dyn_ref::<JsString>().map_or(0, JsString::length) as usize
                > FAR_OVER * self.max_bytes
            {
                return Err(self.too_large());
            }
            let name = match text(&key) {
                Some(Ok(name)) => name,
                _ => {
                    return Err(
                        self.refuse("has a key that is not valid Unicode (a lone surrogate)")
                    )
                }
            };
            self.path.push(Segment::Key(name.clone()));
            let member = Reflect::get(object, &key).map_err(|_| self.unreadable())?;
            if let Some(member) = self.walk(&member, depth + 1)? {
                members.insert(name, member);
            }
            self.path.pop();
        }
        Ok(Value::Object(members))
    }
}
