//! A small, strict JSON module (RFC 8259) for the runtime build, in place of serde_json.
//!
//! - [`parse`] builds a [`Value`] tree; [`object_members`] splits one object into its members'
//!   unescaped keys and raw value text, validating the values without building them.
//! - Numbers are kept as their exact source text ([`Value::Number`]), so nothing here ever
//!   parses or formats a float: core's float formatting is most of what this module saves.
//! - [`Value`]'s `Display` writes compact JSON, the same text `serde_json::to_string` gives
//!   (except numbers, which stay as written).
//!
//! The parser reads untrusted network text: it never panics, nests at most [`MAX_DEPTH`]
//! arrays and objects (so its recursion is bounded), and builds objects of at most
//! [`MAX_MEMBERS`] members in all, over every object of one parse (inserts are linear scans;
//! [`object_members`] has no such cap).
//! A duplicate key keeps its first position and takes the last value, as in `JSON.parse`.

use std::borrow::Cow;
use std::fmt;

/// The deepest nesting of arrays and objects the parser accepts (one more is an error).
pub const MAX_DEPTH: usize = 128;

/// Most object members one [`parse`] may build, over all its objects (see where it is checked).
pub const MAX_MEMBERS: usize = 4096;

/// A JSON value. Numbers are validated JSON number text, kept verbatim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// An insertion-ordered JSON object. Lookups are linear scans, fine for metadata-sized maps.
///
/// Equality is JSON's (deep-equal, member order ignored), as with serde_json's map; it is used by
/// tests, never on a request path.
#[derive(Clone, Debug, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl Eq for Map {}

type Entry = (String, Value);

/// The iterator of [`Map::iter`].
pub type Iter<'a> =
    std::iter::Map<std::slice::Iter<'a, Entry>, fn(&'a Entry) -> (&'a String, &'a Value)>;

fn pair(entry: &Entry) -> (&String, &Value) {
    (&entry.0, &entry.1)
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key`: an existing key keeps its position and the old value is returned; a new
    /// key is appended.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        match self.get_mut(&key) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Removes `key`, keeping the order of the other members.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let index = self.position(key)?;
        Some(self.entries.remove(index).1)
    }

    pub fn iter(&self) -> Iter<'_> {
        self.entries
            .iter()
            .map(pair as fn(&Entry) -> (&String, &Value))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// Same as repeated [`Map::insert`]: later duplicates replace earlier ones in place.
impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        let mut map = Map::new();
        map.extend(iter);
        map
    }
}

/// Same as repeated [`Map::insert`].
impl Extend<(String, Value)> for Map {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

impl Map {
    /// A map from members whose keys are already distinct (a JS object's own keys are), without
    /// the duplicate check [`FromIterator`] makes for each one.
    pub fn from_distinct(entries: Vec<(String, Value)>) -> Map {
        Map { entries }
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Value {
        Value::Object(map)
    }
}

impl Value {
    /// A number value, if `text` is exactly a JSON number (no whitespace).
    pub fn number(text: &str) -> Option<Value> {
        let mut parser = Parser::new(text);
        parser.number().ok()?;
        (parser.pos == text.len()).then(|| Value::Number(text.to_owned()))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// An object's member; `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    /// Appends the compact JSON text of this value.
    pub fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(text) => out.push_str(text),
            Value::String(text) => write_string(out, text),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, value)) in map.entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, key);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The compact JSON text of this value (same as `to_string`).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// Compact JSON, as `serde_json::to_string` writes it (numbers as written).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

/// Appends `text` as a JSON string literal, escaped as serde_json does: `\"`, `\\`, the
/// short escapes `\b \f \n \r \t`, other control characters as `\u00xx`, all else verbatim.
pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so a char boundary.
        out.push_str(text.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str(if byte < 0x10 { "\\u000" } else { "\\u001" });
            let low = byte & 0xf;
            out.push(char::from(if low < 10 {
                b'0' + low
            } else {
                b'a' + low - 10
            }));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(text.get(start..).unwrap_or_default());
    out.push('"');
}

/// `text` as a JSON string literal.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_string(&mut out, text);
    out
}

/// Why and where parsing stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Byte offset into the text.
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)?;
        f.write_str(" at byte ")?;
        fmt::Display::fmt(&self.offset, f)
    }
}

impl std::error::Error for ParseError {}

/// Parses text that is exactly one JSON value, with optional whitespace around it.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut parser = Parser::new(text);
    let value = parser.value(true)?;
    parser.end()?;
    Ok(value)
}

/// Parses JSON text whose objects are known to have distinct keys (text written from a JS value,
/// whose own keys are distinct): members are appended without the duplicate scan, so no member
/// cap is needed. On text with duplicate keys it keeps them all; use [`parse`] for other text.
pub fn parse_distinct(text: &str) -> Result<Value, ParseError> {
    let mut parser = Parser::new(text);
    parser.distinct = true;
    let value = parser.value(true)?;
    parser.end()?;
    Ok(value)
}

/// The members of text that is exactly one JSON object: each key unescaped and the exact
/// raw text of its value, validated but not built, in document order (duplicates kept; the
/// last one is the one JSON.parse would keep).
pub fn object_members(text: &str) -> Result<Vec<(Cow<'_, str>, &str)>, ParseError> {
    let mut parser = Parser::new(text);
    parser.space();
    if parser.peek() != Some(b'{') {
        return parser.fail("expected an object");
    }
    let mut members = Vec::new();
    parser.object(false, Some(&mut members))?;
    parser.end()?;
    Ok(members)
}

/// Recursive descent over the bytes of `text`. `pos` is always at a char boundary between
/// tokens (tokens start and end with ASCII bytes).
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    /// Object members this parse may still build (see [`MAX_MEMBERS`]).
    members_left: usize,
    /// Keys are known distinct ([`parse_distinct`]): append, uncapped.
    distinct: bool,
}

type Members<'a> = Vec<(Cow<'a, str>, &'a str)>;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            text,
            pos: 0,
            depth: 0,
            members_left: MAX_MEMBERS,
            distinct: false,
        }
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.pos,
            reason,
        })
    }

    // Inlined even at opt-level "z": the parser's inner loops are made of these calls.
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    // Inlined even at opt-level "z": the parser's inner loops are made of these calls.
    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    // Inlined even at opt-level "z": the parser's inner loops are made of these calls.
    #[inline(always)]
    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn end(&mut self) -> Result<(), ParseError> {
        self.space();
        if self.pos < self.text.len() {
            return self.fail("trailing characters");
        }
        Ok(())
    }

    // Inlined even at opt-level "z": the parser's inner loops are made of these calls.
    #[inline(always)]
    fn slice(&self, start: usize) -> &'a str {
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// One value after optional whitespace; with `build` false, only validated (strings
    /// and numbers come back empty, arrays and objects without members).
    fn value(&mut self, build: bool) -> Result<Value, ParseError> {
        self.space();
        let value = match self.peek() {
            Some(b'{') => return self.object(build, None),
            Some(b'[') => return self.array(build),
            Some(b'"') => {
                let text = self.string()?;
                Value::String(if build {
                    text.into_owned()
                } else {
                    String::new()
                })
            }
            Some(b'-' | b'0'..=b'9') => {
                let text = self.number()?;
                Value::Number(if build {
                    text.to_owned()
                } else {
                    String::new()
                })
            }
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(_) => return self.fail("expected a value"),
            None => return self.fail("unexpected end of input"),
        };
        Ok(value)
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, ParseError> {
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        if !rest.starts_with(word.as_bytes()) {
            return self.fail("expected a value");
        }
        self.pos += word.len();
        Ok(value)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        self.pos += 1;
        Ok(())
    }

    fn array(&mut self, build: bool) -> Result<Value, ParseError> {
        self.enter()?;
        let mut items = Vec::new();
        self.space();
        if !self.eat(b']') {
            loop {
                let item = self.value(build)?;
                if build {
                    items.push(item);
                }
                self.space();
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return self.fail("expected ',' or ']'");
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// An object at `{`. With `raw`, its members go there as raw text and nothing is built.
    fn object(
        &mut self,
        build: bool,
        mut raw: Option<&mut Members<'a>>,
    ) -> Result<Value, ParseError> {
        self.enter()?;
        let mut entries = Map::new();
        self.space();
        if !self.eat(b'}') {
            loop {
                self.space();
                if self.peek() != Some(b'"') {
                    return self.fail("expected a string key");
                }
                let key = self.string()?;
                self.space();
                if !self.eat(b':') {
                    return self.fail("expected ':'");
                }
                self.space();
                let start = self.pos;
                let value = self.value(build)?;
                if let Some(raw) = raw.as_deref_mut() {
                    raw.push((key, self.slice(start)));
                } else if build && self.distinct {
                    entries.entries.push((key.into_owned(), value));
                } else if build {
                    // Inserting is a linear scan (a duplicate keeps its first place and takes the
                    // last value, as in JSON.parse), so what one parse builds is capped in all,
                    // not per object (many objects just under a per-object cap would still be
                    // quadratic). Metadata, at most 8 KB, cannot hold this many members anyway.
                    self.members_left = match self.members_left.checked_sub(1) {
                        Some(left) => left,
                        None => return self.fail("too many object members"),
                    };
                    entries.insert(key.into_owned(), value);
                }
                self.space();
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return self.fail("expected ',' or '}'");
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Object(entries))
    }

    /// A number's text, at `-` or a digit.
    fn number(&mut self) -> Result<&'a str, ParseError> {
        let start = self.pos;
        self.eat(b'-');
        if !self.eat(b'0') && !self.digits() {
            return self.fail("invalid number");
        }
        if self.eat(b'.') && !self.digits() {
            return self.fail("invalid number");
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _sign = self.eat(b'+') || self.eat(b'-');
            if !self.digits() {
                return self.fail("invalid number");
            }
        }
        Ok(self.slice(start))
    }

    fn digits(&mut self) -> bool {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos > start
    }

    /// A string at `"`, unescaped; borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        self.pos += 1;
        let mut owned: Option<String> = None;
        loop {
            let start = self.pos;
            // One tight scan to the next quote, backslash or control character: most of a
            // Clerk user object is string content.
            let rest = self.text.as_bytes().get(start..).unwrap_or_default();
            self.pos += rest
                .iter()
                .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
                .unwrap_or(rest.len());
            let run = self.slice(start);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match owned {
                        Some(mut text) => {
                            text.push_str(run);
                            Cow::Owned(text)
                        }
                        None => Cow::Borrowed(run),
                    });
                }
                Some(b'\\') => {
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(run);
                    self.pos += 1;
                    let c = self.escape()?;
                    text.push(c);
                }
                Some(_) => return self.fail("control character in string"),
                None => return self.fail("unterminated string"),
            }
        }
    }

    /// The character of an escape, after its `\`.
    fn escape(&mut self) -> Result<char, ParseError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let high = self.hex4()?;
                let code = if (0xd800..0xdc00).contains(&high) {
                    if !(self.eat(b'\\') && self.eat(b'u')) {
                        return self.fail("lone surrogate in \\u escape");
                    }
                    let low = self.hex4()?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return self.fail("lone surrogate in \\u escape");
                    }
                    0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                } else {
                    high
                };
                // A lone low surrogate is the only code left that is not a char.
                return match char::from_u32(code) {
                    Some(c) => Ok(c),
                    None => self.fail("lone surrogate in \\u escape"),
                };
            }
            _ => return self.fail("invalid escape"),
        };
        self.pos += 1;
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return self.fail("invalid \\u escape"),
            };
            code = code * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    fn num(text: &str) -> Value {
        Value::Number(text.to_owned())
    }

    fn reason(text: &str) -> &'static str {
        match parse(text) {
            Ok(value) => panic!("{text:?} parsed as {value:?}"),
            Err(error) => error.reason,
        }
    }

    #[test]
    fn literals_and_whitespace() {
        assert_eq!(parse("null"), Ok(Value::Null));
        assert_eq!(parse(" \t\r\ntrue\n\r\t "), Ok(Value::Bool(true)));
        assert_eq!(parse("false"), Ok(Value::Bool(false)));
        assert_eq!(
            parse("[ 1 , { } , [ ] ]").map(|v| v.to_string()),
            Ok("[1,{},[]]".into())
        );
        // Only space, tab, LF and CR are whitespace.
        for text in [
            "\u{c}1",
            "\u{b}1",
            "\u{a0}1",
            "\u{feff}1",
            "1\u{c}",
            "[1,\u{a0}2]",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        assert_eq!(reason(""), "unexpected end of input");
        assert_eq!(reason(" \n "), "unexpected end of input");
        for text in [
            "tru",
            "nul",
            "nulll",
            "True",
            "NaN",
            "Infinity",
            "-Infinity",
            "undefined",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn trailing_garbage_and_structure() {
        for text in [
            "1 2",
            "{}x",
            "[]]",
            "nullx",
            "{}{}",
            "\"a\"\"b\"",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{a:1}",
            "{'a':1}",
            "{1:1}",
            "[",
            "{",
            "[1",
            "{\"a\":1",
            "]",
            "}",
            ",",
            ":",
            "/* c */1",
            "1 // c",
            "[1,,2]",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        assert_eq!(reason("1 2"), "trailing characters");
        assert_eq!(reason("[1 2]"), "expected ',' or ']'");
        assert_eq!(reason("{\"a\":1 \"b\"}"), "expected ',' or '}'");
        assert_eq!(reason("{1:1}"), "expected a string key");
        assert_eq!(reason("{\"a\" 1}"), "expected ':'");
        assert_eq!(reason("[1,]"), "expected a value");
    }

    #[test]
    fn error_display() {
        let error = parse("{\"a\":1,\"b\":[true] x}").unwrap_err();
        assert_eq!(error.offset, 18);
        assert_eq!(error.to_string(), "expected ',' or '}' at byte 18");
        assert_eq!(
            parse("").unwrap_err().to_string(),
            "unexpected end of input at byte 0"
        );
    }

    #[test]
    fn numbers() {
        for text in [
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "1.5",
            "-0.0",
            "0e0",
            "1E+5",
            "1e-5",
            "-1.25e+300",
            "123456789012345678901234567890",
            "1e400",
            "0.000",
        ] {
            assert_eq!(parse(text), Ok(num(text)), "{text:?}");
            assert_eq!(Value::number(text), Some(num(text)), "{text:?}");
            assert_eq!(
                parse(&format!("[{text}]")).map(|v| v.to_string()),
                Ok(format!("[{text}]"))
            );
        }
        for text in [
            "01", "-01", "00", "1.", ".5", "-", "1e", "1e+", "1E-", "+1", "1.e5", "0x1", "1_0",
            "--1", "-.5", "1.5.5", "1e5e5", "- 1", "٣",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
            assert_eq!(Value::number(text), None, "{text:?}");
        }
        // `Value::number` takes exactly a number: no whitespace.
        for text in ["", " 1", "1 ", "1\n", "[1]", "\"1\""] {
            assert_eq!(Value::number(text), None, "{text:?}");
        }
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            parse(r#""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u00E9 \u2028 \u0000""#),
            Ok(string("\" \\ / \u{8} \u{c} \n \r \t A é é \u{2028} \0"))
        );
        assert_eq!(parse(r#""\ud83d\ude00""#), Ok(string("😀")));
        assert_eq!(parse(r#""\uD83D\uDE00x""#), Ok(string("😀x")));
        assert_eq!(parse(r#""\udbff\udfff""#), Ok(string("\u{10ffff}")));
        assert_eq!(
            parse("\"é😀\u{7f}\u{2028}\""),
            Ok(string("é😀\u{7f}\u{2028}"))
        );
        assert_eq!(parse("\"\""), Ok(string("")));
        for text in [
            r#""\ud800""#,
            r#""\ud800x""#,
            r#""\ud800\n""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            r#""\ude00\ud83d""#,
            r#""\ud800\ud800""#,
            r#""\ud800\""#,
        ] {
            assert_eq!(reason(text), "lone surrogate in \\u escape", "{text:?}");
        }
        for text in [r#""\x""#, r#""\'""#, r#""\U0041""#, r#""\""#, r#""\"#] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        for text in [
            r#""\u12""#,
            r#""\u12G4""#,
            r#""\u""#,
            r#""\u 123""#,
            r#""\ud800\udc0""#,
            r#""\ud800\u""#,
        ] {
            assert_eq!(reason(text), "invalid \\u escape", "{text:?}");
        }
        for text in ["\"a\u{1}\"", "\"\t\"", "\"\n\"", "\"\0\"", "\"\u{1f}\""] {
            assert_eq!(reason(text), "control character in string", "{text:?}");
        }
        assert_eq!(reason("\"abc"), "unterminated string");
        assert_eq!(reason("\"abc\\\""), "unterminated string");
    }

    #[test]
    fn depth_limit() {
        let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        let error = parse(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(
            (error.reason, error.offset),
            ("nested too deeply", MAX_DEPTH)
        );
        assert!(parse(&"[".repeat(100_000)).is_err());
        assert!(parse(&"{\"a\":".repeat(100_000)).is_err());
        let objects = |depth: usize| "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth);
        assert!(parse(&objects(MAX_DEPTH)).is_ok());
        assert!(parse(&objects(MAX_DEPTH + 1)).is_err());
        // The object itself counts, as in `parse`.
        assert!(object_members(&objects(MAX_DEPTH)).is_ok());
        assert_eq!(
            object_members(&objects(MAX_DEPTH + 1)).unwrap_err().reason,
            "nested too deeply"
        );
        assert!(object_members(&format!("{{\"a\":{}}}", "[".repeat(100_000))).is_err());
    }

    #[test]
    fn duplicate_keys_last_wins_at_first_position() {
        let value = parse(r#"{"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]},"b":null}"#).unwrap();
        assert_eq!(value.to_string(), r#"{"a":3,"b":null,"c":{"x":[2]}}"#);
        assert_eq!(value.get("a"), Some(&num("3")));
        let value = parse(r#"{"k":1,"k":2,"k":3}"#).unwrap();
        assert_eq!(value.to_string(), r#"{"k":3}"#);
        // Escaped and plain spellings are the same key.
        assert_eq!(
            parse(r#"{"é":1,"\u00e9":2}"#).unwrap().to_string(),
            r#"{"é":2}"#
        );
    }

    #[test]
    fn large_objects_are_capped_when_built_and_scanned_in_full_raw() {
        // ~1.3 MB, 150k distinct keys: building it would be quadratic (linear inserts), so a
        // parse stops at MAX_MEMBERS; the raw scan (what a user object goes through) takes it all.
        let mut text = String::from("{");
        for i in 0..150_000 {
            text.push_str(&format!("\"key{i}\":{i},"));
        }
        text.push_str("\"key0\":\"last\"}");
        let error = parse(&text).unwrap_err();
        assert_eq!(error.reason, "too many object members");
        assert_eq!(object_members(&text).unwrap().len(), 150_001);
        // The cap is over all objects of one parse: many objects just under any per-object cap
        // would be quadratic too.
        let small = format!("{{{}\"z\":0}}", "\"a\":0,".repeat(99));
        let many = format!(
            "[{}]",
            vec![small.as_str(); MAX_MEMBERS / 100 + 1].join(",")
        );
        assert_eq!(parse(&many).unwrap_err().reason, "too many object members");
        assert!(parse(&format!("[{}]", vec![small.as_str(); 40].join(","))).is_ok());
        // Under the cap, with every key repeated: each keeps its first position and takes its
        // last value, as in JSON.parse.
        let half = MAX_MEMBERS / 2 - 1;
        let mut text = String::from("{");
        for round in 0..2 {
            for i in 0..half {
                text.push_str(&format!("\"k{i}\":{round},"));
            }
        }
        text.push_str("\"end\":true}");
        let map = parse(&text).unwrap();
        let map = map.as_object().unwrap();
        assert_eq!(map.len(), half + 1);
        assert!(map.values().take(half).all(|v| *v == num("1")));
        assert_eq!(
            map.keys().nth(half - 1).map(String::as_str),
            Some(format!("k{}", half - 1).as_str())
        );
    }

    #[test]
    fn members_are_raw_slices() {
        let members =
            object_members(r#" {"a" : {"b":[1, 2]} , "c":"\u00e9", "a\n":1e5,"a":[ ]} "#).unwrap();
        let members: Vec<(&str, &str)> = members.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        assert_eq!(
            members,
            [
                ("a", r#"{"b":[1, 2]}"#),
                ("c", r#""\u00e9""#),
                ("a\n", "1e5"),
                ("a", "[ ]")
            ]
        );
        let members = object_members(r#"{"plain":1,"\u00e9":2}"#).unwrap();
        assert!(matches!(
            members.first(),
            Some((Cow::Borrowed("plain"), "1"))
        ));
        assert!(matches!(members.get(1), Some((Cow::Owned(key), "2")) if key == "é"));
        assert_eq!(object_members("{}"), Ok(vec![]));
        for text in [
            "",
            "[]",
            "1",
            "\"{}\"",
            "{",
            "{}x",
            "{} {}",
            r#"{"a":01}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1,}"#,
        ] {
            assert!(object_members(text).is_err(), "{text:?}");
        }
        assert_eq!(
            object_members("[]").unwrap_err().reason,
            "expected an object"
        );
    }

    #[test]
    fn map_order_semantics() {
        let mut map = Map::new();
        assert!(map.is_empty());
        assert_eq!(map.insert("b".into(), num("1")), None);
        assert_eq!(map.insert("a".into(), num("2")), None);
        assert_eq!(map.insert("c".into(), num("3")), None);
        assert_eq!(map.insert("b".into(), num("4")), Some(num("1")));
        assert_eq!(
            map.keys().map(String::as_str).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        assert_eq!(map.remove("a"), Some(num("2")));
        assert_eq!(map.remove("a"), None);
        assert_eq!(Value::Object(map.clone()).to_string(), r#"{"b":4,"c":3}"#);
        assert!(map.contains_key("c") && !map.contains_key("a"));
        if let Some(value) = map.get_mut("c") {
            *value = Value::Null;
        }
        let pairs: Vec<(&String, &Value)> = (&map).into_iter().collect();
        assert_eq!(
            pairs,
            [
                (&"b".to_owned(), &num("4")),
                (&"c".to_owned(), &Value::Null)
            ]
        );
        let collected: Map = [("x", "1"), ("y", "2"), ("x", "3"), ("z", "4"), ("y", "5")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), num(v)))
            .collect();
        assert_eq!(
            Value::Object(collected.clone()).to_string(),
            r#"{"x":3,"y":5,"z":4}"#
        );
        let mut extended = collected;
        extended.extend([
            ("z".to_owned(), Value::Null),
            ("w".to_owned(), Value::Bool(true)),
        ]);
        assert_eq!(
            Value::from(extended).to_string(),
            r#"{"x":3,"y":5,"z":null,"w":true}"#
        );
    }

    #[test]
    fn accessors() {
        let value = parse(r#"{"s":"t","a":[1],"o":{},"n":null,"b":false}"#).unwrap();
        assert_eq!(value.get("s").and_then(Value::as_str), Some("t"));
        assert_eq!(
            value.get("a").and_then(Value::as_array).map(Vec::len),
            Some(1)
        );
        assert!(value.get("o").is_some_and(Value::is_object));
        assert!(value.get("n").is_some_and(Value::is_null));
        assert_eq!(value.get("b").and_then(Value::as_bool), Some(false));
        assert_eq!(value.get("missing"), None);
        assert_eq!(string("x").get("s"), None);
        let mut value = value;
        if let Some(map) = value.as_object_mut() {
            map.remove("s");
        }
        assert_eq!(value.to_json(), r#"{"a":[1],"o":{},"n":null,"b":false}"#);
    }

    #[test]
    fn display_escapes_like_serde_json() {
        assert_eq!(
            quoted("plain é 😀 \u{2028} \u{7f}"),
            "\"plain é 😀 \u{2028} \u{7f}\""
        );
        assert_eq!(
            quoted("\" \\ / \n \r \t \u{8} \u{c}"),
            r#""\" \\ / \n \r \t \b \f""#
        );
        assert_eq!(
            quoted("\0\u{1}\u{b}\u{e}\u{f}\u{10}\u{1a}\u{1f} "),
            r#""\u0000\u0001\u000b\u000e\u000f\u0010\u001a\u001f ""#
        );
        assert_eq!(quoted(""), "\"\"");
        let mut out = String::from("x");
        write_string(&mut out, "a\"b");
        assert_eq!(out, r#"x"a\"b""#);
        let value = Value::Array(vec![
            Value::Null,
            Value::Bool(true),
            num("1E2"),
            string("\u{1}"),
            Value::Object(
                [("k\"".to_owned(), Value::Array(vec![]))]
                    .into_iter()
                    .collect(),
            ),
        ]);
        assert_eq!(value.to_string(), r#"[null,true,1E2,"\u0001",{"k\"":[]}]"#);
        assert_eq!(format!("{value}"), value.to_json());
    }

    #[test]
    fn parse_distinct_reads_what_parse_reads_without_the_member_cap() {
        for text in [
            r#"{"a":1,"b":[true,null,{"c":"\u00e9"}],"__proto__":{"d":-0.5e3}}"#,
            r#"[{"x":{}},[],"s",1,false]"#,
            "  {}  ",
        ] {
            assert_eq!(parse_distinct(text), parse(text), "{text}");
        }
        // Keys keep their order, and nothing is deduplicated or capped.
        let many: Vec<String> = (0..MAX_MEMBERS + 10)
            .map(|i| format!("\"k{i}\":{i}"))
            .collect();
        let text = format!("{{{}}}", many.join(","));
        assert!(parse(&text).is_err());
        let Ok(Value::Object(object)) = parse_distinct(&text) else {
            panic!("parse_distinct refused {} members", MAX_MEMBERS + 10)
        };
        assert_eq!(object.len(), MAX_MEMBERS + 10);
        assert_eq!(object.keys().next().map(String::as_str), Some("k0"));
        // Still strict, still bounded in depth.
        for bad in [
            "{\"a\":}",
            "[1,]",
            "{\"a\":1} x",
            &"[".repeat(MAX_DEPTH + 1),
        ] {
            assert!(parse_distinct(bad).is_err(), "{bad}");
        }
    }
}
