//! The HTTP side of metrics: every answer's route, status and duration, requests in flight
//! (streams until their last byte), and `GET /metrics`, on the main listener or its own.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use opentelemetry::KeyValue;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::bearer::check_bearer;
use crate::ingress::Ingress;
use switchyard_domain::config::ServerConfig;
use switchyard_domain::config::telemetry::MetricsConfig;
use switchyard_telemetry::metrics::{Metrics, get as metrics};

/// The exposition's content type (Prometheus text format 0.0.4).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Adds answer tracking to `app` and serves `GET /metrics` on `config.listen` (a listener of
/// its own, started here) when set, else on `app` behind the admin token (`admin_token`; without
/// one, the main listener does not serve metrics).
pub async fn wire(
    app: Router,
    config: &MetricsConfig,
    admin_token: Option<String>,
) -> anyhow::Result<Router> {
    if !config.enabled {
        return Ok(app);
    }
    let app = app.layer(middleware::from_fn(track));
    let Some(address) = &config.listen else {
        let scrape_with_token = move |headers: HeaderMap| {
            let checked = check_bearer(admin_token.as_deref(), &headers);
            async move {
                match checked {
                    Ok(()) => scrape().await,
                    Err(error) => error.into_response(),
                }
            }
        };
        return Ok(app.route("/metrics", get(scrape_with_token)));
    };
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| anyhow::anyhow!("binding metrics.listen {address}: {error}"))?;
    tracing::info!(address = %listener.local_addr()?, "metrics listening");
    // The same Host and Origin checks as the main listener: a page rebinding its name to a
    // loopback metrics address reads nothing.
    let discipline = Ingress::of(&ServerConfig {
        listen: address.clone(),
        ..ServerConfig::default()
    });
    tokio::spawn(async move {
        let metrics_app = discipline.wire(Router::new().route("/metrics", get(scrape)));
        if let Err(error) = axum::serve(listener, metrics_app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(app)
}

/// `GET /metrics`: the Prometheus text exposition.
async fn scrape() -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        switchyard_telemetry::metrics::render(),
    )
        .into_response()
}

/// Counts the request in flight until its response body ends, and records its route, method,
/// status and time to the response head.
async fn track(request: Request, next: Next) -> Response {
    let Some(metrics) = metrics() else {
        return next.run(request).await;
    };
    let route = route_of(request.uri().path());
    let method = method_of(request.method());
    let in_flight = InFlight::start(route);
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    answered(
        metrics,
        route,
        method,
        status,
        started.elapsed().as_secs_f64(),
    );
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _until_the_body_ends = &in_flight;
            frame
        }))
    })
}

/// Records an answer's time to its head, by route, method and status: fixed labels, nothing
/// allocated.
fn answered(
    metrics: &Metrics,
    route: &'static str,
    method: &'static str,
    status: u16,
    seconds: f64,
) {
    let attributes = [
        KeyValue::new("http.route", route),
        KeyValue::new("http.request.method", method),
        KeyValue::new("http.response.status_code", i64::from(status)),
    ];
    metrics
        .instruments()
        .http_duration
        .record(seconds, &attributes);
}

/// A request counted in `http.server.active_requests` until dropped.
struct InFlight(&'static str);

impl InFlight {
    fn start(route: &'static str) -> InFlight {
        InFlight(route).add(1)
    }

    fn add(self, delta: i64) -> Self {
        if let Some(metrics) = metrics() {
            let attributes = [KeyValue::new("http.route", self.0)];
            metrics.instruments().http_active.add(delta, &attributes);
        }
        self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(metrics) = metrics() {
            let attributes = [KeyValue::new("http.route", self.0)];
            metrics.instruments().http_active.add(-1, &attributes);
        }
    }
}

/// The method's label: one of the standard methods, or `_OTHER` (the OpenTelemetry convention),
/// so that a client inventing methods cannot add series.
fn method_of(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or("_OTHER", Method::as_str)
}

/// The route template of `path`: a fixed set, so the label stays bounded.
pub(crate) fn route_of(path: &str) -> &'static str {
    const EXACT: [&str; 11] = [
        "/v1/chat/completions",
        "/api/v1/chat/completions",
        "/v1/models",
        "/api/v1/models",
        "/health",
        "/metrics",
        "/api/v1/key",
        "/api/v1/credits",
        "/api/v1/generation",
        "/admin/plugins",
        "/admin/keys",
    ];
    if let Some(route) = EXACT.into_iter().find(|route| *route == path) {
        return route;
    }
    if path.starts_with("/api/v1/models/") && path.ends_with("/endpoints") {
        return "/api/v1/models/{author}/{slug}/endpoints";
    }
    if path.starts_with("/admin/") {
        return "/admin/*";
    }
    if path == "/dashboard" || path.starts_with("/dashboard/") {
        return "/dashboard";
    }
    "other"
}

#[cfg(test)]
mod tests {
    use super::{InFlight, answered, method_of, route_of};
    use axum::http::Method;
    use switchyard_domain::config::telemetry::MetricsConfig;
    use switchyard_telemetry::metrics::allocations::counted;
    use switchyard_telemetry::metrics::{get, install};

    #[test]
    fn recording_an_answer_allocates_nothing_once_its_series_exist() {
        // Another test may have installed them first: either way they are installed.
        let _ = install(&MetricsConfig::default());
        let Some(metrics) = get() else {
            panic!("metrics are not installed");
        };
        let answer = || {
            let in_flight = InFlight::start("/v1/chat/completions");
            answered(metrics, "/v1/chat/completions", "POST", 200, 0.003);
            drop(in_flight);
        };
        assert!(counted(answer) > 0, "the first answer creates its series");
        assert_eq!(counted(answer), 0, "recording an answer allocated");
    }

    #[test]
    fn routes_are_a_fixed_set() {
        assert_eq!(route_of("/v1/chat/completions"), "/v1/chat/completions");
        assert_eq!(
            route_of("/api/v1/models/meta-llama/llama-3/endpoints"),
            "/api/v1/models/{author}/{slug}/endpoints"
        );
        assert_eq!(route_of("/admin/plugins/openai/rollback"), "/admin/*");
        assert_eq!(route_of("/v1/secret-typo-123"), "other");
    }

    #[test]
    fn methods_are_a_fixed_set() {
        assert_eq!(method_of(&Method::POST), "POST");
        let junk = Method::from_bytes(b"FOO123").expect("a token");
        assert_eq!(method_of(&junk), "_OTHER");
    }
}
