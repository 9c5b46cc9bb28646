//! The first-party plugins, built for `wasm32-wasip2` by the build script and embedded in the
//! binary so the gateway runs with zero files around it.

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));
