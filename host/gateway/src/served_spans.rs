//! The request path's own spans, built from its routing and accounting types on the
//! [`spans`](switchyard_telemetry::traces::spans) primitives: the routing decision, each upstream attempt, and
//! what the attempt that served reports (usage, cost, finish reason).

use std::future::Future;

use opentelemetry::trace::SpanKind;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use rust_decimal::prelude::ToPrimitive;

use switchyard_accounting::tab::Charge;
use switchyard_domain::error::DomainError;
use switchyard_routing::{Candidate, Plan};
use switchyard_telemetry::traces::enabled;
use switchyard_telemetry::traces::spans::{Scope, bounded, child, on_generation};

/// Runs `plan`, the routing of a request for `model`, inside the `route {model}` span under
/// the current context (the operation), and records the decision on it.
pub async fn route(
    model: &str,
    plan: impl Future<Output = Result<Plan, DomainError>>,
) -> Result<Plan, DomainError> {
    let scope = match enabled() {
        true => child(
            format!("route {}", bounded(model)),
            SpanKind::Internal,
            Vec::new(),
        ),
        false => Scope::default(),
    };
    let plan = scope.run(plan).await?;
    planned(&scope, &plan);
    Ok(plan)
}

/// Records the routing decision on `scope`: the candidates in order (`model@provider`) and the
/// policies that ordered them.
fn planned(scope: &Scope, plan: &Plan) {
    if !enabled() {
        return;
    }
    let order = (plan.trace.order.iter())
        .map(|step| StringValue::from(format!("{}@{}", step.model, step.provider)))
        .collect();
    let policies = (plan.trace.models.iter())
        .filter_map(|model| model.policy.clone())
        .map(StringValue::from)
        .collect();
    scope.set_attributes([
        KeyValue::new(
            "switchyard.route.candidates",
            Value::Array(Array::String(order)),
        ),
        KeyValue::new(
            "switchyard.route.policies",
            Value::Array(Array::String(policies)),
        ),
    ]);
}

/// Starts the span of upstream attempt number `number` (from 1) at `candidate`, under the
/// current context (the operation).
pub fn attempt(operation: &'static str, candidate: &Candidate, number: usize) -> Scope {
    if !enabled() {
        return Scope::default();
    }
    let endpoint = &candidate.endpoint;
    let upstream_model = &endpoint.settings.upstream_model;
    let mut attributes = vec![
        KeyValue::new("gen_ai.operation.name", operation),
        KeyValue::new("gen_ai.provider.name", endpoint.provider.name.clone()),
        KeyValue::new("gen_ai.request.model", upstream_model.clone()),
        KeyValue::new("switchyard.model", candidate.model.id.clone()),
        KeyValue::new("switchyard.adapter", endpoint.provider.plugin.clone()),
        KeyValue::new("switchyard.attempt", number as i64),
    ];
    if let Ok(url) = reqwest::Url::parse(&endpoint.provider.base_url) {
        if let Some(host) = url.host_str() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        if let Some(port) = url.port_or_known_default() {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    child(
        format!("{operation} {upstream_model}"),
        SpanKind::Client,
        attributes,
    )
}

/// Records a served generation on the current span (its attempt) and on its operation: the
/// model and provider that served, usage, cost, finish reason; an error status when the
/// stream failed after its first chunk.
pub fn served(charge: &Charge<'_>) {
    if !enabled() {
        return;
    }
    let usage = &charge.usage;
    let mut attributes = vec![
        KeyValue::new("gen_ai.response.model", charge.model.to_owned()),
        KeyValue::new("gen_ai.response.id", charge.id.to_owned()),
        KeyValue::new("gen_ai.provider.name", charge.provider.to_owned()),
        KeyValue::new(
            "gen_ai.usage.input_tokens",
            saturating_i64(usage.prompt_tokens),
        ),
        KeyValue::new(
            "gen_ai.usage.output_tokens",
            saturating_i64(usage.completion_tokens),
        ),
        KeyValue::new(
            "gen_ai.usage.cache_read.input_tokens",
            saturating_i64(usage.cached_tokens),
        ),
        KeyValue::new(
            "gen_ai.usage.cache_creation.input_tokens",
            saturating_i64(usage.cache_write_tokens),
        ),
        KeyValue::new(
            "switchyard.usage.reasoning_tokens",
            saturating_i64(usage.reasoning_tokens),
        ),
        KeyValue::new("switchyard.usage.estimated", charge.usage_estimated),
        KeyValue::new(
            "switchyard.cost.usd",
            charge.cost.total.to_f64().unwrap_or_default(),
        ),
        KeyValue::new(
            "switchyard.cost.upstream_usd",
            charge.cost.upstream.to_f64().unwrap_or_default(),
        ),
        KeyValue::new("switchyard.stream", charge.streamed),
        KeyValue::new("switchyard.cancelled", charge.cancelled),
    ];
    if let Some(reason) = charge.finish_reason {
        let reasons = vec![StringValue::from(reason)];
        attributes.push(KeyValue::new(
            "gen_ai.response.finish_reasons",
            Value::Array(Array::String(reasons)),
        ));
    }
    let failed = charge.finish_reason == Some("error");
    on_generation(&attributes, failed);
}

fn saturating_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
