//! Whether the upstream accepted an attempt, and what a failed attempt it accepted costs the
//! client. Accepted means the upstream sent success headers, or it was handed the whole request
//! and then timed out or was cut: it bills such an attempt, so the client is charged the
//! attempt's estimated prompt (`accounting.charge_accepted_failures`). A refusal (429, 401, 403,
//! 5xx or any other error status) is never charged, nor a fault of the adapter plugin.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rust_decimal::prelude::ToPrimitive;

use super::ChatCall;
use super::generation::Generation;
use switchyard_accounting::tab::Tab;
use switchyard_domain::failure::Failure;
use switchyard_domain::plugin_types::Usage;
use switchyard_domain::pricing::estimate::tokens_of_bytes;
use switchyard_domain::pricing::{cost, image_count};
use switchyard_domain::routing_trace::AttemptCharge;
use switchyard_routing::Candidate;

/// One attempt's acceptance: set when its request body was handed to the connection in full
/// and when success headers arrive, cleared by an error status.
#[derive(Debug, Clone, Default)]
pub struct Acceptance(Arc<AtomicBool>);

impl Acceptance {
    /// `bytes` as a request body that marks the attempt accepted once the connection has taken
    /// all of it (the upstream has the whole request); the mark is cleared until then. The
    /// body keeps its exact length (`Content-Length`).
    pub fn body(&self, bytes: Bytes) -> reqwest::Body {
        self.0.store(false, Ordering::Relaxed);
        let handed = self.0.clone();
        reqwest::Body::wrap(Full::new(bytes).map_frame(move |frame| {
            handed.store(true, Ordering::Relaxed);
            frame
        }))
    }

    /// The upstream answered with status `status`: accepted when it is a success.
    pub fn answered(&self, status: u16) {
        self.0
            .store((200..300).contains(&status), Ordering::Relaxed);
    }

    /// Whether the upstream accepted the attempt.
    pub fn accepted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What a request sent upstream, as far as the charge of an attempt it failed goes: its tab,
/// the size of the body its prompt is estimated from, and its images.
pub(super) struct Sent<'a> {
    /// The request's accounting.
    pub tab: &'a Tab,
    /// Bytes of the body whose prompt is estimated (four a token).
    pub body_bytes: usize,
    /// Images in the request, priced per image.
    pub images: u64,
}

impl<'a> From<&'a ChatCall> for Sent<'a> {
    fn from(call: &'a ChatCall) -> Self {
        Sent {
            tab: &call.tab,
            body_bytes: call.body.len(),
            images: image_count(&call.request),
        }
    }
}

/// Charges the client for `failure` of an attempt at `candidate` when the upstream accepted it
/// and the failure is not the adapter's own: the estimated prompt of what the request `sent`
/// at the endpoint's prices, added to the request's tab. Returns the charge for the attempt's
/// record, `None` when nothing is charged (not accepted, an adapter fault, accounting off or
/// `charge_accepted_failures = "none"`).
pub(super) fn charge<'a>(
    sent: impl Into<Sent<'a>>,
    candidate: &Candidate,
    failure: &Failure,
    acceptance: &Acceptance,
    fee_percent: rust_decimal::Decimal,
) -> Option<AttemptCharge> {
    if !acceptance.accepted() || failure.is_adapter_fault() {
        return None;
    }
    let sent = sent.into();
    if !sent.tab.charges_accepted_failures() {
        return None;
    }
    let (model, provider) = (&candidate.model.id, &candidate.endpoint.provider.name);
    let usage = Usage {
        prompt_tokens: tokens_of_bytes(sent.body_bytes),
        ..Usage::default()
    };
    let cost = cost(&usage, &candidate.endpoint.prices, sent.images, fee_percent);
    let id = Generation::new(model, provider).id;
    sent.tab
        .charge_accepted_failure(&id, model, provider, usage.prompt_tokens, cost);
    tracing::info!(%model, %provider, kind = failure.kind(), prompt_tokens = usage.prompt_tokens, cost = %cost.total, "the upstream accepted the failed attempt: its prompt is charged");
    Some(AttemptCharge {
        reason: "upstream_accepted",
        prompt_tokens: usage.prompt_tokens,
        cost: cost.total.to_f64().unwrap_or(f64::MAX),
        generation_id: None,
    })
}
