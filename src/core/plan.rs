//! The request each operation sends: method, path and body, decided without any I/O.
//!
//! Bodies follow `UpdateUserMetadata` in Clerk's OpenAPI (2026-05-12): an object whose only
//! members are `public_metadata`, `private_metadata` and `unsafe_metadata`, each an object.

use super::error::{number_text, Error};
use super::response::MAX_RESPONSE_BYTES;
use serde_json::Value;

use super::validate;
use super::Map;
use super::MetadataKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Patch,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }

    /// Writes share Clerk's per-user limit of 10 requests per 10 seconds.
    pub fn is_write(self) -> bool {
        !matches!(self, Method::Get)
    }
}

/// One HTTP request, ready for the transport.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestPlan {
    pub method: Method,
    /// Starts with `/v1/users/`; the user id is validated, so it can never escape this path.
    pub path: String,
    pub body: Option<String>,
    /// The validated user id, for the per-user rate limit.
    pub user_id: String,
    /// The longest answer read: a longer one is cut off and refused.
    pub max_response_bytes: usize,
}

/// `GET /v1/users/{id}`: the whole user, from which one metadata field is read.
pub fn get_user(user_id: &str) -> Result<RequestPlan, Error> {
    let user_id = validate::user_id(user_id)?;
    Ok(RequestPlan {
        method: Method::Get,
        path: format!("/v1/users/{user_id}"),
        body: None,
        user_id: user_id.to_owned(),
        max_response_bytes: MAX_RESPONSE_BYTES,
    })
}

/// Most users one page of `GET /v1/users` may ask for (the spec's `limit` maximum).
pub const MAX_LIST_LIMIT: u32 = 500;

/// Room for one user of a listed page: three metadata fields at Clerk's 8 KB each, and the
/// user's addresses, accounts and the rest (a page of 500 may read up to 32 MB).
const MAX_LISTED_USER_BYTES: usize = 64 * 1024;

/// `GET /v1/users?limit=…&order_by=created_at[&starting_after=…]`: one page of Clerk's user
/// list, oldest first, after the user `starting_after` (the spec's cursor pagination: a page
/// costs the same however deep). The plan's user id is empty: a read takes no per-user slot.
/// `limit` is `None` when it was not a number.
pub fn list_users(limit: Option<f64>, starting_after: Option<&str>) -> Result<RequestPlan, Error> {
    let limit = match limit {
        Some(n) if n.fract() == 0.0 && (1.0..=f64::from(MAX_LIST_LIMIT)).contains(&n) => n as u32,
        _ => {
            return Err(Error::invalid_argument(format!(
                "limit must be an integer from 1 to {MAX_LIST_LIMIT}, got {}",
                limit.map_or_else(|| "something else".to_owned(), number_text)
            )))
        }
    };
    let mut path = format!("/v1/users?limit={limit}&order_by=created_at");
    if let Some(cursor) = starting_after {
        // A validated id is letters, digits, '_' and '-': nothing to escape in a query.
        let cursor = validate::user_id_as(cursor, "startingAfter")?;
        path.push_str("&starting_after=");
        path.push_str(cursor);
    }
    Ok(RequestPlan {
        method: Method::Get,
        path,
        body: None,
        user_id: String::new(),
        // Each listed user may carry its three metadata fields at Clerk's size limit and more.
        max_response_bytes: MAX_RESPONSE_BYTES.max(limit as usize * MAX_LISTED_USER_BYTES),
    })
}

/// `PATCH /v1/users/{id}/metadata`: Clerk deep-merges `patch` into the stored field.
pub fn merge(
    user_id: &str,
    kind: MetadataKind,
    patch: Map,
    max_bytes: usize,
) -> Result<RequestPlan, Error> {
    metadata_write(Method::Patch, user_id, kind, patch, max_bytes, "metadata")
}

/// `PUT /v1/users/{id}/metadata`: Clerk replaces the field with `metadata` in full.
pub fn replace(
    user_id: &str,
    kind: MetadataKind,
    metadata: Map,
    max_bytes: usize,
) -> Result<RequestPlan, Error> {
    metadata_write(Method::Put, user_id, kind, metadata, max_bytes, "metadata")
}

/// Builds a write, refusing a field larger than Clerk's limit before anything is sent.
pub fn metadata_write(
    method: Method,
    user_id: &str,
    kind: MetadataKind,
    metadata: Map,
    max_bytes: usize,
    what: &str,
) -> Result<RequestPlan, Error> {
    let user_id = validate::user_id(user_id)?;
    // Serialized once: the length is checked on exactly the bytes that are sent.
    let field = Value::Object(metadata).to_string();
    validate::metadata_size(field.len(), max_bytes, what)?;
    let name = kind.field();
    let mut body = String::with_capacity(field.len() + name.len() + 5);
    body.push_str("{\"");
    body.push_str(name);
    body.push_str("\":");
    body.push_str(&field);
    body.push('}');
    Ok(RequestPlan {
        method,
        path: format!("/v1/users/{user_id}/metadata"),
        body: Some(body),
        user_id: user_id.to_owned(),
        max_response_bytes: MAX_RESPONSE_BYTES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_page_may_be_as_long_as_its_users_can_be() {
        let one = get_user("user_1").unwrap().max_response_bytes;
        assert_eq!(list_users(Some(1.0), None).unwrap().max_response_bytes, one);
        assert_eq!(
            list_users(Some(500.0), None).unwrap().max_response_bytes,
            500 * MAX_LISTED_USER_BYTES
        );
    }
    use crate::core::test_support::object;
    use serde_json::json;

    #[test]
    fn list_conforms_to_get_user_list() {
        let first = list_users(Some(100.0), None).unwrap();
        assert_eq!(first.method, Method::Get);
        assert_eq!(first.path, "/v1/users?limit=100&order_by=created_at");
        assert_eq!(first.user_id, "");
        let next = list_users(Some(500.0), Some("user_9")).unwrap();
        assert_eq!(
            next.path,
            "/v1/users?limit=500&order_by=created_at&starting_after=user_9"
        );
        for limit in [Some(0.0), Some(501.0), Some(2.5), Some(f64::NAN), None] {
            let error = list_users(limit, None).unwrap_err();
            assert!(error.reason.contains("from 1 to 500"), "{}", error.reason);
        }
        let error = list_users(Some(10.0), Some("user_1&limit=9")).unwrap_err();
        assert!(
            error
                .reason
                .starts_with("startingAfter \"user_1&limit=9\" contains \"&\""),
            "{}",
            error.reason
        );
    }

    #[test]
    fn get_reads_the_user() {
        let plan = get_user("user_1").unwrap();
        assert_eq!(plan.method, Method::Get);
        assert_eq!(plan.path, "/v1/users/user_1");
        assert_eq!(plan.body, None);
        assert!(!plan.method.is_write());
    }

    #[test]
    fn writes_conform_to_update_user_metadata() {
        let plan = merge(
            "user_1",
            MetadataKind::Public,
            object(json!({"role": "admin"})),
            8192,
        )
        .unwrap();
        assert_eq!(plan.method, Method::Patch);
        assert_eq!(plan.path, "/v1/users/user_1/metadata");
        assert_eq!(
            plan.body.as_deref(),
            Some(r#"{"public_metadata":{"role":"admin"}}"#)
        );
        let plan = replace("user_1", MetadataKind::Private, Map::new(), 8192).unwrap();
        assert_eq!(plan.method, Method::Put);
        assert_eq!(plan.body.as_deref(), Some(r#"{"private_metadata":{}}"#));
        assert!(plan.method.is_write());
    }

    #[test]
    fn oversized_metadata_is_refused_before_sending() {
        let big = object(json!({"blob": "x".repeat(9000)}));
        let error = replace("user_1", MetadataKind::Public, big, 8192).unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(error.reason.contains("9011 bytes"), "{}", error.reason);
        assert_eq!(error.attempts, 0);
    }

    #[test]
    fn size_counts_utf8_bytes_of_the_field_alone() {
        // {"k":"é"} is 10 bytes in UTF-8.
        let metadata = object(json!({"k": "é"}));
        assert!(replace("u", MetadataKind::Public, metadata.clone(), 10).is_ok());
        assert!(replace("u", MetadataKind::Public, metadata, 9).is_err());
    }

    #[test]
    fn bad_user_ids_never_produce_a_plan() {
        assert!(get_user("../users").is_err());
        assert!(merge("a/b", MetadataKind::Public, Map::new(), 8192).is_err());
    }
}
