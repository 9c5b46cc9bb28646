//! The conformance kit: recorded upstream answers replayed through an adapter, and the checks
//! its output must pass. `switchyard plugin test <component> --fixtures <dir>` runs a compiled
//! component in the gateway's sandbox; [`crate::testing::conformance`] runs an adapter natively
//! in its own `cargo test`. Both use [`recording`] and [`checks`]. Transforms have cases of their
//! own ([`cases`]).

pub mod cases;
pub mod checks;
pub mod recording;

#[cfg(feature = "provider")]
pub(crate) mod native;
