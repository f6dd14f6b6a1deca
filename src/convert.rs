//! JS values to JSON, refusing what JSON cannot hold faithfully.
//!
//! `JSON.stringify` silently turns `NaN` and `Infinity` into `null` (and a `null` in a merge
//! deletes a key), `undefined` array items into `null`, drops functions, and throws a bare
//! `TypeError` on cycles and `BigInt`. This walker refuses each of those with the path of the
//! offending value, before anything is sent. Its rules:
//! - plain objects (prototype `Object.prototype` or `null`), arrays, strings, finite numbers,
//!   booleans and `null` pass; a `Date` becomes its ISO string, as `JSON.stringify` does;
//! - an object member whose value is `undefined` is dropped, as `JSON.stringify` does (so code
//!   written against the original module keeps its meaning); `undefined` anywhere else is refused;
//! - `BigInt`, functions, symbols, `NaN`, `±Infinity`, class instances (`Map`, `Set`, …),
//!   cycles and nesting deeper than [`MAX_DEPTH`] are refused;
//! - `__proto__`, `constructor` and `prototype` are ordinary keys: they are read as own
//!   properties and stored in a `serde_json::Map`, so no prototype is ever touched.

use js_sys::{Array, Date, Object, Reflect};
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::error::{number_text, quoted, Error};

/// Deeper than any real metadata; keeps recursion far from the wasm stack's limit.
pub const MAX_DEPTH: usize = 64;

/// Largest integer that survives a round trip through an `f64` exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A user's argument as a plain JSON object (`metadata`, `entries`).
pub fn plain_object(value: &JsValue, what: &str) -> Result<Map<String, Value>, Error> {
    let mut walker = Walker::new(what);
    if !value.is_object() || Array::is_array(value) || !walker.is_plain(value) {
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
pub fn json_value(value: &JsValue, what: &str) -> Result<Value, Error> {
    Walker::new(what).walk(value, 0)?.ok_or_else(|| {
        Error::invalid_argument(format!(
            "{what} is undefined; to remove a key use removeUserPublicMetadataKeys"
        ))
    })
}

/// A JS string argument (`userId`, `key`), with a clear error for anything else.
pub fn string(value: &JsValue, what: &str) -> Result<String, Error> {
    match value.as_string() {
        Some(text) => Ok(text),
        None if value.is_string() => Err(Error::invalid_argument(format!(
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
    if !Array::is_array(value) {
        return Err(Error::invalid_argument(format!(
            "{what} must be an array of strings, got {}",
            describe(value)
        )));
    }
    let array: &Array = value.unchecked_ref();
    (0..array.length())
        .map(|index| string(&array.get(index), &format!("{what}[{index}]")))
        .collect()
}

/// Names a value's type for an error message without printing the value itself.
pub fn describe(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    if Array::is_array(value) {
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
}

enum Segment {
    Key(String),
    Index(u32),
}

impl<'a> Walker<'a> {
    fn new(what: &'a str) -> Walker<'a> {
        Walker {
            what,
            ancestors: Vec::new(),
            path: Vec::new(),
            object_prototype: Object::get_prototype_of(&Object::new()).into(),
        }
    }

    /// A plain object: prototype `null`, or an `Object.prototype` — this realm's or another's
    /// (objects made in a `vm` context or an iframe are plain too). Any prototype that itself
    /// has a prototype belongs to a class (`Map`, `Date`, user classes) and is refused.
    fn is_plain(&self, value: &JsValue) -> bool {
        let prototype: JsValue = Object::get_prototype_of(value).into();
        prototype.is_null()
            || prototype == self.object_prototype
            || (Object::get_prototype_of(&prototype).is_null()
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

    /// `Ok(None)` is `undefined`: the caller decides whether to drop or refuse it.
    fn walk(&mut self, value: &JsValue, depth: usize) -> Result<Option<Value>, Error> {
        if value.is_undefined() {
            return Ok(None);
        }
        if value.is_null() {
            return Ok(Some(Value::Null));
        }
        if let Some(flag) = value.as_bool() {
            return Ok(Some(Value::Bool(flag)));
        }
        if let Some(number) = value.as_f64() {
            return self.number(number).map(Some);
        }
        if value.is_string() {
            return match value.as_string() {
                Some(text) => Ok(Some(Value::String(text))),
                None => Err(self.refuse("contains a lone surrogate and is not valid Unicode")),
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
        if let Some(date) = value.dyn_ref::<Date>() {
            if date.get_time().is_nan() {
                return Err(self.refuse("is an invalid Date"));
            }
            return Ok(Some(Value::String(date.to_iso_string().into())));
        }
        self.ancestors.push(value.clone());
        let result = if Array::is_array(value) {
            self.array(value.unchecked_ref(), depth)
        } else if self.is_plain(value) {
            self.object(value, depth)
        } else {
            Err(self.refuse(&format!(
                "is {}; only plain objects, arrays, strings, finite numbers, booleans and null can be stored",
                describe(value)
            )))
        };
        self.ancestors.pop();
        result.map(Some)
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

    fn array(&mut self, array: &Array, depth: usize) -> Result<Value, Error> {
        let length = array.length();
        let mut items = Vec::with_capacity(length as usize);
        for index in 0..length {
            self.path.push(Segment::Index(index));
            let item = self.walk(&array.get(index), depth + 1)?.ok_or_else(|| {
                self.refuse("is undefined (or a hole); JSON would turn it into null")
            })?;
            self.path.pop();
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, object: &JsValue, depth: usize) -> Result<Value, Error> {
        let keys = Object::keys(object.unchecked_ref::<Object>());
        let mut map = Map::new();
        for key in keys.iter() {
            let name = key.as_string().unwrap_or_default();
            self.path.push(Segment::Key(name.clone()));
            let member = Reflect::get(object, &key)
                .map_err(|_| self.refuse("could not be read (its getter threw)"))?;
            if let Some(member) = self.walk(&member, depth + 1)? {
                map.insert(name, member);
            }
            self.path.pop();
        }
        Ok(Value::Object(map))
    }
}
