//! A failure as the host sees it: a `ClerkMetadataError` (the class js/client.ts exports, given
//! to each client) carrying `code`, `operation`, `status`, `clerkTraceId`, `retryAfter`,
//! `attempts`, `outcomeUnknown` and Clerk's `errors`.

use js_sys::{Array, Function, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::error::ClerkErrorEntry;
use crate::core::{Error, Operation};

/// The fields, crossing the boundary with serde-wasm-bindgen (`None` becomes `undefined`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    code: &'a str,
    operation: Option<&'a str>,
    status: Option<u16>,
    clerk_trace_id: Option<&'a str>,
    retry_after: Option<u64>,
    attempts: u32,
    outcome_unknown: bool,
}

/// One of Clerk's entries, camelCased as `@clerk/backend` shows them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    long_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<&'a serde_json::Value>,
}

impl<'a> From<&'a ClerkErrorEntry> for Entry<'a> {
    fn from(entry: &'a ClerkErrorEntry) -> Entry<'a> {
        Entry {
            code: &entry.code,
            message: &entry.message,
            long_message: entry.long_message.as_deref(),
            meta: entry.meta.as_ref(),
        }
    }
}

/// The JS error for `error`, met by `operation` (`None`: building a client): an instance of
/// the host's error class (`ClerkMetadataError`, handed to each client), built with its message
/// and its fields.
pub fn to_js(error: &Error, operation: Option<Operation>, class: &Function) -> JsValue {
    let message = match operation {
        Some(operation) => error.message(operation),
        None => format!("Invalid client options: {}", error.reason),
    };
    let fields = Fields {
        code: error.code(),
        operation: operation.map(Operation::name),
        status: error.status,
        clerk_trace_id: error.clerk_trace_id.as_deref(),
        retry_after: error.retry_after,
        attempts: error.attempts,
        outcome_unknown: error.outcome_unknown,
    };
    let fields = serde_wasm_bindgen::to_value(&fields).unwrap_or_else(|_| Object::new().into());
    // Clerk's entries go through the host's JSON.parse: `meta` is free-form, and a `__proto__`
    // key must land as an own property, never reach a prototype.
    let entries: Vec<Entry> = error.errors.iter().map(Entry::from).collect();
    let errors = serde_json::to_string(&entries)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or_else(|| Array::new().into());
    let _ = Reflect::set(&fields, &"errors".into(), &errors);
    Reflect::construct(class, &Array::of2(&message.as_str().into(), &fields))
        .unwrap_or_else(|_| js_sys::Error::new(&message).into())
}
