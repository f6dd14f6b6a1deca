//! What came back: Clerk's user object on success, Clerk's error body otherwise.
//!
//! A non-2xx status is data here; this module is the one place that turns it into an [`Error`].
//! Metadata is handed on as raw JSON text (`&RawValue`), so the JS side parses it once with
//! `JSON.parse` instead of building a Rust tree and converting it value by value.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::{ClerkErrorEntry, Error, ErrorKind};
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
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            let media = ct.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/json") || media.ends_with("+json")
        })
    }
}

#[derive(Deserialize)]
struct UserBody<'a> {
    #[serde(borrow, default)]
    public_metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    private_metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    unsafe_metadata: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ClerkErrorEntry>,
    #[serde(default)]
    clerk_trace_id: Option<String>,
}

/// The metadata field of a successful user response, as raw JSON text of an object.
pub fn user_metadata(response: &HttpResponse, kind: MetadataKind) -> Result<&RawValue, Error> {
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
    let user: UserBody<'_> = serde_json::from_str(&response.body)
        .map_err(|e| invalid(format!("the body is not a JSON user object ({e})")))?;
    let raw = match kind {
        MetadataKind::Public => user.public_metadata,
        MetadataKind::Private => user.private_metadata,
        MetadataKind::Unsafe => user.unsafe_metadata,
    }
    .ok_or_else(|| invalid(format!("the user has no {} field", kind.field())))?;
    if !raw.get().starts_with('{') {
        return Err(invalid(format!("{} is not an object", kind.field())));
    }
    Ok(raw)
}

/// Parses raw metadata (already checked to be an object) into a map of raw member values.
pub fn members(raw: &RawValue) -> Result<Map<String, Value>, Error> {
    serde_json::from_str(raw.get()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidResponse,
            format!("unexpected response from Clerk: metadata is not a JSON object ({e})"),
        )
    })
}

/// One top-level member of raw metadata, as raw JSON text, without parsing the others.
pub fn member<'a>(raw: &'a RawValue, key: &str) -> Result<Option<&'a RawValue>, Error> {
    let object: std::collections::HashMap<std::borrow::Cow<'a, str>, &'a RawValue> =
        serde_json::from_str(raw.get()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("unexpected response from Clerk: metadata is not a JSON object ({e})"),
            )
        })?;
    Ok(object.get(key).copied())
}

/// Turns a non-2xx response into an error with Clerk's code, trace id and `Retry-After`.
pub fn api_error(response: &HttpResponse) -> Error {
    let body: ErrorBody = if response.is_json() {
        serde_json::from_str(&response.body).unwrap_or_default()
    } else {
        ErrorBody::default()
    };
    let first = body.errors.first();
    let code = first
        .map(|entry| entry.code.clone())
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| format!("http_{}", response.status));
    let reason = match (response.status, code.as_str()) {
        // The texts of the module this package replaces, for the cases it named.
        (404, _) => "User not found".to_owned(),
        (429, _) => "Rate limit exceeded".to_owned(),
        (401, _) => format!("Clerk rejected CLERK_SECRET_KEY ({code})"),
        _ => match first {
            Some(entry) => entry
                .long_message
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| entry.message.clone()),
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
    error.clerk_trace_id = body.clerk_trace_id.or_else(|| response.cf_ray.clone());
    error.retry_after = response.retry_after.as_deref().and_then(parse_retry_after);
    error.errors = body.errors;
    error
}

/// `Retry-After` in seconds. Clerk sends whole seconds; a fraction rounds up, an HTTP date is
/// ignored (no clock to compare it with here), and a negative or absurd value is dropped.
pub fn parse_retry_after(raw: &str) -> Option<u32> {
    let seconds: f64 = raw.trim().parse().ok()?;
    if !seconds.is_finite() || !(0.0..=86_400.0).contains(&seconds) {
        return None;
    }
    Some(seconds.ceil() as u32)
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
        let public = user_metadata(&response, MetadataKind::Public).unwrap();
        assert_eq!(public.get(), r#"{"role":"admin","n":0,"f":false,"z":null}"#);
        assert_eq!(
            user_metadata(&response, MetadataKind::Private)
                .unwrap()
                .get(),
            "{}"
        );
        assert_eq!(
            user_metadata(&response, MetadataKind::Unsafe)
                .unwrap()
                .get(),
            r#"{"u":1}"#
        );
    }

    #[test]
    fn member_lookup_keeps_falsy_values_and_misses_absent_keys() {
        let response = json(200, USER);
        let public = user_metadata(&response, MetadataKind::Public).unwrap();
        assert_eq!(member(public, "n").unwrap().map(RawValue::get), Some("0"));
        assert_eq!(
            member(public, "f").unwrap().map(RawValue::get),
            Some("false")
        );
        assert_eq!(
            member(public, "z").unwrap().map(RawValue::get),
            Some("null")
        );
        assert_eq!(member(public, "missing").unwrap().map(RawValue::get), None);
        let escaped = json(200, r#"{"public_metadata":{"a\"b":1,"\u00e9":2}}"#);
        let public = user_metadata(&escaped, MetadataKind::Public).unwrap();
        assert_eq!(
            member(public, "a\"b").unwrap().map(RawValue::get),
            Some("1")
        );
        assert_eq!(member(public, "é").unwrap().map(RawValue::get), Some("2"));
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
        ] {
            let error = user_metadata(&response, MetadataKind::Public).unwrap_err();
            assert_eq!(error.code(), "invalid_response", "{}", response.body);
            assert_eq!(error.status, Some(200));
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
    }
}
