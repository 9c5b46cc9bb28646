//! The routing trace: what routing saw and decided for one request, returned to clients that
//! ask for it (`X-Switchyard-Debug: routing` or `X-OpenRouter-Metadata: enabled`) and carried in
//! error metadata.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::failure::Failure;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Everything routing decided for one request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoutingTrace {
    /// Each requested model: its policy and every endpoint considered.
    pub models: Vec<ModelTrace>,
    /// The order the endpoints were to be tried in.
    pub order: Vec<EndpointRef>,
    /// Each attempt made, in order.
    pub attempts: Vec<AttemptTrace>,
    /// The provider put first because it served the conversation's previous turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky: Option<String>,
}

/// One requested model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelTrace {
    /// The id as requested, variant included.
    pub requested: String,
    /// The catalog id.
    pub model: String,
    /// The routing policy plugin that ordered the endpoints, when one was called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Why the policy's order was not used, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_error: Option<String>,
    /// Every endpoint of the model, kept or excluded.
    pub candidates: Vec<CandidateTrace>,
    /// Endpoints not enabled (no credential), with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disabled: Vec<String>,
}

/// One endpoint considered.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateTrace {
    /// Provider name.
    pub provider: String,
    /// Why it was excluded (a code), when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<&'static str>,
    /// The reason in words, when excluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A model and provider pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointRef {
    /// Catalog model id.
    pub model: String,
    /// Provider name.
    pub provider: String,
}

/// One attempt at one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptTrace {
    /// Catalog model id.
    pub model: String,
    /// Provider name.
    pub provider: String,
    /// `success`, or the failure kind (`rate_limited`, `timeout`...).
    pub outcome: &'static str,
    /// The failure in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Milliseconds until the attempt succeeded (first chunk, when streaming) or failed.
    pub elapsed_ms: u64,
    /// What the client was charged for this failed attempt, which the upstream had accepted
    /// (`accounting.charge_accepted_failures`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charged: Option<AttemptCharge>,
    /// The credential that served, when it is named (a pooled credential's name, or `byok`
    /// for the account's own key); never the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The charge of a failed attempt the upstream accepted: it sent success headers, or it was
/// sent the whole request and then timed out or was cut.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptCharge {
    /// Why it was charged: `upstream_accepted`.
    pub reason: &'static str,
    /// The prompt tokens charged, estimated (four bytes of the request a token).
    pub prompt_tokens: u64,
    /// What the client was charged, USD.
    pub cost: f64,
    /// The generation record that carries the charge, once known: the served generation's,
    /// or one of its own when no attempt served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation_id: Option<String>,
}

impl RoutingTrace {
    /// The trace as JSON, completed by a successful attempt at `model` on `provider` with
    /// `credential`.
    pub fn with_success(
        &self,
        model: &str,
        provider: &str,
        credential: Option<&str>,
        elapsed: Duration,
    ) -> Value {
        let mut trace = self.clone();
        trace.attempts.push(AttemptTrace {
            model: model.to_owned(),
            provider: provider.to_owned(),
            outcome: "success",
            message: None,
            elapsed_ms: millis(elapsed),
            charged: None,
            credential: credential.map(str::to_owned),
        });
        serde_json::to_value(&trace).unwrap_or(Value::Null)
    }

    /// Records a failed attempt.
    pub fn record_failure(
        &mut self,
        model: &str,
        provider: &str,
        failure: &Failure,
        elapsed: Duration,
    ) {
        self.attempts.push(AttemptTrace {
            model: model.to_owned(),
            provider: provider.to_owned(),
            outcome: failure.kind(),
            message: Some(failure.to_string()),
            elapsed_ms: millis(elapsed),
            charged: None,
            credential: None,
        });
    }

    /// Every excluded endpoint, with its model.
    pub fn excluded(&self) -> impl Iterator<Item = (&ModelTrace, &CandidateTrace)> {
        self.models.iter().flat_map(|model| {
            (model.candidates.iter())
                .filter(|candidate| candidate.excluded.is_some())
                .map(move |candidate| (model, candidate))
        })
    }

    /// Every exclusion, as `{model, provider, excluded, reason}` objects (for error metadata).
    pub fn exclusions(&self) -> Vec<Value> {
        self.excluded()
            .map(|(model, candidate)| {
                serde_json::json!({
                    "model": model.model,
                    "provider": candidate.provider,
                    "excluded": candidate.excluded,
                    "reason": candidate.reason,
                })
            })
            .collect()
    }
}
