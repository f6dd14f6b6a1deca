//! the floor of the package's design: a Clerk metadata client with nothing but the mandated parts.
//!
//! Per request: one `AbortController`, one `setTimeout` that aborts it (cleared when done), the
//! host's global `fetch` awaited through `JsFuture`, `ok` checked, the body read with
//! `arrayBuffer()` and copied into wasm memory, parsed by serde_json into a borrowed `RawValue`,
//! and that slice handed to the host's `JSON.parse`. No validation, retry, limiter or cache.
//! Measured by bench/floor.mjs beside the real package.

use std::rc::Rc;

use js_sys::{Error, Function, JsString, Promise, Reflect, Uint8Array, JSON};
use serde::Deserialize;
use serde_json::value::RawValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortController, Headers, RequestInit, Response};

/// The package's allocator (the root src/lib.rs), so the floor is built as the package is.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen]
extern "C" {
    /// The host's global `fetch` (never `window.fetch`).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;

    /// `setTimeout(callback, ms, argument)`: the callback is called with `argument`.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64, argument: &AbortController) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// The same value as the package's, so every contestant sends the same request.
const USER_AGENT: &str = "clerk-metadata-wasm/0.1.0";
const API_VERSION: &str = "2026-05-12";

fn default_timeout() -> f64 {
    10_000.0
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    secret_key: String,
    api_url: String,
    #[serde(default = "default_timeout")]
    timeout_ms: f64,
}

/// The part of Clerk's user object that is read: the rest is skipped by serde.
#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    public_metadata: &'a RawValue,
}

struct Inner {
    api_url: String,
    timeout_ms: f64,
    /// Request headers without and with a body, made once: `fetch` copies them.
    headers: Headers,
    headers_with_body: Headers,
    /// `Function.prototype.call.bind(AbortController.prototype.abort)`: `f(controller)` aborts
    /// `controller`, so the timer needs no closure made per request.
    abort: Function,
}

#[wasm_bindgen]
pub struct FloorClient {
    inner: Rc<Inner>,
}

fn headers(secret_key: &str, with_body: bool) -> Result<Headers, JsValue> {
    let headers = Headers::new()?;
    headers.set("authorization", &format!("Bearer {secret_key}"))?;
    headers.set("clerk-api-version", API_VERSION)?;
    headers.set("user-agent", USER_AGENT)?;
    headers.set("accept", "application/json")?;
    if with_body {
        headers.set("content-type", "application/json")?;
    }
    Ok(headers)
}

fn error(message: &str) -> JsValue {
    Error::new(message).into()
}

/// `Function.prototype.call.bind(AbortController.prototype.abort)`.
fn abort_caller() -> Result<Function, JsValue> {
    let class = Reflect::get(&js_sys::global(), &"AbortController".into())?;
    let prototype = Reflect::get(&class, &"prototype".into())?;
    let abort: Function = Reflect::get(&prototype, &"abort".into())?.dyn_into()?;
    let call: Function = Reflect::get(&abort, &"call".into())?.dyn_into()?;
    Ok(call.bind0(&abort))
}

#[wasm_bindgen]
impl FloorClient {
    /// `new FloorClient({ secretKey, apiUrl, timeoutMs? })`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<FloorClient, JsValue> {
        let options: Options = serde_wasm_bindgen::from_value(options)?;
        let inner = Inner {
            api_url: options.api_url.trim_end_matches('/').to_owned(),
            timeout_ms: options.timeout_ms,
            headers: headers(&options.secret_key, false)?,
            headers_with_body: headers(&options.secret_key, true)?,
            abort: abort_caller()?,
        };
        Ok(FloorClient {
            inner: Rc::new(inner),
        })
    }

    /// `GET /v1/users/{id}`, resolving with the user's public metadata.
    pub fn get(&self, user_id: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let url = format!("{}/v1/users/{user_id}", inner.api_url);
            exchange(&inner, &url, None).await
        })
    }

    /// `PATCH /v1/users/{id}/metadata` with `{"public_metadata": metadata}`, resolving with the
    /// public metadata Clerk answers with.
    pub fn merge(&self, user_id: String, metadata: JsValue) -> Promise {
        let json = match JSON::stringify(&metadata) {
            Ok(json) => json,
            Err(thrown) => return Promise::reject(&thrown),
        };
        // Built in the host: the floor copies no request body through wasm memory.
        let body = JsString::from("{\"public_metadata\":")
            .concat(&json)
            .concat(&"}".into());
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let url = format!("{}/v1/users/{user_id}/metadata", inner.api_url);
            exchange(&inner, &url, Some(body)).await
        })
    }
}

/// One request within its timeout: the controller and timer around [`send`].
async fn exchange(inner: &Inner, url: &str, body: Option<JsString>) -> Result<JsValue, JsValue> {
    let controller = AbortController::new()?;
    let init = RequestInit::new();
    match &body {
        Some(body) => {
            init.set_method("PATCH");
            init.set_headers(&inner.headers_with_body);
            init.set_body(body);
        }
        None => init.set_headers(&inner.headers),
    }
    init.set_signal(Some(&controller.signal()));
    let timer = set_timeout(&inner.abort, inner.timeout_ms, &controller);
    let result = send(url, &init).await;
    clear_timeout(&timer);
    result
}

async fn send(url: &str, init: &RequestInit) -> Result<JsValue, JsValue> {
    let response: Response = JsFuture::from(global_fetch(url, init)?)
        .await?
        .unchecked_into();
    if !response.ok() {
        return Err(error(&format!("HTTP {}", response.status())));
    }
    let buffer = JsFuture::from(response.array_buffer()?).await?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    let user: User = serde_json::from_slice(&bytes)
        .map_err(|parse| error(&format!("unexpected response from Clerk: {parse}")))?;
    JSON::parse(user.public_metadata.get())
}
