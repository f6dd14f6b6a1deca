//! Reads chosen members of a JSON object as raw slices of its text, checking the whole object
//! but keeping nothing else: a user body is read for three fields, a page's users for two.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The members called `names` of a JSON object, as raw slices in the order of `names`; every
/// other member is checked and skipped unkept (one reader for bodies and metadata alike). A name
/// sent twice keeps its last value, as `JSON.parse` does.
pub fn pick<'a, const N: usize>(
    text: &'a str,
    names: [&str; N],
) -> Result<[Option<&'a RawValue>; N], serde_json::Error> {
    let mut found = [None; N];
    pick_into(text, &names, &mut found)?;
    Ok(found)
}

/// [`pick`] for any number of names: one copy of the reader in the wasm, whatever `N`.
fn pick_into<'a>(
    text: &'a str,
    names: &[&str],
    found: &mut [Option<&'a RawValue>],
) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.deserialize_map(Pick { names, found })?;
    deserializer.end()
}

struct Pick<'n, 'f, 'a> {
    names: &'n [&'n str],
    found: &'f mut [Option<&'a RawValue>],
}

impl<'de> Visitor<'de> for Pick<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            let slot = self
                .names
                .iter()
                .zip(self.found.iter_mut())
                .find(|(name, _)| **name == key);
            match slot {
                Some((_, slot)) => *slot = Some(map.next_value()?),
                None => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        Ok(())
    }
}

/// A member's name, borrowed from the body unless it had to be unescaped.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_named_members_and_the_last_of_a_repeated_name() {
        let text = r#"{"a":1,"b\u0041":[true],"a":{"x":"y"},"c":null}"#;
        let [a, b, missing] = pick(text, ["a", "bA", "z"]).unwrap();
        assert_eq!(a.map(RawValue::get), Some(r#"{"x":"y"}"#));
        assert_eq!(b.map(RawValue::get), Some("[true]"));
        assert!(missing.is_none());
    }

    #[test]
    fn refuses_what_is_not_one_json_object() {
        for text in [
            "[1]",
            r#"{"a":1"#,
            r#"{"a":1} {}"#,
            r#"{"a":tru}"#,
            r#"{"b":1,}"#,
        ] {
            assert!(pick(text, ["a"]).is_err(), "{text}");
        }
    }
}
