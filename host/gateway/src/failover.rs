//! What a failed attempt leaves behind, and the error once no candidate is left: the failover
//! bookkeeping shared by chat completions and embeddings.

use serde_json::json;
use tokio::time::Instant;

use switchyard_accounting::tab::Tab;
use switchyard_catalog::Endpoint;
use switchyard_domain::error::{Attempts, DomainError};
use switchyard_domain::failure::Failure;
use switchyard_domain::failure::FailureClass;
use switchyard_domain::routing_trace::{AttemptCharge, RoutingTrace};
use switchyard_routing::Candidate;

/// Records `failure` of the attempt at `candidate` begun at `started`: in the endpoint's
/// statistics (unless the client caused it: [`endpoint_class`]), the log, the routing trace
/// and the tab's attempts, with what the client was `charged` for it. Returns whether the next
/// candidate may be tried.
pub(super) fn record_failure(
    trace: &mut RoutingTrace,
    tab: &Tab,
    candidate: &Candidate,
    failure: &Failure,
    started: Instant,
    charged: Option<AttemptCharge>,
) -> bool {
    let provider = &candidate.endpoint.provider.name;
    if let Some(class) = endpoint_class(&candidate.endpoint, failure, started) {
        candidate.endpoint.stats.record_failure(class);
    }
    tracing::warn!(model = %candidate.model.id, %provider, kind = failure.kind(), error = %failure, "attempt failed");
    trace.record_failure(&candidate.model.id, provider, failure, started.elapsed());
    if let Some(attempt) = trace.attempts.last_mut() {
        attempt.charged = charged;
        tab.record_attempt(&json!(attempt));
    }
    failure.is_retryable()
}

/// How `failure` of an attempt at `endpoint` begun at `started` counts against the endpoint's
/// statistics and breaker ([`Failure::endpoint_class`]), `None` when it does not. A timeout
/// while the endpoint served another request to its end is the client's: the endpoint was
/// healthy, and the attempt ran long because of what the request asked (its prompt, its
/// `max_tokens`). Such a timeout is charged to the client when the upstream had accepted it
/// ([`super::accepted`]), never opens the breaker for other clients, and is counted in the
/// `switchyard.client_timeouts` metric. A timeout while nothing was served counts: a hung
/// upstream looks the same.
pub(super) fn endpoint_class(
    endpoint: &Endpoint,
    failure: &Failure,
    started: Instant,
) -> Option<FailureClass> {
    let class = failure.endpoint_class()?;
    if matches!(failure, Failure::Timeout { .. }) && endpoint.stats.served_since(started.into_std())
    {
        tracing::info!(provider = %endpoint.provider.name, error = %failure, "timeout counted against the request, not the endpoint: it served others meanwhile");
        switchyard_telemetry::metrics::requests::client_timeout(&endpoint.labels);
        return None;
    }
    Some(class)
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
    let mut trace = trace;
    // Attempts the upstream accepted are charged in a record of their own.
    if let Some(id) = tab.settle_accepted_failures().await {
        for attempt in &mut trace.attempts {
            if let Some(charged) = &mut attempt.charged {
                charged.generation_id = Some(id.clone());
            }
        }
    }
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
