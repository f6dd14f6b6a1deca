//! Differential tests of `core::json` against serde_json (the parser it replaces at runtime).
//!
//! Case counts: `PROPTEST_CASES` (proptest's default, 256 per property, when unset).
//!
//! Known, deliberate differences from serde_json, each checked where it shows up:
//! - Numbers are kept as written (`1E2` stays `1E2`; serde_json writes `100.0`), and a number
//!   too large for an f64 (`1e400`) is accepted (serde_json without `arbitrary_precision`
//!   refuses it with "number out of range").
//! - `object_members` validates member values fully, so a lone surrogate escape inside a
//!   value is an error; serde_json's `RawValue` skips `\u` escapes without checking them.
//! - Nesting: 128 levels are accepted; serde_json's limit is 127.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use clerk_metadata_wasm::core::json::{self, MAX_DEPTH};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::value::RawValue;

type Serde = serde_json::Value;

/// Strings with what JSON escaping cares about: quotes, backslashes, control characters,
/// DEL, U+2028, non-ASCII and astral characters.
fn any_string() -> impl Strategy<Value = String> {
    let tricky = select(vec![
        '"',
        '\\',
        '/',
        '\0',
        '\u{1}',
        '\u{8}',
        '\t',
        '\n',
        '\u{b}',
        '\u{c}',
        '\r',
        '\u{1f}',
        ' ',
        'a',
        'é',
        '\u{7f}',
        '\u{2028}',
        '\u{fffd}',
        '😀',
        '\u{10ffff}',
    ]);
    prop_oneof![
        "\\PC{0,8}",
        prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
        prop::collection::vec(tricky, 0..8).prop_map(String::from_iter),
    ]
}

/// Any serde_json value: nested arrays and objects, integers across i64 and u64, floats of
/// every magnitude (non-finite ones become null, as serde_json does).
fn serde_value() -> impl Strategy<Value = Serde> {
    let leaf = prop_oneof![
        Just(Serde::Null),
        any::<bool>().prop_map(Serde::Bool),
        any::<i64>().prop_map(Serde::from),
        any::<u64>().prop_map(Serde::from),
        any::<f64>().prop_map(Serde::from),
        (-1e6f64..1e6).prop_map(Serde::from),
        any_string().prop_map(Serde::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Serde::Array),
            prop::collection::vec((any_string(), inner), 0..6)
                .prop_map(|members| Serde::Object(members.into_iter().collect())),
        ]
    })
}

/// The characters JSON text is made of, plus a few it must refuse.
const ALPHABET: &str = "[]{}\",:0123456789eE.+-tfnrulasbdcDF\\/ \t\n\r\u{c}\u{1}é";

fn alphabet_char() -> impl Strategy<Value = char> {
    select(ALPHABET.chars().collect::<Vec<_>>())
}

/// Short text over the JSON alphabet: mostly invalid, sometimes valid.
fn alphabet_text() -> impl Strategy<Value = String> {
    prop::collection::vec(alphabet_char(), 0..40).prop_map(String::from_iter)
}

/// Sequences of JSON-ish tokens, valid and invalid, so that more of them parse.
fn token_text() -> impl Strategy<Value = String> {
    let token = select(vec![
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        " ",
        "\n",
        "\"a\"",
        "\"\"",
        "\"\\u00e9\"",
        "\"\\n\\/\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\\x\"",
        "\"\u{1}\"",
        "\"a",
        "0",
        "-0",
        "12",
        "-1.5e3",
        "1E+2",
        "0.25",
        "1e400",
        "-1e999",
        "1e-400",
        "18446744073709551616",
        "-9223372036854775809",
        "01",
        "1.",
        ".5",
        "+1",
        "-",
        "true",
        "false",
        "null",
        "nul",
        "NaN",
        "\\",
    ]);
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

/// Leaf tokens, mostly valid, some refused by both parsers or by one (see the module doc).
const LEAVES: &str = r#"0 -0 12 -1.5e3 1E+2 0.25 1.50 1e400 -1e999 1e-400 18446744073709551616
    -9223372036854775809 true false null "" "a" "\u00e9" "\n\/\\" "\ud83d\ude00" "\uD83D\uDE00"
    01 1. .5 +1 - nul NaN "\ud800" "\udc00" "\ud800\u0041" "\ud800\n" "\x" "a 'a'"#;

/// Arrays and objects of those leaves with separators that are mostly right: valid text
/// with an occasional flaw (a bad leaf or key, a missing or doubled comma, a trailing comma).
fn structured_text() -> impl Strategy<Value = String> {
    let leaves = LEAVES
        .split_whitespace()
        .chain(["\"é\u{2028}\"", "\"\u{1}\""]);
    let leaf = select(leaves.collect::<Vec<_>>()).prop_map(str::to_owned);
    let comma =
        || prop_oneof![20 => Just(","), 2 => Just(" ,\n "), 1 => Just(",,"), 1 => Just(" ")];
    let colon = prop_oneof![20 => Just(":"), 2 => Just(" :\t"), 1 => Just("")];
    let key = prop_oneof![
        8 => select(vec!["\"a\"", "\"b\"", "\"\\u0061\"", "\"é\"", "\"\"", "\"\\ud83d\\ude00\""]),
        1 => select(vec!["a", "1", "\"\\ud800\"", "\"\u{1}\"", "null"]),
    ];
    let close = |end: &'static str| {
        let trailing = format!(",{end}");
        prop_oneof![20 => Just(end.to_owned()), 1 => Just(trailing), 1 => Just(String::new())]
    };
    leaf.prop_recursive(4, 48, 6, move |inner| {
        let items = prop::collection::vec((inner.clone(), comma()), 0..6);
        let members = prop::collection::vec((key.clone(), colon.clone(), inner, comma()), 0..6);
        prop_oneof![
            (items, close("]")).prop_map(|(items, close)| {
                let mut text = String::from("[");
                for (i, (item, comma)) in items.iter().enumerate() {
                    text.push_str(if i > 0 { comma } else { "" });
                    text.push_str(item);
                }
                text + &close
            }),
            (members, close("}")).prop_map(|(members, close)| {
                let mut text = String::from("{");
                for (i, (key, colon, value, comma)) in members.iter().enumerate() {
                    text.push_str(if i > 0 { comma } else { "" });
                    text.push_str(key);
                    text.push_str(colon);
                    text.push_str(value);
                }
                text + &close
            }),
        ]
    })
}

/// Valid JSON with one edit: a character removed, inserted or replaced, or the end cut off.
fn mutated_text() -> impl Strategy<Value = String> {
    (
        serde_value(),
        any::<bool>(),
        0..4u8,
        any::<Index>(),
        alphabet_char(),
    )
        .prop_map(|(value, pretty, edit, at, c)| {
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            }
            .unwrap_or_default();
            let mut chars: Vec<char> = text.chars().collect();
            let at = at.index(chars.len() + 1);
            match edit {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 => chars.insert(at, c),
                2 if at < chars.len() => chars[at] = c,
                _ => chars.truncate(at),
            }
            String::from_iter(chars)
        })
}

/// Random bytes, made UTF-8 (invalid sequences become U+FFFD).
fn byte_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..40)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

fn fuzz_text() -> impl Strategy<Value = String> {
    prop_oneof![
        alphabet_text(),
        token_text(),
        structured_text(),
        structured_text(),
        mutated_text(),
        byte_text(),
        "\\PC{0,20}"
    ]
}

fn numbers(value: &json::Value, out: &mut Vec<String>) {
    match value {
        json::Value::Number(text) => out.push(text.clone()),
        json::Value::Array(items) => items.iter().for_each(|item| numbers(item, out)),
        json::Value::Object(map) => map.values().for_each(|item| numbers(item, out)),
        _ => {}
    }
}

/// serde_json's own rendering of a number's text (`1E2` → `100.0`), if it accepts it.
fn serde_number(text: &str) -> Option<String> {
    let number = serde_json::from_str::<Serde>(text).ok()?;
    serde_json::to_string(&number).ok()
}

/// Whether serde_json's error position (line, byte column) is at or just after a valid
/// JSON number too large for an f64.
fn huge_number_at(text: &str, line: usize, column: usize) -> bool {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let bytes = text.as_bytes();
    let in_number = |at: usize| {
        bytes
            .get(at)
            .is_some_and(|b| b.is_ascii_digit() || b"eE.+-".contains(b))
    };
    let at = line_start + column;
    [at, at.saturating_sub(1)].into_iter().any(|at| {
        let mut end = at;
        while in_number(end) {
            end += 1;
        }
        let mut start = end;
        while start > 0 && in_number(start - 1) {
            start -= 1;
        }
        text.get(start..end).is_some_and(|number| {
            json::Value::number(number).is_some()
                && number.parse::<f64>().is_ok_and(f64::is_infinite)
        })
    })
}

/// Our `parse` accepts exactly what serde_json accepts, and reads it the same way.
fn check_parse(text: &str) -> Result<(), TestCaseError> {
    let theirs = serde_json::from_str::<Serde>(text);
    match (json::parse(text), theirs) {
        (Ok(ours), Ok(theirs)) => {
            let compact = ours.to_string();
            let expected =
                serde_json::to_string(&theirs).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Numbers are compared the honest way: serde_json reads our output (whose numbers
            // are the input's number text, verbatim) to exactly the value it read from the
            // input. This checks structure, member order, strings and duplicates exactly,
            // and numbers as serde_json understands them, without float tolerances.
            let reread = serde_json::from_str::<Serde>(&compact).map_err(|e| {
                TestCaseError::fail(format!("serde_json rejects our output {compact:?}: {e}"))
            })?;
            prop_assert_eq!(serde_json::to_string(&reread).ok(), Some(expected.clone()));
            // And the text itself equals serde_json's whenever serde_json would not rewrite
            // the numbers (`1E2`, `1.50`, `-0`, ... it normalises).
            let mut texts = Vec::new();
            numbers(&ours, &mut texts);
            if texts
                .iter()
                .all(|n| serde_number(n).as_deref() == Some(n.as_str()))
            {
                prop_assert_eq!(&compact, &expected);
            }
            // Our output is a fixed point of our parser.
            prop_assert_eq!(json::parse(&compact).ok(), Some(ours));
        }
        (Err(_), Err(_)) => {}
        (Ok(_), Err(error)) => {
            // Only a number beyond f64 range, which serde_json refuses and we keep as text
            // (it may even be gone from our tree, replaced by a later duplicate key).
            prop_assert!(
                error.to_string().starts_with("number out of range")
                    && huge_number_at(text, error.line(), error.column()),
                "we accept {:?}, serde_json refuses it: {}",
                text,
                error
            );
        }
        (Err(error), Ok(_)) => {
            prop_assert!(
                false,
                "we refuse {:?} ({}), serde_json accepts it",
                text,
                error
            );
        }
    }
    Ok(())
}

/// `object_members` agrees with serde_json reading a map of raw values (last key wins).
fn check_members(text: &str) -> Result<(), TestCaseError> {
    let theirs = serde_json::from_str::<HashMap<String, Box<RawValue>>>(text);
    match (json::object_members(text), theirs) {
        (Ok(ours), Ok(theirs)) => {
            let mut last: HashMap<String, &str> = HashMap::new();
            for (key, raw) in &ours {
                // Each slice is a valid value on its own, with no whitespace around it.
                prop_assert!(json::parse(raw).is_ok());
                prop_assert_eq!(raw.trim_matches([' ', '\t', '\n', '\r']), *raw);
                last.insert(key.to_string(), *raw);
            }
            let theirs: HashMap<String, &str> =
                theirs.iter().map(|(k, v)| (k.clone(), v.get())).collect();
            prop_assert_eq!(last, theirs);
        }
        (Err(_), Err(_)) => {}
        (Err(error), Ok(_)) => {
            // RawValue does not check `\u` escapes in values; serde_json's full parse does,
            // and refuses the text too.
            prop_assert!(
                error.reason == "lone surrogate in \\u escape"
                    && serde_json::from_str::<Serde>(text).is_err(),
                "we refuse {:?} ({}), serde_json accepts it",
                text,
                error
            );
        }
        (Ok(_), Err(error)) => {
            prop_assert!(
                false,
                "we accept {:?}, serde_json refuses it: {}",
                text,
                error
            );
        }
    }
    Ok(())
}

fn whitespace() -> impl Strategy<Value = String> {
    prop::collection::vec(select(vec![' ', '\t', '\n', '\r']), 0..3).prop_map(String::from_iter)
}

/// An object written member by member, with duplicate keys and whitespace anywhere.
fn object_text() -> impl Strategy<Value = (Vec<String>, String)> {
    let key = prop_oneof![
        select(vec!["a", "b", "é", "\u{0}"]).prop_map(str::to_owned),
        any_string()
    ];
    let member = (
        key,
        serde_value(),
        any::<bool>(),
        whitespace(),
        whitespace(),
    );
    (prop::collection::vec(member, 0..8), whitespace()).prop_map(|(members, end)| {
        let mut text = String::from("{");
        let mut keys = Vec::new();
        for (i, (key, value, pretty, before, after)) in members.into_iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let value = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            };
            text.push_str(&before);
            text.push_str(&json::quoted(&key));
            text.push_str(&after);
            text.push(':');
            text.push_str(&before);
            text.push_str(&value.unwrap_or_default());
            text.push_str(&after);
            keys.push(key);
        }
        text.push_str(&end);
        text.push('}');
        (keys, text)
    })
}

#[derive(Debug, Clone)]
enum Op {
    Insert(String, i64),
    Remove(String),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let key = || select(vec!["a", "b", "c", "d", "e"]).prop_map(str::to_owned);
    let op = prop_oneof![
        3 => (key(), any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
        1 => key().prop_map(Op::Remove),
    ];
    prop::collection::vec(op, 0..20)
}

proptest! {
    /// Whatever serde_json writes, we read and write back identically, compact or pretty.
    #[test]
    fn reads_and_writes_what_serde_json_writes(value in serde_value()) {
        let compact = serde_json::to_string(&value).unwrap();
        let ours = json::parse(&compact).unwrap();
        prop_assert_eq!(ours.to_string(), compact.clone());
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        prop_assert_eq!(json::parse(&pretty).unwrap().to_json(), compact);
    }

    /// Accepts exactly what serde_json accepts, and reads it the same way.
    #[test]
    fn parse_agrees_with_serde_json(text in fuzz_text()) {
        check_parse(&text)?;
    }

    /// Objects with duplicates: last value wins, at the first key's position.
    #[test]
    fn duplicate_keys_agree_with_serde_json((_keys, text) in object_text()) {
        check_parse(&text)?;
    }

    /// Raw members agree with serde_json's `RawValue`s, in document order.
    #[test]
    fn object_members_agree_with_serde_json((keys, text) in object_text()) {
        check_members(&text)?;
        let ours = json::object_members(&text).unwrap();
        prop_assert_eq!(ours.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>(), keys);
    }

    /// ... and on fuzzed text, mostly objects.
    #[test]
    fn object_members_agree_on_fuzz(text in fuzz_text(), object in any::<bool>()) {
        let text = if object && !text.starts_with('{') { format!("{{{text}") } else { text };
        check_members(&text)?;
    }

    /// String literals are escaped exactly as serde_json escapes them.
    #[test]
    fn write_string_matches_serde_json(text in prop_oneof!["\\PC*", any_string()]) {
        prop_assert_eq!(json::quoted(&text), serde_json::to_string(&text).unwrap());
        let mut out = String::from("[");
        json::write_string(&mut out, &text);
        prop_assert_eq!(&out[1..], serde_json::to_string(&text).unwrap());
        prop_assert_eq!(json::parse(&out[1..]).unwrap(), json::Value::String(text));
    }

    /// `Value::number` takes exactly the number texts serde_json reads as a number.
    #[test]
    fn number_grammar_agrees_with_serde_json(text in "[-+0-9eE.]{0,12}") {
        let ours = json::Value::number(&text);
        prop_assert_eq!(ours.is_some(), json::parse(&text).is_ok());
        match serde_json::from_str::<Serde>(&text) {
            Ok(theirs) => {
                prop_assert!(theirs.is_number());
                prop_assert_eq!(ours, Some(json::Value::Number(text)));
            }
            Err(error) => prop_assert!(
                ours.is_none()
                    || (error.to_string().starts_with("number out of range")
                        && text.parse::<f64>().is_ok_and(f64::is_infinite)),
                "{:?}: {}", text, error
            ),
        }
    }

    /// Map semantics: `insert` as serde_json's `preserve_order` map; `remove` keeps order,
    /// as its `shift_remove` (serde_json's own `remove` is a `swap_remove`).
    #[test]
    fn map_matches_serde_json_ordered_map(ops in ops()) {
        let mut ours = json::Map::new();
        let mut theirs = serde_json::Map::new();
        for op in &ops {
            match op {
                Op::Insert(key, value) => {
                    let number = json::Value::number(&value.to_string()).unwrap();
                    prop_assert_eq!(
                        ours.insert(key.clone(), number).map(|v| v.to_string()),
                        theirs.insert(key.clone(), Serde::from(*value)).map(|v| v.to_string())
                    );
                }
                Op::Remove(key) => prop_assert_eq!(
                    ours.remove(key).map(|v| v.to_string()),
                    theirs.shift_remove(key).map(|v| v.to_string())
                ),
            }
            prop_assert_eq!(ours.len(), theirs.len());
        }
        let expected = serde_json::to_string(&theirs).unwrap();
        prop_assert_eq!(json::Value::Object(ours).to_string(), expected.clone());
        // Collecting with duplicates: same as inserting one by one.
        let pairs = ops.iter().filter_map(|op| match op {
            Op::Insert(key, value) => Some((key.clone(), *value)),
            Op::Remove(_) => None,
        });
        let ours: json::Map = pairs
            .clone()
            .map(|(k, v)| (k, json::Value::number(&v.to_string()).unwrap()))
            .collect();
        let theirs: serde_json::Map<String, Serde> = pairs.map(|(k, v)| (k, Serde::from(v))).collect();
        prop_assert_eq!(json::Value::Object(ours).to_string(), serde_json::to_string(&theirs).unwrap());
    }
}

/// The one place the depth limits differ: serde_json stops at 127 levels, we at 128.
#[test]
fn depth_limits_compared_with_serde_json() {
    let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
    assert_eq!(MAX_DEPTH, 128);
    for depth in [1, 100, 127] {
        assert!(json::parse(&nested(depth)).is_ok());
        assert!(serde_json::from_str::<Serde>(&nested(depth)).is_ok());
    }
    assert!(json::parse(&nested(128)).is_ok());
    assert!(serde_json::from_str::<Serde>(&nested(128)).is_err());
    assert!(json::parse(&nested(129)).is_err());
    assert!(json::parse(&"[".repeat(100_000)).is_err());
    // RawValue has no depth limit at all; object_members keeps ours.
    let deep = format!("{{\"a\":{}}}", nested(200));
    assert!(serde_json::from_str::<HashMap<String, Box<RawValue>>>(&deep).is_ok());
    assert!(json::object_members(&deep).is_err());
}

/// Fixed cases of the known differences, so they stay visible.
#[test]
fn known_differences_from_serde_json() {
    // Numbers as written.
    assert_eq!(
        json::parse("[1E2,-0,1.50]").unwrap().to_string(),
        "[1E2,-0,1.50]"
    );
    assert_eq!(
        serde_json::to_string(&serde_json::from_str::<Serde>("[1E2,-0,1.50]").unwrap()).unwrap(),
        "[100.0,-0.0,1.5]"
    );
    // Beyond f64: kept, where serde_json refuses.
    assert_eq!(
        json::parse("1e400"),
        Ok(json::Value::Number("1e400".into()))
    );
    assert!(serde_json::from_str::<Serde>("1e400").is_err());
    // A lone surrogate in a raw member value: refused, where RawValue lets it through.
    let text = r#"{"a":"\ud800"}"#;
    assert!(json::object_members(text).is_err());
    assert!(serde_json::from_str::<HashMap<String, Box<RawValue>>>(text).is_ok());
    assert!(serde_json::from_str::<Serde>(text).is_err());
}

/// Fixed inputs through the same checks as the properties, including past shrunk failures.
#[test]
fn fixed_cases_agree_with_serde_json() {
    for text in [
        // A huge number replaced by a later duplicate (`\u0061` is "a"): serde_json refuses
        // the text, we keep the last member only.
        r#"{"a":1e400,"\u0061":0}"#,
        "[\n  1,\n  -1e400\n]",
        "{\n\"a\": [1,\n2,\n1E+999]}",
        r#"{"b":1,"a":2,"b":3}"#,
        r#"["\ud83d\ude00","\u0000",-0,1.50,1E2]"#,
        "\"\\ud800\"",
        "[1,]",
        "",
    ] {
        check_parse(text).unwrap();
        check_members(text).unwrap();
    }
    assert_eq!(
        json::parse(r#"{"a":1e400,"\u0061":0}"#)
            .unwrap()
            .to_string(),
        r#"{"a":0}"#
    );
}
