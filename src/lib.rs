//! clerk-metadata-wasm: manage a Clerk user's metadata through Clerk's Backend API.
//!
//! The crate is split so that every decision can be tested natively:
//! - [`core`]: pure Rust (no wasm, no I/O): configuration, input validation, the request each
//!   operation needs, Clerk's deep-merge rules, JSON (`core::json`, in place of serde_json),
//!   response and error parsing, retry and rate-limit policy. Tested with `cargo test`.
//! - `transport` (wasm only): sends a [`core::plan::RequestPlan`] through the host's `fetch`, with
//!   timeouts, retries and the client-side rate limiter. Its host half, `transport.js`, makes one
//!   HTTP exchange per call into the host (see that file for why it is JavaScript).
//! - `convert` (wasm only): JS values to JSON and back, refusing what JSON cannot hold. Its host
//!   half, `convert.js`, walks the value in one call into the host.
//! - `bindings` (wasm only): the exported `WasmClient`, a few lines per operation.
//! - `task` (wasm only): runs each operation's future as a JS promise.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
pub use bindings::WasmClient;
#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(target_arch = "wasm32")]
mod task;
#[cfg(target_arch = "wasm32")]
mod transport;

/// Talc instead of the default dlmalloc: about 5 KB less code in every download, and faster.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
