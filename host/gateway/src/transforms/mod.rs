//! Transforms on the request path: which run for a request ([`Transforms`]), what they do to it
//! ([`Applied`]) and to its stream ([`chunks::ChunkHook`]). The gateway calls them at four places
//! (`crate::transform_hooks`; see `wit/transform.wit` for the contract): `on-request` before
//! routing, `on-routed` once per endpoint tried, `on-response` on a whole answer, `on-chunk` on
//! each streamed chunk.
//!
//! What a transform keeps across those calls is carried here, per request ([`Applied`]), never in
//! its instance. A transform that faults refuses its request (fail closed) unless its attachment
//! says `on_fault = "pass"`.

pub mod chunks;

pub mod metrics;
mod resolve;
mod run;

pub use self::run::{Applied, Stage, TransformLog};
pub use resolve::{Transforms, TransformsError};

use switchyard_domain::error::DomainError;
use switchyard_domain::failure::Failure;

/// `error` as the client sees it: an answer a transform refused is that transform's refusal (its
/// status, code and metadata), not a failed upstream attempt.
pub fn surfaced(error: DomainError) -> DomainError {
    match error {
        DomainError::Upstream {
            failure: Failure::Refused(refusal),
            ..
        } => DomainError::TransformRefused(refusal),
        other => other,
    }
}

/// The fields of an answer or chunk only the host writes: a transform's change never replaces
/// them.
pub const HOST_FIELDS: &[&str] = &[
    "id", "object", "created", "model", "provider", "usage", "routing",
];
