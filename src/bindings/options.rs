//! The options object: one TypeScript definition (below, emitted into the wasm's `.d.ts` and
//! used by js/client.ts), one Rust definition ([`RawOptions`], read with serde-wasm-bindgen).

use js_sys::{Array, Function, Object, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::convert::describe;
use crate::core::options::RawOptions;
use crate::core::Error;

#[wasm_bindgen(typescript_custom_section)]
const OPTIONS_TS: &str = r#"
/** A rate-limit window: at most `requests` per `windowMs`. */
export interface RateLimitWindow {
  requests: number;
  windowMs: number;
}

/**
 * A rate limiter shared beyond one client (a Convex component, Redis). `acquire` resolves when
 * the request may be sent: it must take a per-user write slot when `write` is true, and an
 * instance slot for every request. It may resolve with a function, called once when the answer
 * is in (the slot then frees a window later). Rejecting fails the call with `network_error`.
 */
export interface ClerkRateLimiter {
  acquire(request: { userId: string; write: boolean; signal?: AbortSignal }): Promise<void | (() => void)>;
}

/** Options of {@link createClerkMetadataClient}. All optional; `undefined` means the default. */
export interface ClerkMetadataClientOptions {
  /** Clerk secret key (`sk_test_…` / `sk_live_…`); surrounding whitespace is trimmed. Default: `CLERK_SECRET_KEY`. */
  secretKey?: string | undefined;
  /** Backend API origin (a trailing `/v1` is dropped). Default: `CLERK_API_URL`, else `https://api.clerk.com`. */
  apiUrl?: string | undefined;
  /** The fetch to use. Default: the global `fetch`, looked up at each call. */
  fetch?: ((input: string, init: RequestInit) => Promise<Response>) | undefined;
  /** Per-request timeout in ms (default 10 000). */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt for 429, 5xx, network errors and read timeouts (default 2; 0 disables). */
  maxRetries?: number | undefined;
  /** Upper bound for a whole operation, requests in flight, retries and waits included, in ms (default 60 000). */
  deadlineMs?: number | undefined;
  /** A 429 (or 503) whose `Retry-After` is longer than this is returned at once instead of waited for (default 15 000 ms). */
  maxRetryAfterMs?: number | undefined;
  /** First backoff ceiling in ms, doubled per retry, full jitter (default 200). */
  retryBaseDelayMs?: number | undefined;
  /**
   * Send a write again when its outcome is unknown (it timed out, or its connection dropped after
   * the body was sent). Off by default: the call fails with `outcomeUnknown: true`. When on, the
   * retry waits `writeSettleMs` first, so the first request cannot land after it.
   */
  retryUnknownWrites?: boolean | undefined;
  /**
   * How long after a write of unknown outcome was abandoned (its connection closed) it is
   * assumed unable to land; this client's next write to that user waits until then (default 10 000).
   */
  writeSettleMs?: number | undefined;
  /**
   * Allow a secret key where a `window` or `document` global exists. Off by default: in a page,
   * any script could read the key. Only for server code in such hosts (tests under jsdom, Electron's main process).
   */
  dangerouslyAllowBrowser?: boolean | undefined;
  /**
   * Opt-in read cache: reads within `ttlMs` (default 60 000) send no request; every write
   * refreshes the user from Clerk's answer; a failed write forgets the user. At most `maxUsers`
   * users (default 1000). Off by default. Concurrent reads of one user always share one request.
   */
  cache?: boolean | { ttlMs?: number | undefined; maxUsers?: number | undefined } | undefined;
  /** Refuse metadata whose JSON is larger than this many bytes before sending (default 8192, Clerk's limit). */
  maxMetadataBytes?: number | undefined;
  /**
   * Client-side rate limiting that queues requests to stay within Clerk's limits (default: on,
   * 10 writes / 10 s per user and 100 or 1000 requests / 10 s per instance). `false` turns it off.
   */
  rateLimit?:
    | boolean
    | {
        userWrites?: boolean | RateLimitWindow | undefined;
        instance?: boolean | RateLimitWindow | undefined;
      }
    | undefined;
  /** A limiter shared with other processes, used instead of the built-in one (see {@link ClerkRateLimiter}). */
  limiter?: ClerkRateLimiter | undefined;
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(value: &JsValue) -> Result<Array, JsValue>;
}

/// The options, with the two members only the host can hold.
pub struct HostOptions {
    pub raw: RawOptions,
    pub fetch: Option<Function>,
    pub limiter: Option<Object>,
}

/// Nested option objects go no deeper than `rateLimit.userWrites.requests`.
const MAX_OPTION_DEPTH: usize = 3;

/// `CLERK_SECRET_KEY` and `CLERK_API_URL`, as the host read them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Environment {
    secret_key: Option<String>,
    api_url: Option<String>,
}

/// The options, with the environment filling in what they leave out.
pub fn read(options: &JsValue, environment: &JsValue) -> Result<HostOptions, Error> {
    let environment: Environment =
        serde_wasm_bindgen::from_value(environment.clone()).unwrap_or_default();
    let mut host = read_options(options)?;
    host.raw.secret_key = host.raw.secret_key.or(environment.secret_key);
    host.raw.api_url = host.raw.api_url.or(environment.api_url);
    Ok(host)
}

fn read_options(options: &JsValue) -> Result<HostOptions, Error> {
    if options.is_undefined() {
        return Ok(HostOptions {
            raw: RawOptions::default(),
            fetch: None,
            limiter: None,
        });
    }
    if !options.is_object() || options.is_function() {
        return Err(Error::invalid_argument(format!(
            "options must be an object, got {}",
            describe(options)
        )));
    }
    let plain = snapshot(options, "options", 0)?;
    let fetch = match Reflect::get(&plain, &"fetch".into()).unwrap_or_default() {
        value if value.is_undefined() || value.is_null() => None,
        value => Some(value.dyn_into::<Function>().map_err(|value| {
            Error::invalid_argument(format!(
                "options.fetch must be a function, got {}",
                describe(&value)
            ))
        })?),
    };
    let limiter = match Reflect::get(&plain, &"limiter".into()).unwrap_or_default() {
        value if value.is_undefined() || value.is_null() => None,
        value if Reflect::get(&value, &"acquire".into()).is_ok_and(|a| a.is_function()) => {
            Some(value.unchecked_into::<Object>())
        }
        value => {
            return Err(Error::invalid_argument(format!(
                "options.limiter must be an object with an acquire function, got {}",
                describe(&value)
            )))
        }
    };
    let raw = serde_wasm_bindgen::from_value(plain.clone()).map_err(|error| {
        Error::invalid_argument(format!(
            "options.{}: {}",
            culprit(&plain),
            without_strings(&error.to_string())
        ))
    })?;
    Ok(HostOptions {
        raw,
        fetch,
        limiter,
    })
}

/// The member of `plain` that fails to deserialize on its own, found by trying each one alone
/// (only when the whole object failed, so it costs nothing otherwise).
fn culprit(plain: &JsValue) -> String {
    let keys = object_keys(plain).unwrap_or_default();
    keys.iter()
        .find(|key| {
            let alone = Object::new();
            let _ = Reflect::set(&alone, key, &Reflect::get(plain, key).unwrap_or_default());
            serde_wasm_bindgen::from_value::<RawOptions>(alone.into()).is_err()
        })
        .and_then(|key| key.as_string())
        .unwrap_or_default()
}

/// A copy of the options' own data, read once with every throw caught (a getter or a Proxy
/// trap may throw, and a throw must not unwind through wasm). Plain nested objects are copied
/// too; functions and other objects (`fetch`, `limiter`) are kept as they are.
fn snapshot(value: &JsValue, path: &str, depth: usize) -> Result<JsValue, Error> {
    let unreadable = || {
        Error::invalid_argument(format!(
            "{path} could not be read (a getter or Proxy trap threw)"
        ))
    };
    let keys = object_keys(value).map_err(|_| unreadable())?;
    let copy = Object::new();
    for key in keys.iter() {
        let name = key.as_string().unwrap_or_default();
        let member = Reflect::get(value, &key).map_err(|_| unreadable())?;
        let member = if is_plain_object(&member) && depth < MAX_OPTION_DEPTH {
            snapshot(&member, &format!("{path}.{name}"), depth + 1)?
        } else {
            member
        };
        let _ = Reflect::set(&copy, &key, &member);
    }
    Ok(copy.into())
}

fn is_plain_object(value: &JsValue) -> bool {
    value.is_object()
        && !value.is_function()
        && !crate::convert::is_array(value)
        && Reflect::get_prototype_of(value).is_ok_and(|prototype| {
            prototype.is_null()
                || Reflect::get_prototype_of(&prototype).is_ok_and(|grand| grand.is_null())
        })
}

/// serde's messages quote the value they refused; a secret key pasted into the wrong option
/// must not be echoed, so quoted strings are dropped.
fn without_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (index, part) in parts.enumerate() {
        if index % 2 == 1 {
            out.push_str(part);
        }
    }
    out.replace("string ,", "string,").trim().to_owned()
}
