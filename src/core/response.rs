//! What came back: Clerk's user object on success, Clerk's error body otherwise.
//!
//! A non-2xx status is data here; this module is the one place that turns it into an [`Error`].

use super::cache::UserFields;
use super::error::{ClerkErrorEntry, Error, ErrorKind};
use super::json::{self, Map, Value};
use super::MetadataKind;

/// Responses larger than this are refused: a Clerk user object is a few kilobytes.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The parts of an HTTP response the core looks at, filled in by the transport.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    /// Cloudflare's ray id: Clerk's fallback trace id when the body has none.
    pub cf_ray: Option<String>,
    pub body: String,
    /// Requests sent to get this response (retries included), copied into any error.
    pub attempts: u32,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            let media = ct.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/json") || media.ends_with("+json")
        })
    }
}

/// The metadata field of a successful user response, parsed (for building patches).
pub fn user_metadata(response: &HttpResponse, kind: MetadataKind) -> Result<Map, Error> {
    let fields = user_fields(response, kind)?;
    members(fields.get(kind).unwrap_or("{}"))
}

/// All three metadata fields of a successful user response, as raw JSON objects; `required` must
/// be one, the others are kept when they are (for the cache).
pub fn user_fields(response: &HttpResponse, required: MetadataKind) -> Result<UserFields, Error> {
    if !response.is_success() {
        return Err(api_error(response));
    }
    let invalid = |why: String| {
        let mut error = Error::new(
            ErrorKind::InvalidResponse,
            format!(
                "unexpected response from Clerk (HTTP {}): {why}",
                response.status
            ),
        );
        error.status = Some(response.status);
        error.attempts = response.attempts;
        error
    };
    if !response.is_json() {
        return Err(invalid(format!(
            "expected application/json, got {}",
            response
                .content_type
                .as_deref()
                .unwrap_or("no content type")
        )));
    }
    if response.body.trim().is_empty() {
        return Err(invalid("the body is empty".into()));
    }
    // Only the three metadata fields are kept, as raw text: every other member is checked and
    // skipped without being built, and the metadata is handed on untouched, so key order and
    // exact number text survive and the JS side parses it once with `JSON.parse`.
    let members = json::object_members(&response.body)
        .map_err(|e| invalid(format!("the body is not a JSON user object ({e})")))?;
    let object = |kind: MetadataKind| {
        members
            .iter()
            .rev()
            .find(|(key, _)| key == kind.field())
            .map(|(_, raw)| *raw)
            .filter(|raw| raw.starts_with('{'))
            .map(str::to_owned)
    };
    let fields = UserFields {
        public: object(MetadataKind::Public),
        private: object(MetadataKind::Private),
        unsafe_: object(MetadataKind::Unsafe),
    };
    if fields.get(required).is_none() {
        return Err(invalid(format!(
            "the user has no {} object",
            required.field()
        )));
    }
    Ok(fields)
}

fn not_an_object(error: json::ParseError) -> Error {
    Error::new(
        ErrorKind::InvalidResponse,
        format!("unexpected response from Clerk: metadata is not a JSON object ({error})"),
    )
}

/// Parses raw metadata (an object) into a map, to build a patch from its keys.
pub fn members(raw: &str) -> Result<Map, Error> {
    match json::parse(raw).map_err(not_an_object)? {
        Value::Object(object) => Ok(object),
        _ => Err(not_an_object(json::ParseError {
            offset: 0,
            reason: "expected an object",
        })),
    }
}

/// One top-level member of raw metadata, as raw JSON text, without building the others.
/// A key sent twice is read as JSON.parse reads it: the last one wins.
pub fn member<'a>(raw: &'a str, key: &str) -> Result<Option<&'a str>, Error> {
    let members = json::object_members(raw).map_err(not_an_object)?;
    Ok(members
        .into_iter()
        .rev()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value))
}

/// Turns a non-2xx response into an error with Clerk's code, trace id and `Retry-After`.
pub fn api_error(response: &HttpResponse) -> Error {
    let body = if response.is_json() {
        json::parse(&response.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let errors: Vec<ClerkErrorEntry> = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter(|entry| entry.is_object())
                .map(|entry| ClerkErrorEntry {
                    message: text(entry.get("message")).unwrap_or_default(),
                    long_message: text(entry.get("long_message")),
                    code: text(entry.get("code")).unwrap_or_default(),
                    meta: entry.get("meta").filter(|meta| meta.is_object()).cloned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let first = errors.first();
    let code = first
        .map(|entry| entry.code.clone())
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| format!("http_{}", response.status));
    let reason = match response.status {
        // The texts of the module this package replaces, for the cases it named.
        404 => "User not found".to_owned(),
        429 => "Rate limit exceeded".to_owned(),
        401 => format!("Clerk rejected CLERK_SECRET_KEY ({code})"),
        _ => match first {
            Some(entry) => [entry.long_message.as_deref(), Some(entry.message.as_str())]
                .into_iter()
                .flatten()
                .find(|m| !m.trim().is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Clerk answered HTTP {} ({code})", response.status)),
            None if response.is_json() => format!("Clerk answered HTTP {}", response.status),
            None => format!(
                "Clerk answered HTTP {} with a non-JSON body ({})",
                response.status,
                response
                    .content_type
                    .as_deref()
                    .unwrap_or("no content type")
            ),
        },
    };
    let mut error = Error::new(ErrorKind::Api(code), reason);
    error.status = Some(response.status);
    error.clerk_trace_id = text(body.get("clerk_trace_id")).or_else(|| response.cf_ray.clone());
    error.retry_after = response.retry_after.as_deref().and_then(parse_retry_after);
    error.errors = errors;
    error.attempts = response.attempts;
    error
}

/// `Retry-After` in seconds. Clerk sends whole seconds; a fraction rounds up, an HTTP date is
/// ignored (no clock to compare it with here), and a negative or absurd value is dropped.
pub fn parse_retry_after(raw: &str) -> Option<u32> {
    // Parsed by hand: `f64::from_str` brings 12 KB of tables into the wasm for this one header.
    let (whole, fraction) = match raw.trim().split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (raw.trim(), None),
    };
    let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) || whole.len() > 6 {
        return None;
    }
    let seconds: u32 = whole.parse().ok()?;
    let rounds_up = fraction.is_some_and(|f| f.bytes().any(|b| b != b'0'));
    let seconds = seconds + u32::from(rounds_up);
    (seconds <= 86_400).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            content_type: Some("application/json; charset=utf-8".into()),
            body: body.into(),
            ..HttpResponse::default()
        }
    }

    const USER: &str = r#"{"object":"user","id":"user_1","public_metadata":{"role":"admin","n":0,"f":false,"z":null},"private_metadata":{},"unsafe_metadata":{"u":1}}"#;

    #[test]
    fn reads_each_metadata_kind_raw() {
        let response = json(200, USER);
        let fields = user_fields(&response, MetadataKind::Public).unwrap();
        assert_eq!(
            fields.get(MetadataKind::Public),
            Some(r#"{"role":"admin","n":0,"f":false,"z":null}"#)
        );
        assert_eq!(fields.get(MetadataKind::Private), Some("{}"));
        assert_eq!(fields.get(MetadataKind::Unsafe), Some(r#"{"u":1}"#));
        let public = user_metadata(&response, MetadataKind::Public).unwrap();
        assert_eq!(public.get("role"), Some(&Value::String("admin".into())));
    }

    #[test]
    fn member_lookup_keeps_falsy_values_and_misses_absent_keys() {
        let raw = r#"{"role":"admin","n":0,"f":false,"z":null}"#;
        assert_eq!(member(raw, "n").unwrap(), Some("0"));
        assert_eq!(member(raw, "f").unwrap(), Some("false"));
        assert_eq!(member(raw, "z").unwrap(), Some("null"));
        assert_eq!(member(raw, "missing").unwrap(), None);
    }

    #[test]
    fn numbers_and_key_order_keep_their_exact_text() {
        let body = r#"{"public_metadata":{"f":-102993.13212663165,"big":12345678901234567890,"e":1e-7,"b":1,"a":2}}"#;
        let fields = user_fields(&json(200, body), MetadataKind::Public).unwrap();
        assert_eq!(
            fields.get(MetadataKind::Public),
            Some(r#"{"f":-102993.13212663165,"big":12345678901234567890,"e":1e-7,"b":1,"a":2}"#)
        );
    }

    #[test]
    fn escaped_keys_are_read_as_text() {
        let raw = r#"{"a\"b":1,"\u00e9":2,"__proto__":3}"#;
        assert_eq!(member(raw, "a\"b").unwrap(), Some("1"));
        assert_eq!(member(raw, "é").unwrap(), Some("2"));
        assert_eq!(member(raw, "__proto__").unwrap(), Some("3"));
    }

    #[test]
    fn malformed_success_bodies_are_invalid_responses_with_the_status() {
        let html = HttpResponse {
            status: 200,
            content_type: Some("text/html".into()),
            body: "<html></html>".into(),
            ..HttpResponse::default()
        };
        for response in [
            html,
            json(200, ""),
            json(200, r#"{"public_metadata":{"a":"#),
            json(200, r#"{"id":"user_1"}"#),
            json(200, r#"{"public_metadata":[1]}"#),
            json(200, r#"[]"#),
            json(200, r#"{"public_metadata":null}"#),
            json(200, r#"{"public_metadata":{}} trailing"#),
        ] {
            let response = HttpResponse {
                attempts: 2,
                ..response
            };
            let error = user_metadata(&response, MetadataKind::Public).unwrap_err();
            assert_eq!(error.code(), "invalid_response", "{}", response.body);
            assert_eq!(error.status, Some(200));
            assert_eq!(
                error.attempts, 2,
                "a response arrived, so requests were sent"
            );
        }
    }

    #[test]
    fn not_found_uses_the_seed_text_and_keeps_clerks_fields() {
        let response = json(
            404,
            r#"{"errors":[{"message":"not found","long_message":"No user was found with id user_x","code":"resource_not_found"}],"clerk_trace_id":"trace_1"}"#,
        );
        let error = user_metadata(&response, MetadataKind::Public).unwrap_err();
        assert_eq!(error.reason, "User not found");
        assert_eq!(error.code(), "resource_not_found");
        assert_eq!(error.status, Some(404));
        assert_eq!(error.clerk_trace_id.as_deref(), Some("trace_1"));
        assert_eq!(error.errors.len(), 1);
        assert_eq!(
            error.errors[0].long_message.as_deref(),
            Some("No user was found with id user_x")
        );
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let mut response = json(
            429,
            r#"{"errors":[{"message":"Too many requests","code":"too_many_requests"}]}"#,
        );
        response.retry_after = Some("7".into());
        response.cf_ray = Some("ray-1".into());
        let error = api_error(&response);
        assert_eq!(error.reason, "Rate limit exceeded");
        assert_eq!(error.retry_after, Some(7));
        assert_eq!(error.clerk_trace_id.as_deref(), Some("ray-1"));
    }

    #[test]
    fn other_errors_use_clerks_long_message() {
        let response = json(
            422,
            r#"{"errors":[{"message":"is invalid","long_message":"public_metadata must be an object","code":"form_param_value_invalid","meta":{"param_name":"public_metadata"}}]}"#,
        );
        let error = api_error(&response);
        assert_eq!(error.reason, "public_metadata must be an object");
        assert_eq!(error.code(), "form_param_value_invalid");
    }

    #[test]
    fn non_json_error_pages_keep_the_status() {
        let response = HttpResponse {
            status: 502,
            content_type: Some("text/html".into()),
            body: "<html>Bad gateway</html>".into(),
            ..HttpResponse::default()
        };
        let error = api_error(&response);
        assert_eq!(error.code(), "http_502");
        assert_eq!(error.status, Some(502));
        assert!(error.reason.contains("non-JSON"), "{}", error.reason);
        let garbled = json(500, "{not json");
        assert_eq!(api_error(&garbled).code(), "http_500");
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after("3"), Some(3));
        assert_eq!(parse_retry_after(" 1.2 "), Some(2));
        assert_eq!(parse_retry_after("0"), Some(0));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("1e9"), None);
        assert_eq!(parse_retry_after("2.0"), Some(2));
        assert_eq!(parse_retry_after("86401"), None);
        assert_eq!(parse_retry_after("+1"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
