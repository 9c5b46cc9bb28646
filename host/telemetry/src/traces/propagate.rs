//! The W3C trace context on upstream requests: the current span's `traceparent` goes with every
//! request the gateway sends.

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::HeaderMap;

use super::tracer;

/// Puts the current span's `traceparent` (and `tracestate`) on an upstream request's headers,
/// when traces are on.
pub fn inject(headers: &mut HeaderMap) {
    if tracer().is_some() {
        let context = Context::current();
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}
