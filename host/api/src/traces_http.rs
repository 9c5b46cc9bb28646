//! The HTTP side of traces: a server span per request (HTTP semantic conventions), continuing
//! the client's W3C `traceparent` and ending with the response body's last byte. The upstream
//! side, the current span's `traceparent` on every upstream request, is [`switchyard_telemetry::traces::propagate`].

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Version};
use axum::middleware::{self, Next};
use axum::response::Response;
use http_body_util::BodyExt;
use opentelemetry::context::FutureExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::metrics_http::route_of;
use switchyard_telemetry::traces::spans::bounded;
use switchyard_telemetry::traces::tracer;

/// Paths polled by monitors, not traced.
const UNTRACED: [&str; 2] = ["/health", "/metrics"];

/// Adds server spans to `app` when traces are on.
pub fn wire(app: Router) -> Router {
    match tracer() {
        Some(_) => app.layer(middleware::from_fn(trace)),
        None => app,
    }
}

/// Runs the request inside its server span, which ends when the response body does.
async fn trace(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let Some(tracer) = tracer().filter(|_| !UNTRACED.contains(&path)) else {
        return next.run(request).await;
    };
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
    let route = route_of(path);
    let method = bounded(request.method().as_str()).to_owned();
    let mut attributes = vec![
        KeyValue::new("http.request.method", method.clone()),
        KeyValue::new("http.route", route),
        KeyValue::new("url.path", bounded(path).to_owned()),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("network.protocol.version", protocol(request.version())),
    ];
    if let Some(agent) = user_agent(request.headers()) {
        attributes.push(KeyValue::new("user_agent.original", agent));
    }
    let span = tracer
        .span_builder(format!("{method} {route}"))
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent);
    let context = parent.with_span(span);
    let response = next.run(request).with_context(context.clone()).await;
    let status = response.status();
    let span = context.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    if status.is_server_error() {
        span.set_attribute(KeyValue::new("error.type", status.as_str().to_owned()));
        span.set_status(Status::error(""));
    }
    let open = SpanUntilDropped(context);
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _until_the_body_ends = &open;
            frame
        }))
    })
}

/// Ends its context's span when dropped.
struct SpanUntilDropped(Context);

impl Drop for SpanUntilDropped {
    fn drop(&mut self) {
        self.0.span().end();
    }
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    let agent = headers.get(axum::http::header::USER_AGENT)?.to_str().ok()?;
    Some(bounded(agent).to_owned())
}
