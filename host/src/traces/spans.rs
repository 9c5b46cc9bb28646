//! The spans of a generation (GenAI semantic conventions), under the request's server span:
//!
//! - `chat {model}` (internal): the whole operation, from routing to the last streamed byte,
//!   with the model asked for, the one that served, usage, cost and the outcome;
//! - `route {model}`: the routing decision, with the candidates in order and the policies;
//! - `chat {upstream model}` (client), one per upstream attempt: provider, upstream address,
//!   outcome (`error.type`), and usage and cost on the attempt that served;
//! - `{function} {plugin}`, one per adapter or policy call but the stream decoder's (one per
//!   event would outnumber everything else).
//!
//! A span ends when the last holder of its context lets go of it: a streamed attempt's context
//! is held by the task relaying the stream, so the attempt and the operation end with the
//! stream.

use std::future::Future;
use std::time::{Duration, SystemTime};

use futures_util::future::Either;
use opentelemetry::context::WithContext;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use rust_decimal::prelude::ToPrimitive;

use super::{tracer, within};
use crate::accounting::tab::Charge;
use crate::error::DomainError;
use crate::failure::Failure;
use crate::routing::{Candidate, Plan};

/// A span of the request path and the context it is current in; empty when traces are off.
#[derive(Debug, Clone, Default)]
pub struct Scope(Option<Context>);

/// The operation's context, kept in the contexts under it so that what an attempt learns
/// (usage, cost) reaches the operation span too.
#[derive(Debug, Clone)]
struct Operation(Context);

impl Scope {
    /// `future`, polled inside this span.
    pub fn run<F: Future>(&self, future: F) -> Either<WithContext<F>, F> {
        within(self.0.clone(), future)
    }

    /// Marks the span failed with `error_type` (a short, bounded label) and `message`.
    fn fail(&self, error_type: &str, message: String) {
        if let Some(context) = &self.0 {
            let span = context.span();
            span.set_attribute(KeyValue::new("error.type", error_type.to_owned()));
            span.set_status(Status::error(message));
        }
    }

    /// Marks the operation failed with the client's error.
    fn failed(&self, error: &DomainError) {
        if self.0.is_some() {
            self.fail(error.status().as_str(), error.to_string());
        }
    }

    /// Marks an attempt failed.
    pub fn attempt_failed(&self, failure: &Failure) {
        if self.0.is_some() {
            self.fail(failure.kind(), failure.to_string());
        }
    }

    /// Records the routing decision: the candidates in order (`model@provider`) and the
    /// policies that ordered them.
    fn planned(&self, plan: &Plan) {
        let Some(context) = &self.0 else {
            return;
        };
        let order = (plan.trace.order.iter())
            .map(|step| StringValue::from(format!("{}@{}", step.model, step.provider)))
            .collect();
        let policies = (plan.trace.models.iter())
            .filter_map(|model| model.policy.clone())
            .map(StringValue::from)
            .collect();
        let span = context.span();
        span.set_attribute(KeyValue::new(
            "switchyard.route.candidates",
            Value::Array(Array::String(order)),
        ));
        span.set_attribute(KeyValue::new(
            "switchyard.route.policies",
            Value::Array(Array::String(policies)),
        ));
    }
}

/// Runs `future`, the whole `operation` (`chat`, `embeddings`) on `model`, inside its span
/// under the current context (the server span); marks the span failed with the error it
/// answers.
pub async fn operation<T>(
    operation: &'static str,
    model: &str,
    future: impl Future<Output = Result<T, DomainError>>,
) -> Result<T, DomainError> {
    let scope = operation_scope(operation, model);
    let result = scope.run(future).await;
    if let Err(error) = &result {
        scope.failed(error);
    }
    result
}

/// Longest client-given text a span name or attribute keeps, in bytes.
const MAX_CLIENT_TEXT: usize = 128;

/// `text` cut to [`MAX_CLIENT_TEXT`] bytes (on a character boundary): client strings reach span
/// names and attributes, and the exporter keeps every span of a batch in memory.
pub(crate) fn bounded(text: &str) -> &str {
    if text.len() <= MAX_CLIENT_TEXT {
        return text;
    }
    let mut end = MAX_CLIENT_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn operation_scope(operation: &'static str, model: &str) -> Scope {
    let Some(tracer) = tracer() else {
        return Scope(None);
    };
    let model = bounded(model);
    let parent = Context::current();
    let span = tracer
        .span_builder(format!("{operation} {model}"))
        .with_kind(SpanKind::Internal)
        .with_attributes([
            KeyValue::new("gen_ai.operation.name", operation),
            KeyValue::new("gen_ai.request.model", model.to_owned()),
        ])
        .start_with_context(tracer, &parent);
    let context = parent.with_span(span);
    let marked = context.with_value(Operation(context.clone()));
    Scope(Some(marked))
}

/// Runs `plan`, the routing of a request for `model`, inside the `route {model}` span under
/// the current context (the operation), and records the decision on it.
pub async fn route(
    model: &str,
    plan: impl Future<Output = Result<Plan, DomainError>>,
) -> Result<Plan, DomainError> {
    let scope = match tracer() {
        Some(_) => child(
            format!("route {}", bounded(model)),
            SpanKind::Internal,
            Vec::new(),
        ),
        None => Scope(None),
    };
    let plan = scope.run(plan).await?;
    scope.planned(&plan);
    Ok(plan)
}

/// Starts the span of upstream attempt number `number` (from 1) at `candidate`, under the
/// current context (the operation).
pub fn attempt(operation: &'static str, candidate: &Candidate, number: usize) -> Scope {
    if tracer().is_none() {
        return Scope(None);
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

/// A span under the current context; traces are on.
fn child(name: String, kind: SpanKind, attributes: Vec<KeyValue>) -> Scope {
    let Some(tracer) = tracer() else {
        return Scope(None);
    };
    let parent = Context::current();
    let span = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent);
    Scope(Some(parent.with_span(span)))
}

/// Records a served generation on the current span (its attempt) and on its operation: the
/// model and provider that served, usage, cost, finish reason; an error status when the
/// stream failed after its first chunk.
pub fn served(charge: &Charge<'_>) {
    if tracer().is_none() {
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
    let current = Context::current();
    let failed = charge.finish_reason == Some("error");
    let operation = current.get::<Operation>().map(|operation| &operation.0);
    for context in std::iter::once(&current).chain(operation) {
        let span = context.span();
        span.set_attributes(attributes.iter().cloned());
        if failed {
            span.set_attribute(KeyValue::new("error.type", "stream_failed"));
            span.set_status(Status::error("the stream failed after its first chunk"));
        }
    }
}

fn saturating_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Records a finished plugin call as a span under the current context: `function` of
/// `plugin` (`name@version`), which took `elapsed` and failed with `fault` if any.
pub fn plugin_call(
    plugin: &str,
    version: &str,
    function: &str,
    elapsed: Duration,
    fault: Option<&str>,
) {
    let Some(tracer) = tracer() else {
        return;
    };
    let end = SystemTime::now();
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let mut span = tracer
        .span_builder(format!("{function} {plugin}"))
        .with_kind(SpanKind::Internal)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("switchyard.plugin.name", plugin.to_owned()),
            KeyValue::new("switchyard.plugin.version", version.to_owned()),
            KeyValue::new("switchyard.plugin.function", function.to_owned()),
        ])
        .start_with_context(tracer, &Context::current());
    if let Some(fault) = fault {
        span.set_attribute(KeyValue::new("error.type", "plugin_fault"));
        span.set_status(Status::error(fault.to_owned()));
    }
    span.end_with_timestamp(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_text_is_bounded() {
        assert_eq!(bounded("gpt-4o"), "gpt-4o");
        let long = "é".repeat(1000);
        assert!(bounded(&long).len() <= MAX_CLIENT_TEXT);
        assert!(bounded(&long).len() >= MAX_CLIENT_TEXT - 1);
    }
}
