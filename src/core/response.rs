//! What came back: Clerk's user object on success, Clerk's error body otherwise.
//!
//! A non-2xx status is data here; this module is the one place that turns it into an [`Error`].
//! Metadata is kept as raw JSON slices of Clerk's body ([`RawValue`]): handed on untouched, key
//! order and number text survive, and the host parses it once with `JSON.parse`.

use serde_json::value::RawValue;
use serde_json::Value;

use super::cache::UserFields;
use super::error::{ClerkErrorEntry, Error, ErrorKind};
use super::pick::pick;
use super::retry_after;
use super::{Map, MetadataKind};

/// Responses larger than this are refused: a Clerk user object is a few kilobytes.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The parts of an HTTP response the core looks at, filled in by the transport.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    /// Cloudflare's ray id: Clerk's fallback trace id when the body has none.
    pub cf_ray: Option<String>,
    pub body: String,
    /// Requests sent to get this response (retries included), copied into any error.
    pub attempts: u32,
    /// The host's clock when the answer arrived, for `Retry-After` dates.
    pub received_at_ms: f64,
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

    fn invalid(&self, why: impl std::fmt::Display) -> Error {
        let mut error = Error::new(
            ErrorKind::InvalidResponse,
            format!(
                "unexpected response from Clerk (HTTP {}): {why}",
                self.status
            ),
        );
        error.status = Some(self.status);
        error.attempts = self.attempts;
        error
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
    json_answer(response)?;
    // The body's syntax is checked and its keys unescaped; the fields are kept as raw slices,
    // whose escapes and depth the host's JSON.parse reads. A key sent twice reads as JSON.parse
    // reads it: the last one wins.
    let kinds = [
        MetadataKind::Public,
        MetadataKind::Private,
        MetadataKind::Unsafe,
    ];
    let [public, private, unsafe_] =
        pick(&response.body, kinds.map(MetadataKind::field)).map_err(|error| {
            response.invalid(format_args!("the body is not a JSON user object ({error})"))
        })?;
    let object = |raw: Option<&RawValue>| {
        raw.map(RawValue::get)
            .filter(|text| text.starts_with('{'))
            .map(str::to_owned)
    };
    let fields = UserFields {
        public: object(public),
        private: object(private),
        unsafe_: object(unsafe_),
    };
    if fields.get(required).is_none() {
        return Err(response.invalid(format_args!("the user has no {} object", required.field())));
    }
    Ok(fields)
}

/// A successful answer with a JSON body, or the error it stands for.
fn json_answer(response: &HttpResponse) -> Result<(), Error> {
    if !response.is_success() {
        return Err(api_error(response));
    }
    if !response.is_json() {
        return Err(response.invalid(format_args!(
            "expected application/json, got {}",
            response
                .content_type
                .as_deref()
                .unwrap_or("no content type")
        )));
    }
    if response.body.trim().is_empty() {
        return Err(response.invalid("the body is empty"));
    }
    Ok(())
}

/// One page of `GET /v1/users`: the raw body, once it is checked to be a JSON array of users,
/// each with the id the next page's cursor is and the `updated_at` that orders its states. The
/// host's `JSON.parse` then reads it as sent.
pub fn user_list(response: &HttpResponse) -> Result<&str, Error> {
    json_answer(response)?;
    let invalid = |why: &dyn std::fmt::Display| {
        response.invalid(format_args!(
            "the body is not a JSON array of users ({why})"
        ))
    };
    let users: Vec<&RawValue> =
        serde_json::from_str(&response.body).map_err(|error| invalid(&error))?;
    for (index, user) in users.iter().enumerate() {
        let [id, updated_at] =
            pick(user.get(), ["id", "updated_at"]).map_err(|error| invalid(&error))?;
        let first = |raw: Option<&RawValue>| raw.and_then(|raw| raw.get().chars().next());
        let has_id = first(id) == Some('"');
        let has_time = first(updated_at).is_some_and(|c| c.is_ascii_digit());
        if !(has_id && has_time) {
            return Err(invalid(&format_args!(
                "user {index} has no string id or numeric updated_at"
            )));
        }
    }
    Ok(&response.body)
}

fn not_an_object(error: serde_json::Error) -> Error {
    Error::new(
        ErrorKind::InvalidResponse,
        format!("unexpected response from Clerk: metadata is not a JSON object ({error})"),
    )
}

/// Parses raw metadata (an object) into a map, to build a patch from its keys.
pub fn members(raw: &str) -> Result<Map, Error> {
    match serde_json::from_str(raw).map_err(not_an_object)? {
        Value::Object(object) => Ok(object),
        _ => Err(Error::new(
            ErrorKind::InvalidResponse,
            "unexpected response from Clerk: metadata is not a JSON object",
        )),
    }
}

/// One top-level member of raw metadata, as raw JSON text, without building the others.
/// A key sent twice is read as JSON.parse reads it: the last one wins.
pub fn member<'a>(raw: &'a str, key: &str) -> Result<Option<&'a str>, Error> {
    let [value] = pick(raw, [key]).map_err(not_an_object)?;
    Ok(value.map(RawValue::get))
}

/// Turns a non-2xx response into an error with Clerk's code, trace id and `Retry-After`.
pub fn api_error(response: &HttpResponse) -> Error {
    if response.status == 0 || (300..400).contains(&response.status) {
        return redirect(response);
    }
    let body = if response.is_json() {
        serde_json::from_str(&response.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let errors = error_entries(&body);
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
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let mut error = Error::new(ErrorKind::Api(code.into()), reason);
    error.status = Some(response.status);
    error.clerk_trace_id = text(body.get("clerk_trace_id"))
        .or_else(|| response.cf_ray.clone())
        .map(String::into_boxed_str);
    error.retry_after = response
        .retry_after
        .as_deref()
        .and_then(|raw| retry_after::seconds(raw, response.received_at_ms));
    error.errors = errors.into_boxed_slice();
    error.attempts = response.attempts;
    error
}

/// Clerk's `errors` entries, as far as they have the documented shape.
fn error_entries(body: &Value) -> Vec<ClerkErrorEntry> {
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let Some(entries) = body.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
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
}

/// A 3xx, or a browser's opaque redirect (status 0): refused, never followed.
pub fn redirect(response: &HttpResponse) -> Error {
    let status = if response.status == 0 {
        "a redirect".to_owned()
    } else {
        format!("HTTP {}", response.status)
    };
    let mut error = Error::new(
        ErrorKind::UnexpectedRedirect,
        format!(
            "Clerk's API URL answered with {status}; redirects are never followed, so nothing was sent on (check CLERK_API_URL)"
        ),
    );
    error.status = Some(response.status);
    error.attempts = response.attempts;
    error
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
    fn a_user_list_is_an_array_of_users_with_ids_and_times() {
        let page = r#"[{"id":"user_1","updated_at":1,"public_metadata":{}},{"id":"user_2","updated_at":2}]"#;
        assert_eq!(user_list(&json(200, page)).unwrap(), page);
        assert_eq!(user_list(&json(200, "[]")).unwrap(), "[]");
        for bad in [
            r#"{"data":[]}"#,
            r#"[{"updated_at":1}]"#,
            r#"[{"id":1,"updated_at":1}]"#,
            "[1]",
        ] {
            let error = user_list(&json(200, bad)).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidResponse, "{bad}");
        }
        let refused = user_list(&json(
            422,
            r#"{"errors":[{"code":"form_param_value_invalid","message":"bad"}]}"#,
        ))
        .unwrap_err();
        assert_eq!(refused.status, Some(422));
    }

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
    fn redirects_are_refused_with_their_status() {
        for status in [0, 301, 302, 303, 307, 308] {
            let error = api_error(&HttpResponse {
                status,
                ..HttpResponse::default()
            });
            assert_eq!(error.code(), "unexpected_redirect");
            assert_eq!(error.status, Some(status));
        }
    }

    #[test]
    fn duplicate_keys_read_as_json_parse_does() {
        assert_eq!(member(r#"{"a":1,"a":2}"#, "a").unwrap(), Some("2"));
        let body = r#"{"public_metadata":{"stale":1},"public_metadata":{"a":1}}"#;
        let fields = user_fields(&json(200, body), MetadataKind::Public).unwrap();
        assert_eq!(fields.get(MetadataKind::Public), Some(r#"{"a":1}"#));
    }

    #[test]
    fn deep_nesting_is_handed_on_without_recursion() {
        // Kept as a raw slice, a deeply nested member costs no stack here; the body limit
        // bounds it, and the host's JSON.parse reads it.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!(r#"{{"x":{deep},"public_metadata":{{"a":{deep}}}}}"#);
        let fields = user_fields(&json(200, &body), MetadataKind::Public).unwrap();
        assert_eq!(
            fields.get(MetadataKind::Public).map(str::len),
            Some(200_006)
        );
    }

    #[test]
    fn escapes_are_handed_on_untouched_for_json_parse() {
        // The host's JSON.parse reads the slice exactly as it would read Clerk's whole body,
        // lone surrogates included.
        for metadata in [r#"{"s":"\ud83d\ude00"}"#, r#"{"a":"\udc00x"}"#] {
            let body = format!(r#"{{"first_name":"\ud800","public_metadata":{metadata}}}"#);
            let fields = user_fields(&json(200, &body), MetadataKind::Public).unwrap();
            assert_eq!(fields.get(MetadataKind::Public), Some(metadata));
        }
    }
}
