//! clerk-metadata-wasm: manage a Clerk user's metadata through Clerk's Backend API.
//!
//! The layers, each in one place:
//! - [`core`]: pure Rust (no wasm, no I/O), tested with `cargo test`: configuration, input
//!   validation, the request each operation needs, Clerk's merge rules, reading Clerk's answers,
//!   retry policy, the rate limiter's arithmetic, the cache's coherence rules, options.
//! - `convert` (wasm only): the caller's JS values to JSON, refusing what JSON cannot hold.
//! - `exchange` (wasm only): one HTTP exchange over the host's `fetch`, with its own
//!   `AbortController` and timer, through web-sys and wasm-bindgen-futures.
//! - `limiter` (wasm only): the built-in rate limiter, or one the host supplies, behind one
//!   interface.
//! - `transport` (wasm only): a request plan sent through the limiter and the exchange, with
//!   retries, within the operation's deadline.
//! - `bindings` (wasm only): the exported `WasmClient`; reads (cache, single flight) and writes
//!   (one lane per user) live beside it.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
pub use bindings::WasmClient;
#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(target_arch = "wasm32")]
mod exchange;
#[cfg(target_arch = "wasm32")]
mod limiter;
#[cfg(target_arch = "wasm32")]
mod transport;
#[cfg(target_arch = "wasm32")]
mod wait;

/// Talc instead of the default dlmalloc: less code in every download.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
