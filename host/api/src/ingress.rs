//! One ingress discipline for every route, as a layer in front of the whole router (so a route
//! added later gets it too): the `Host` a request is addressed to (DNS rebinding), the browser
//! `Origin` it comes from and its content type (cross-site requests), the requests and body
//! bytes in flight, and a deadline and minimum rate for receiving a body. Handlers check the
//! caller (admin token, API key) before they read the body; the body they read is this one.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;
use switchyard_domain::config::ServerConfig;

/// A body's first second is not held to the minimum rate (a client may start a little late).
const RATE_GRACE: Duration = Duration::from_secs(1);

/// Why a request body stopped being received.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BodyRefused {
    /// Not complete within `server.body_read_timeout_ms`.
    #[error("request body not received within {0} ms")]
    Deadline(u128),
    /// Arriving slower than `server.body_min_bytes_per_sec`.
    #[error("request body arriving slower than {0} bytes per second")]
    TooSlow(u64),
    /// The process holds `server.max_body_bytes_in_flight` of bodies already.
    #[error("the gateway is receiving too many request bodies at once; retry shortly")]
    Busy,
}

impl BodyRefused {
    /// The refusal of a body read that failed with this, if it did: walks `error`'s sources.
    pub fn of<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyRefused> {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(refused) = error.downcast_ref::<BodyRefused>() {
                return Some(refused);
            }
            next = error.source();
        }
        None
    }

    /// The answer: 408 for a late or slow body, 503 when the budget is spent.
    pub fn answer(&self) -> ApiError {
        match self {
            BodyRefused::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                self.to_string(),
            )
            .with_code("overloaded")
            .with_retry_after(Some(1)),
            _ => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request_error",
                self.to_string(),
            )
            .with_code("request_timeout"),
        }
    }
}

/// The checks and budgets of [`ServerConfig`], shared by every request.
#[derive(Debug)]
pub struct Ingress {
    /// Host names requests may name; `None`: any.
    hosts: Option<Vec<String>>,
    /// Cross-origin browser origins allowed, answered with CORS headers.
    origins: Vec<String>,
    body_deadline: Duration,
    min_rate: u64,
    bodies: Arc<Budget>,
    /// Requests in progress (HTTP/2 streams included) within the connection budget.
    requests: Arc<Semaphore>,
}

impl Ingress {
    /// The discipline a configuration sets.
    pub fn of(config: &ServerConfig) -> Ingress {
        Ingress {
            hosts: allowed_hosts(config),
            origins: config.allowed_origins.clone(),
            body_deadline: Duration::from_millis(config.body_read_timeout_ms),
            min_rate: config.body_min_bytes_per_sec,
            bodies: Arc::new(Budget {
                cap: config.max_body_bytes_in_flight,
                used: AtomicUsize::new(0),
            }),
            requests: Arc::new(Semaphore::new(config.max_connections.max(1))),
        }
    }

    /// `app` behind this discipline.
    pub fn wire(self, app: Router) -> Router {
        let ingress = Arc::new(self);
        app.layer(middleware::from_fn(move |request: Request, next: Next| {
            let ingress = ingress.clone();
            async move { ingress.admit(request, next).await }
        }))
    }

    async fn admit(&self, request: Request, next: Next) -> Response {
        if !self.host_allowed(&request) {
            return ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "invalid_request_error",
                "this gateway does not answer to that Host (server.allowed_hosts)",
            )
            .with_code("host_not_allowed")
            .into_response();
        }
        let cors = match self.origin(request.method(), request.headers()) {
            Ok(cors) => cors,
            Err(error) => return error.into_response(),
        };
        if let Some(origin) = &cors
            && request.method() == Method::OPTIONS
        {
            return preflight(origin);
        }
        if let Err(error) = simple_content_type(&request) {
            return error.into_response();
        }
        let Ok(slot) = self.requests.clone().try_acquire_owned() else {
            return BodyRefused::Busy.answer().into_response();
        };
        let held = Arc::new(Held {
            budget: self.bodies.clone(),
            bytes: AtomicUsize::new(0),
        });
        let guarded = held.clone();
        let (deadline, min_rate) = (self.body_deadline, self.min_rate);
        let request = request.map(|body| {
            // Most GETs have no body: nothing to guard.
            if hyper::body::Body::is_end_stream(&body) {
                body
            } else {
                Body::new(Guarded::new(body, deadline, min_rate, guarded))
            }
        });
        let mut response = next.run(request).await;
        drop(held);
        if let Some(origin) = cors {
            allow_origin(response.headers_mut(), origin);
        }
        response.map(|body| {
            Body::new(body.map_frame(move |frame| {
                let _until_the_answer_ends = &slot;
                frame
            }))
        })
    }

    fn host_allowed(&self, request: &Request) -> bool {
        let Some(allowed) = &self.hosts else {
            return true;
        };
        let host = (request.headers().get(header::HOST))
            .and_then(|host| host.to_str().ok())
            .or_else(|| {
                request
                    .uri()
                    .authority()
                    .map(|authority| authority.as_str())
            });
        // Browsers always name the host; a client without one is no page's.
        let Some(host) = host else {
            return true;
        };
        let name = host_name(host);
        allowed
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(name))
    }

    /// `Ok(Some(origin))` for an allowed cross-origin caller (answered with CORS headers),
    /// `Ok(None)` for a same-origin page or a non-browser client, 403 for any other origin.
    fn origin(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<HeaderValue>, ApiError> {
        let forbidden = |message: &str| {
            ApiError::new(StatusCode::FORBIDDEN, "permission_error", message)
                .with_code("origin_not_allowed")
        };
        let Some(origin) = headers.get(header::ORIGIN) else {
            let cross_site = headers
                .get("sec-fetch-site")
                .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"));
            let safe = matches!(*method, Method::GET | Method::HEAD);
            return if cross_site && !safe {
                Err(forbidden("cross-site browser requests are refused"))
            } else {
                Ok(None)
            };
        };
        let text = origin.to_str().unwrap_or_default();
        let authority = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"));
        let host = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok());
        if let (Some(authority), Some(host)) = (authority, host)
            && authority.eq_ignore_ascii_case(host)
        {
            return Ok(None);
        }
        if self.origins.iter().any(|allowed| allowed == text) {
            return Ok(Some(origin.clone()));
        }
        Err(forbidden(
            "requests from this browser origin are refused (server.allowed_origins)",
        ))
    }
}

/// The host names a configuration accepts: its list, else the loopback names on a loopback
/// `listen`, else any (`None`).
fn allowed_hosts(config: &ServerConfig) -> Option<Vec<String>> {
    if let Some(hosts) = &config.allowed_hosts {
        return Some(hosts.clone());
    }
    let listen = host_name(&config.listen);
    let loopback = listen.eq_ignore_ascii_case("localhost")
        || listen
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback.then(|| {
        ["localhost", "127.0.0.1", "[::1]", listen]
            .map(str::to_owned)
            .to_vec()
    })
}

/// `host` without its port: `example.com:8080` → `example.com`, `[::1]:80` → `[::1]`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A browser's request (it names its origin or its fetch site) that changes state with a
/// content type a page may send without a CORS preflight (`text/plain`, forms): refused, 415.
/// Other clients (`curl -d` sends a form type) are not browsers and pass.
fn simple_content_type(request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    let browser = headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site");
    if !browser || matches!(*request.method(), Method::GET | Method::HEAD) {
        return Ok(());
    }
    let Some(kind) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = kind.to_str().unwrap_or_default();
    let essence = essence.split(';').next().unwrap_or_default().trim();
    let simple = [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ];
    if simple
        .iter()
        .any(|simple| essence.eq_ignore_ascii_case(simple))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            format!("a browser must send this route JSON (`content-type: application/json`), not `{essence}`"),
        )
        .with_code("unsupported_media_type"));
    }
    Ok(())
}

/// The answer to an allowed origin's CORS preflight.
fn preflight(origin: &HeaderValue) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    allow_origin(headers, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, x-api-key, anthropic-version, anthropic-beta, x-session-id"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

fn allow_origin(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

/// The process's budget of request-body bytes.
#[derive(Debug)]
struct Budget {
    cap: usize,
    used: AtomicUsize,
}

/// The body bytes one request holds, given back when its answer starts.
#[derive(Debug)]
struct Held {
    budget: Arc<Budget>,
    bytes: AtomicUsize,
}

impl Held {
    /// Takes `more` bytes from the budget; `false` (nothing taken) past its cap.
    fn take(&self, more: usize) -> bool {
        let before = self.budget.used.fetch_add(more, Ordering::Relaxed);
        if before.saturating_add(more) > self.budget.cap {
            self.budget.used.fetch_sub(more, Ordering::Relaxed);
            return false;
        }
        self.bytes.fetch_add(more, Ordering::Relaxed);
        true
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let bytes = *self.bytes.get_mut();
        self.budget.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// A request body received within the deadline, at the minimum rate and within the budget.
struct Guarded {
    inner: Body,
    deadline: Duration,
    min_rate: u64,
    held: Arc<Held>,
    /// From the first read (when hyper sends `100 Continue` to a client that waits for it).
    started: Option<Instant>,
    received: u64,
    timer: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(inner: Body, deadline: Duration, min_rate: u64, held: Arc<Held>) -> Guarded {
        Guarded {
            inner,
            deadline,
            min_rate,
            held,
            started: None,
            received: 0,
            timer: Box::pin(tokio::time::sleep(deadline)),
        }
    }

    /// When the body is late: at its deadline, or when it falls below the minimum rate.
    fn due(&self, started: Instant) -> Instant {
        let end = started + self.deadline;
        if self.min_rate == 0 {
            return end;
        }
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        end.min(started + RATE_GRACE + earned)
    }

    fn late(&self, started: Instant) -> BodyRefused {
        if Instant::now() >= started + self.deadline {
            BodyRefused::Deadline(self.deadline.as_millis())
        } else {
            BodyRefused::TooSlow(self.min_rate)
        }
    }
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let started = *this.started.get_or_insert_with(Instant::now);
        if this.received == 0 {
            let due = this.due(started);
            this.timer.as_mut().reset(due);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if !this.held.take(data.len()) {
                        return Poll::Ready(Some(Err(BodyRefused::Busy.into())));
                    }
                    this.received += data.len() as u64;
                    if Instant::now() >= started + this.deadline {
                        return Poll::Ready(Some(Err(this.late(started).into())));
                    }
                    let due = this.due(started);
                    this.timer.as_mut().reset(due);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(this.late(started).into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_their_port() {
        assert_eq!(host_name("example.com:8080"), "example.com");
        assert_eq!(host_name("example.com"), "example.com");
        assert_eq!(host_name("[::1]:8080"), "[::1]");
        assert_eq!(host_name("127.0.0.1:0"), "127.0.0.1");
    }

    #[test]
    fn loopback_binds_accept_loopback_names_only() {
        let on = |listen: &str| ServerConfig {
            listen: listen.to_owned(),
            ..ServerConfig::default()
        };
        let hosts = allowed_hosts(&on("127.0.0.1:8080")).expect("checked on loopback");
        assert!(hosts.iter().any(|host| host == "localhost"));
        assert!(allowed_hosts(&on("[::1]:8080")).is_some());
        assert!(allowed_hosts(&on("localhost:8080")).is_some());
        assert!(allowed_hosts(&on("0.0.0.0:8080")).is_none());
        let listed = ServerConfig {
            allowed_hosts: Some(vec!["api.example.com".to_owned()]),
            ..on("0.0.0.0:8080")
        };
        assert_eq!(
            allowed_hosts(&listed),
            Some(vec!["api.example.com".to_owned()])
        );
    }
}
