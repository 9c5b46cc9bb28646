//! What a failed attempt leaves behind, and the error once no candidate is left: the failover
//! bookkeeping shared by chat completions and embeddings.

use serde_json::json;
use tokio::time::Instant;

use crate::accounting::tab::Tab;
use crate::error::{Attempts, DomainError};
use crate::failure::Failure;
use crate::routing::Candidate;
use crate::routing::trace::RoutingTrace;

/// Records `failure` of the attempt at `candidate` begun at `started`: in the endpoint's
/// statistics, the log, the routing trace and the tab's attempts. Returns whether the next
/// candidate may be tried.
pub(super) fn record_failure(
    trace: &mut RoutingTrace,
    tab: &Tab,
    candidate: &Candidate,
    failure: &Failure,
    started: Instant,
) -> bool {
    let provider = &candidate.endpoint.provider.name;
    if let Some(class) = failure.endpoint_class() {
        candidate.endpoint.stats.record_failure(class);
    }
    tracing::warn!(model = %candidate.model.id, %provider, kind = failure.kind(), error = %failure, "attempt failed");
    trace.record_failure(&candidate.model.id, provider, failure, started.elapsed());
    if let Some(attempt) = trace.attempts.last() {
        tab.record_attempt(&json!(attempt));
    }
    failure.is_retryable()
}

/// Releases the tab's hold and builds the client's error once every candidate was tried or a
/// failure was not retryable: the last failure, with the attempts (and the routing trace when
/// the client asked for it).
pub(super) async fn exhausted(
    tab: &Tab,
    last_failure: Option<Failure>,
    trace: RoutingTrace,
    show_routing: bool,
) -> DomainError {
    tab.release();
    let attempts = Box::new(Attempts {
        trace,
        show_routing,
    });
    match last_failure {
        Some(failure) => DomainError::Upstream {
            failure,
            attempts: Some(attempts),
        },
        None => DomainError::NothingTried(attempts),
    }
}
