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
use opentelemetry::{Context, KeyValue};

use super::{tracer, within};
use switchyard_domain::error::DomainError;
use switchyard_domain::failure::Failure;

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

    /// Sets `attributes` on the span.
    pub fn set_attributes(&self, attributes: impl IntoIterator<Item = KeyValue>) {
        if let Some(context) = &self.0 {
            context.span().set_attributes(attributes);
        }
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
pub fn bounded(text: &str) -> &str {
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

/// A span under the current context; an empty scope when traces are off.
pub fn child(name: String, kind: SpanKind, attributes: Vec<KeyValue>) -> Scope {
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

/// Sets `attributes` on the current span (an attempt) and on its operation; with `failed`, marks
/// both failed because the stream failed after its first chunk.
pub fn on_generation(attributes: &[KeyValue], failed: bool) {
    if tracer().is_none() {
        return;
    }
    let current = Context::current();
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
