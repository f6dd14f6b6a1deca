//! Input checks that run before anything is sent. Each error names what was wrong.

use super::error::{quoted, Error};

/// Clerk's ids are `user_` + 27 base62 characters; leave room for other forms, not for abuse.
pub const MAX_USER_ID_LEN: usize = 128;
/// A key longer than this cannot fit sensibly in Clerk's 8 KB of metadata anyway.
pub const MAX_KEY_LEN: usize = 1024;
/// Clerk's documented metadata limit: 8 KB of serialized JSON per field.
pub const DEFAULT_MAX_METADATA_BYTES: usize = 8192;

/// A user id may only ever address `/v1/users/{id}`: ASCII letters, digits, `_` and `-`.
///
/// An allow-list rather than escaping: `/`, `?`, `#`, `%`, `.` and control characters could
/// change the request path or query, and no Clerk id contains them.
pub fn user_id(id: &str) -> Result<&str, Error> {
    user_id_as(id, "userId")
}

/// A user id given under another name (`what`), such as a page's `startingAfter` cursor.
pub fn user_id_as<'a>(id: &'a str, what: &str) -> Result<&'a str, Error> {
    if id.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{what} must be a non-empty string"
        )));
    }
    if id.len() > MAX_USER_ID_LEN {
        return Err(Error::invalid_argument(format!(
            "{what} is {} characters long; the limit is {MAX_USER_ID_LEN}",
            id.chars().count()
        )));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(Error::invalid_argument(format!(
            "{what} {} contains {}; only letters, digits, '_' and '-' are allowed (Clerk ids look like user_2xhFjEI5X2qWRvtV13BzSj8H6Dk)",
            printable(id),
            describe_char(bad)
        )));
    }
    Ok(id)
}

/// A metadata key: any non-empty string up to [`MAX_KEY_LEN`] bytes.
///
/// Keys are data inside the JSON body, never part of a URL, so no character is dangerous; an
/// empty key is refused because it is almost always a bug in the caller.
pub fn key<'a>(key: &'a str, what: &str) -> Result<&'a str, Error> {
    if key.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{what} must be a non-empty string"
        )));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Error::invalid_argument(format!(
            "{what} is {} bytes long; the limit is {MAX_KEY_LEN}",
            key.len()
        )));
    }
    Ok(key)
}

/// Refuses a body field whose serialized JSON is larger than Clerk accepts, before sending.
pub fn metadata_size(serialized_len: usize, limit: usize, what: &str) -> Result<(), Error> {
    if serialized_len > limit {
        return Err(Error::invalid_argument(format!(
            "{what} is {serialized_len} bytes as JSON; Clerk's limit is {limit} bytes"
        )));
    }
    Ok(())
}

/// Quotes a value for an error message, escaping control characters so it cannot forge lines.
fn printable(value: &str) -> String {
    let shown: String = value.chars().take(64).collect();
    let suffix = if value.chars().count() > 64 {
        "…"
    } else {
        ""
    };
    format!("{}{suffix}", quoted(&shown))
}

fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("the character U+{:04X}", c as u32)
    } else {
        quoted(c.encode_utf8(&mut [0; 4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_clerk_ids() {
        for id in ["user_2xhFjEI5X2qWRvtV13BzSj8H6Dk", "user_123", "a-b_C"] {
            assert_eq!(user_id(id).unwrap(), id);
        }
    }

    #[test]
    fn refuses_ids_that_could_change_the_request() {
        for id in [
            "",
            " ",
            "user 1",
            "user_1/metadata",
            "..",
            "user_1?x=1",
            "user_1#f",
            "user%2F1",
            "user\n1",
            "user\u{0}1",
            "ü",
            "user.1",
            "\u{202e}user",
        ] {
            let error = user_id(id).unwrap_err();
            assert_eq!(error.code(), "invalid_argument", "{id:?}");
            assert!(error.reason.starts_with("userId"), "{}", error.reason);
        }
        let long = "u".repeat(MAX_USER_ID_LEN + 1);
        assert!(user_id(&long)
            .unwrap_err()
            .reason
            .contains("129 characters"));
    }

    #[test]
    fn control_characters_are_named_not_printed_raw() {
        let error = user_id("user\n1").unwrap_err();
        assert!(error.reason.contains("U+000A"), "{}", error.reason);
        assert!(!error.reason.contains('\n'));
    }

    #[test]
    fn keys_must_be_non_empty_and_bounded() {
        assert_eq!(key("role", "key").unwrap(), "role");
        assert_eq!(key("__proto__", "key").unwrap(), "__proto__");
        assert!(key("", "key").unwrap_err().reason.contains("key must be"));
        assert!(key(&"k".repeat(MAX_KEY_LEN + 1), "keysToRemove[2]")
            .unwrap_err()
            .reason
            .starts_with("keysToRemove[2]"));
    }

    #[test]
    fn size_limit_names_the_size() {
        assert!(metadata_size(8192, 8192, "metadata").is_ok());
        let error = metadata_size(9000, 8192, "metadata").unwrap_err();
        assert_eq!(
            error.reason,
            "metadata is 9000 bytes as JSON; Clerk's limit is 8192 bytes"
        );
    }
}
