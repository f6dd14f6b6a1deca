//! The wasm build over the real fetch transport, against the local Clerk-compatible server.
//!
//! Run by scripts/test-wasm.sh, which starts `scripts/local-server.mjs` with
//! tests/fixtures/wasm-users.json and passes its URL in at compile time as
//! `CLERK_WASM_TEST_API_URL` (the same binary then runs under Node and headless Chromium, where
//! no environment variables exist). Without it these tests fail; they never skip.
#![cfg(target_arch = "wasm32")]

use clerk_metadata_wasm::WasmClient;
use js_sys::{Array, Function, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

const SECRET_KEY: &str = "sk_test_local_clerk_metadata_wasm_000000000000";

fn api_url() -> &'static str {
    match option_env!("CLERK_WASM_TEST_API_URL") {
        Some(url) => url,
        None => panic!("CLERK_WASM_TEST_API_URL is not set: run scripts/test-wasm.sh, which starts the local server"),
    }
}

fn options(extra: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    let set = |key: &str, value: &JsValue| {
        Reflect::set(&object, &key.into(), value).expect("set option");
    };
    set("secretKey", &SECRET_KEY.into());
    set("apiUrl", &api_url().into());
    set("rateLimit", &false.into());
    // The same binary runs in headless Chromium, a browser-like host.
    set("dangerouslyAllowBrowser", &true.into());
    for (key, value) in extra {
        set(key, value);
    }
    object.into()
}

/// A stand-in for the package's `ClerkMetadataError` (js/client.ts): constructed with the
/// message and the fields, as the wasm constructs it.
fn error_class() -> js_sys::Function {
    js_sys::Function::new_with_args(
        "message, fields",
        "return Object.assign(new Error(message), fields, { name: 'ClerkMetadataError' });",
    )
}

fn client(extra: &[(&str, JsValue)]) -> WasmClient {
    WasmClient::new(options(extra), JsValue::UNDEFINED, error_class()).expect("client")
}

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

/// Compares JSON by value: key order is not part of metadata (Clerk does not keep it either).
fn assert_json(value: &JsValue, expected: &str) {
    let actual: serde_json::Value = serde_json::from_str(&stringify(value)).expect("actual JSON");
    let expected: serde_json::Value = serde_json::from_str(expected).expect("expected JSON");
    assert_eq!(actual, expected);
}

fn stringify(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "undefined".into())
}

async fn ok(promise: js_sys::Promise) -> JsValue {
    match JsFuture::from(promise).await {
        Ok(value) => value,
        Err(error) => panic!("unexpected rejection: {}", field(&error, "message")),
    }
}

async fn rejected(promise: js_sys::Promise) -> JsValue {
    match JsFuture::from(promise).await {
        Ok(value) => panic!("expected a rejection, got {}", stringify(&value)),
        Err(error) => error,
    }
}

fn field(value: &JsValue, name: &str) -> String {
    let member = Reflect::get(value, &name.into()).unwrap_or(JsValue::UNDEFINED);
    member.as_string().unwrap_or_else(|| stringify(&member))
}

#[wasm_bindgen_test]
async fn get_reads_the_seeded_metadata() {
    let metadata = ok(client(&[]).get("public", "user_wasm_read".into(), JsValue::UNDEFINED)).await;
    assert_json(
        &metadata,
        r#"{"role":"store_owner","storeId":"store_1","verified":false,"count":0}"#,
    );
}

#[wasm_bindgen_test]
async fn get_key_and_has_key_keep_falsy_values() {
    let c = client(&[]);
    let user = || JsValue::from("user_wasm_read");
    let verified = ok(c.get_key("public", user(), "verified".into(), JsValue::UNDEFINED)).await;
    assert_eq!(verified, JsValue::FALSE);
    let count = ok(c.get_key("public", user(), "count".into(), JsValue::UNDEFINED)).await;
    assert_eq!(count.as_f64(), Some(0.0));
    let missing = ok(c.get_key("public", user(), "missing".into(), JsValue::UNDEFINED)).await;
    assert!(missing.is_undefined());
    assert_eq!(
        ok(c.has_key("public", user(), "verified".into(), JsValue::UNDEFINED)).await,
        JsValue::TRUE
    );
    assert_eq!(
        ok(c.has_key("public", user(), "missing".into(), JsValue::UNDEFINED)).await,
        JsValue::FALSE
    );
}

#[wasm_bindgen_test]
async fn writes_replace_merge_set_remove_and_clear() {
    let c = client(&[]);
    let user = || JsValue::from("user_wasm_write");
    let read = || c.get("public", user(), JsValue::UNDEFINED);

    ok(c.replace(
        "public",
        user(),
        json(r#"{"role":"customer","prefs":{"theme":"dark","lang":"en"}}"#),
        JsValue::UNDEFINED,
    ))
    .await;
    assert_json(
        &ok(read()).await,
        r#"{"role":"customer","prefs":{"theme":"dark","lang":"en"}}"#,
    );

    ok(c.merge(
        "public",
        user(),
        json(r#"{"prefs":{"lang":"fr"},"tags":["a"]}"#),
        JsValue::UNDEFINED,
    ))
    .await;
    assert_json(
        &ok(read()).await,
        r#"{"role":"customer","prefs":{"theme":"dark","lang":"fr"},"tags":["a"]}"#,
    );

    // An object value replaces the stored object: no "theme" left behind.
    ok(c.set_key(
        "public",
        user(),
        "prefs".into(),
        json(r#"{"lang":"de"}"#),
        JsValue::UNDEFINED,
    ))
    .await;
    assert_json(
        &ok(read()).await,
        r#"{"role":"customer","prefs":{"lang":"de"},"tags":["a"]}"#,
    );

    ok(c.remove_keys(
        "public",
        user(),
        json(r#"["tags","absent"]"#),
        JsValue::UNDEFINED,
    ))
    .await;
    assert_json(
        &ok(read()).await,
        r#"{"role":"customer","prefs":{"lang":"de"}}"#,
    );

    ok(c.clear("public", user(), JsValue::UNDEFINED)).await;
    assert_json(&ok(read()).await, "{}");
}

#[wasm_bindgen_test]
async fn private_metadata_goes_through_the_same_path() {
    let c = client(&[]);
    let user = || JsValue::from("user_wasm_private");
    ok(c.merge(
        "private",
        user(),
        json(r#"{"stripeId":"cus_1"}"#),
        JsValue::UNDEFINED,
    ))
    .await;
    assert_json(
        &ok(c.get("private", user(), JsValue::UNDEFINED)).await,
        r#"{"stripeId":"cus_1"}"#,
    );
    assert_json(&ok(c.get("public", user(), JsValue::UNDEFINED)).await, "{}");
}

#[wasm_bindgen_test]
async fn unknown_user_rejects_with_clerks_fields() {
    let error =
        rejected(client(&[]).get("public", "user_missing".into(), JsValue::UNDEFINED)).await;
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(
        field(&error, "message"),
        "Failed to get user metadata: User not found"
    );
    assert_eq!(field(&error, "code"), "resource_not_found");
    assert_eq!(field(&error, "status"), "404");
    assert_eq!(field(&error, "operation"), "get");
    assert!(!field(&error, "clerkTraceId").is_empty());
    let errors = Reflect::get(&error, &"errors".into()).expect("errors");
    assert_eq!(Array::from(&errors).length(), 1);
}

#[wasm_bindgen_test]
async fn missing_key_is_refused_before_any_request() {
    let calls = Array::new();
    let counting_fetch = Function::new_with_args(
        "calls",
        "return () => { calls.push(1); throw new Error('sent'); }",
    )
    .call1(&JsValue::UNDEFINED, &calls)
    .expect("fetch stub");
    let c = client(&[("secretKey", JsValue::UNDEFINED), ("fetch", counting_fetch)]);
    let error = rejected(c.replace(
        "public",
        "user_wasm_write".into(),
        json("{}"),
        JsValue::UNDEFINED,
    ))
    .await;
    assert_eq!(
        field(&error, "message"),
        "Failed to update user metadata: Missing CLERK_SECRET_KEY"
    );
    assert_eq!(field(&error, "code"), "missing_secret_key");
    assert_eq!(calls.length(), 0);
}

#[wasm_bindgen_test]
async fn bad_input_is_refused_with_a_named_reason() {
    let c = client(&[]);
    let error = rejected(c.get("public", "user_1/../x".into(), JsValue::UNDEFINED)).await;
    assert_eq!(field(&error, "code"), "invalid_argument");
    assert!(
        field(&error, "message").contains("userId"),
        "{}",
        field(&error, "message")
    );

    let metadata = json(r#"{"a":{}}"#);
    let inner = Reflect::get(&metadata, &"a".into()).expect("a");
    Reflect::set(&inner, &"self".into(), &metadata).expect("cycle");
    let error = rejected(c.merge(
        "public",
        "user_wasm_write".into(),
        metadata,
        JsValue::UNDEFINED,
    ))
    .await;
    assert!(
        field(&error, "message").contains("metadata.a.self"),
        "{}",
        field(&error, "message")
    );

    let error = rejected(c.set_key(
        "public",
        "user_wasm_write".into(),
        "n".into(),
        JsValue::from_f64(f64::NAN),
        JsValue::UNDEFINED,
    ))
    .await;
    assert!(
        field(&error, "message").contains("NaN"),
        "{}",
        field(&error, "message")
    );
}

#[wasm_bindgen_test]
async fn an_injected_fetch_is_used() {
    let calls = Array::new();
    let wrapping_fetch = Function::new_with_args(
        "calls",
        "return (url, init) => { calls.push(init.method + ' ' + url); return globalThis.fetch(url, init); }",
    )
    .call1(&JsValue::UNDEFINED, &calls)
    .expect("fetch wrapper");
    let c = client(&[("fetch", wrapping_fetch)]);
    ok(c.get("public", "user_wasm_read".into(), JsValue::UNDEFINED)).await;
    assert_eq!(calls.length(), 1);
    assert_eq!(
        calls.get(0).as_string().as_deref(),
        Some(format!("GET {}/v1/users/user_wasm_read", api_url()).as_str())
    );
}

#[wasm_bindgen_test]
async fn a_refused_connection_is_a_network_error_and_the_module_still_works() {
    let c = client(&[
        ("apiUrl", "http://127.0.0.1:1".into()),
        ("maxRetries", 0.into()),
    ]);
    let error = rejected(c.get("public", "user_wasm_read".into(), JsValue::UNDEFINED)).await;
    assert_eq!(field(&error, "code"), "network_error");
    assert_eq!(field(&error, "attempts"), "1");
    // The instance is not poisoned: the next call on a good client works.
    ok(client(&[]).get("public", "user_wasm_read".into(), JsValue::UNDEFINED)).await;
}

#[wasm_bindgen_test]
async fn a_browser_like_host_needs_the_explicit_opt_in() {
    let in_browser = Reflect::has(&js_sys::global(), &"window".into()).unwrap_or(false);
    let c = client(&[("dangerouslyAllowBrowser", false.into())]);
    let result = JsFuture::from(c.get("public", "user_wasm_read".into(), JsValue::UNDEFINED)).await;
    match result {
        Err(error) if in_browser => assert_eq!(field(&error, "code"), "browser_not_allowed"),
        Ok(_) if !in_browser => {}
        Ok(_) => panic!("a page must not use a secret key without dangerouslyAllowBrowser"),
        Err(error) => panic!(
            "a server host must not be refused: {}",
            field(&error, "message")
        ),
    }
}
