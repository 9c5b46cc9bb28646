//! The Switchyard plugin SDK.
//!
//! A Switchyard plugin is a WebAssembly component built for `wasm32-wasip2` against the WIT
//! package `switchyard:plugin` whose version is [`contract::VERSION`]. The contract travels
//! inside this crate (`wit/`, a checked copy of the Switchyard repository's `wit/` folder), and
//! the export macros stamp its version into every component (the gateway still loads plugins
//! built against the frozen contracts 0.1.0 to 0.3.0). This crate
//! hides the generated bindings behind two traits and two macros, so a plugin is one `impl`
//! block:
//!
//! - a **provider adapter** enables the `provider` feature, implements [`provider::Provider`]
//!   and calls [`export_provider!`];
//! - a **routing policy** enables the `router` feature, implements [`router::Router`] and calls
//!   [`export_router!`];
//! - a **transform** (contract 0.5.0 on) enables the `transform` feature, implements
//!   `transform::Transform` and calls `export_transform!`.
//!
//! Enable exactly one of the three features per plugin crate. The [`openai`] module holds serde
//! types for the canonical request and response format (OpenAI chat completions as extended by
//! OpenRouter); they keep unknown fields so adapters never drop what a client sent.
#![deny(missing_docs)]

// The generated bindings name this crate by its public path, from inside and outside alike.
extern crate self as switchyard_sdk;

pub mod conformance;
pub mod contract;
#[cfg(feature = "provider")]
pub mod embeddings;
pub mod eventstream;
pub mod openai;
pub mod ranking;
pub mod responses;
pub mod sse;
pub mod web_search;

#[cfg(feature = "provider")]
pub mod provider;

#[cfg(feature = "provider")]
pub mod anthropic;

#[cfg(feature = "provider")]
pub mod gemini;

#[cfg(feature = "router")]
pub mod router;

#[cfg(feature = "provider")]
pub mod testing;

#[cfg(feature = "provider")]
pub mod descriptor;

#[cfg(feature = "provider")]
pub mod options;

#[cfg(feature = "provider")]
pub mod translate;

#[cfg(feature = "provider")]
pub mod chat_completions;

#[cfg(feature = "provider")]
pub mod structured;

#[cfg(feature = "provider")]
pub mod fields;

#[cfg(feature = "transform")]
pub mod transform;

#[cfg(any(feature = "provider", feature = "router", feature = "transform"))]
pub mod log;

#[doc(hidden)]
pub mod __private {
    #[cfg(any(feature = "provider", feature = "router", feature = "transform"))]
    pub use wit_bindgen;
}
