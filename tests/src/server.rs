//! The HTTP side of the mock upstream: routing, recording, and choosing what to answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::watch;

use crate::aws::check_signature;
use crate::faults::{
    HTML_PAGE, bedrock_error_type, body_from_plan, error_body, garbage_body, shutdown_signal,
    stream_plan, whole_plan,
};
use crate::fixtures::{Fixtures, Replay};
use crate::recorder::{RecordedRequest, Recorder};
use crate::scenario::{Format, Scenario, split_path};
use crate::sse::{bedrock_exception, events_from_lines, events_from_raw};

/// Largest request body the mock accepts.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// State shared by every request.
#[derive(Debug)]
pub struct ServerState {
    /// Where requests are logged.
    pub recorder: Recorder,
    /// Where fixtures come from.
    pub fixtures: Fixtures,
    /// Google's OAuth side: token endpoint, metadata server, issued tokens.
    pub google: crate::google::GoogleAuth,
    /// Turns `true` when the mock shuts down; ends hung and stalled responses.
    pub shutdown: watch::Receiver<bool>,
}

/// The mock upstream's router: every path goes to one handler that parses the scenario.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(st): State<Arc<ServerState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("mock upstream: cannot read request body: {e}"),
            );
        }
    };
    let path = parts.uri.path().to_string();
    let route = split_path(&path);
    let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let body_bytes = body.clone();
    let request_json = json.clone();
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_string),
        scenario: route.as_ref().map(|(s, _)| s.clone()).unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        json,
    };
    let stream = recorded.is_stream();
    let signature = match &route {
        Some((_, format)) if format.is_bedrock() => check_signature(&recorded.headers),
        _ => Ok(()),
    };
    let header = |name: &str| {
        (recorded.headers.iter())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let authorization = header("authorization");
    let flavor = header("metadata-flavor");
    let host = header("host").unwrap_or_default();
    let count = st.recorder.record(recorded);
    let google = match path.as_str() {
        crate::google::TOKEN_PATH => Some(st.google.exchange(
            &body_bytes,
            &format!("http://{host}{}", crate::google::TOKEN_PATH),
        )),
        crate::google::METADATA_TOKEN_PATH => Some(st.google.metadata_token(flavor.as_deref())),
        _ if crate::scenario::is_vertex(&path)
            && st.google.enforcing()
            && !st.google.accepts(authorization.as_deref()) =>
        {
            Some((
                401,
                serde_json::json!({"error": {
                    "code": 401,
                    "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
                    "status": "UNAUTHENTICATED"
                }}),
            ))
        }
        _ => None,
    };
    if let Some((status, answer)) = google {
        return with_type(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "application/json",
            Body::from(answer.to_string()),
        );
    }
    if let Err(problem) = signature {
        let mut resp = text(
            StatusCode::FORBIDDEN,
            format!("mock upstream: malformed AWS SigV4 signature: {problem}"),
        );
        resp.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static("IncompleteSignatureException"),
        );
        return resp;
    }

    let Some((scenario, format)) = route else {
        return text(
            StatusCode::NOT_FOUND,
            format!(
                "mock upstream: no route for {} {path}; expected POST /{{scenario}}/v1/chat/completions, \
                 /{{scenario}}/v1/messages, /{{scenario}}/v1beta/models/{{model}}:generateContent, \
                 /{{scenario}}/v2/chat, /{{scenario}}/openai/deployments/{{d}}/chat/completions or \
                 /{{scenario}}/model/{{model}}/converse[-stream]",
                parts.method
            ),
        );
    };
    let mut resp = if parts.method != Method::POST {
        text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "mock upstream: {} {path}: only POST is served",
                parts.method
            ),
        )
    } else {
        match Scenario::parse(&scenario) {
            Ok(sc) if refused(&sc, &parts.headers) => {
                error_response(format, sc.status.unwrap_or(429), sc.retry_after)
            }
            Ok(sc) => respond(&st, &sc, format, stream, count, request_json.as_ref()).await,
            Err(msg) => text(StatusCode::BAD_REQUEST, format!("mock upstream: {msg}")),
        }
    };
    if let Ok(v) = HeaderValue::from_str(&scenario) {
        resp.headers_mut().insert("x-mock-scenario", v);
    }
    resp
}

/// Whether the request carries the credential the scenario refuses (`refuse_key`).
fn refused(sc: &Scenario, headers: &axum::http::HeaderMap) -> bool {
    let Some(refused) = &sc.refuse_key else {
        return false;
    };
    ["authorization", "x-api-key", "api-key"]
        .iter()
        .any(|name| {
            headers
                .get(*name)
                .and_then(|value| value.to_str().ok())
                .map(|value| value.strip_prefix("Bearer ").unwrap_or(value))
                .is_some_and(|value| value == refused)
        })
}

/// Produces the answer for a parsed scenario; `count` is this request's 1-based index among the
/// requests to the same scenario.
async fn respond(
    st: &ServerState,
    sc: &Scenario,
    format: Format,
    stream: bool,
    count: u64,
    request: Option<&serde_json::Value>,
) -> Response {
    if sc.hang {
        shutdown_signal(st.shutdown.clone()).await;
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "mock upstream: shut down while hanging".to_string(),
        );
    }
    if let Some(d) = sc.delay {
        tokio::time::sleep(d).await;
    }
    if let Some(per_token) = sc.ms_per_max_token {
        let limit = |field: &str| request?.get(field)?.as_u64();
        let tokens = limit("max_tokens")
            .or_else(|| limit("max_completion_tokens"))
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(tokens.saturating_mul(per_token))).await;
    }
    let last_text = request.and_then(|r| {
        r.get("messages")?
            .as_array()?
            .last()?
            .get("content")?
            .as_str()
    });
    let refused = match (sc.refuse_one_in, last_text) {
        (Some(n), Some(text)) => n > 0 && crate::scenario::fnv1a(text.as_bytes()).is_multiple_of(n),
        _ => false,
    };
    if refused {
        return error_response(format, 400, None);
    }
    let failing = match (sc.fail_first, sc.fail_after) {
        (Some(n), _) => count <= n,
        (None, Some(n)) => count > n,
        (None, None) => sc.status.is_some() && sc.refuse_key.is_none(),
    };
    if failing {
        return error_response(format, sc.status.unwrap_or(500), sc.retry_after);
    }
    if sc.html {
        return with_type(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Body::from(HTML_PAGE),
        );
    }
    if format == Format::Bedrock && sc.crlf {
        return text(
            StatusCode::BAD_REQUEST,
            "mock upstream: `crlf` does not apply to Bedrock's binary event streams".to_owned(),
        );
    }
    if format != Format::Bedrock && sc.exception_after.is_some() {
        return text(
            StatusCode::BAD_REQUEST,
            "mock upstream: `exception_after` applies to Bedrock streams only".to_owned(),
        );
    }
    if format.is_embeddings() {
        return match crate::provider_embeddings::answer(format, request) {
            Ok(answer) => {
                // The whole-answer faults apply as to chat: `cut_after`, `stall_after`, `split`.
                let plan = whole_plan(Bytes::from(answer.body.to_string()), sc);
                let mut resp = with_type(
                    StatusCode::OK,
                    "application/json",
                    body_from_plan(plan, st.shutdown.clone()),
                );
                for (name, value) in answer.headers {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        resp.headers_mut().insert(name, value);
                    }
                }
                resp
            }
            Err(msg) => text(StatusCode::BAD_REQUEST, format!("mock upstream: {msg}")),
        };
    }
    let content_type = match (stream, format) {
        (true, Format::Bedrock) => "application/vnd.amazon.eventstream",
        (true, _) => "text/event-stream",
        (false, _) => "application/json",
    };
    if sc.garbage {
        let plan = whole_plan(garbage_body(stream), sc);
        return with_type(
            StatusCode::OK,
            content_type,
            body_from_plan(plan, st.shutdown.clone()),
        );
    }
    let after_tool = request
        .and_then(|r| r.get("messages")?.as_array()?.last()?.get("role")?.as_str())
        == Some("tool");
    let name = match (&sc.after_tool, after_tool) {
        (Some(fixture), true) => fixture.as_str(),
        _ => sc
            .fixture
            .as_deref()
            .unwrap_or_else(|| format.default_fixture()),
    };
    let plan = match st.fixtures.load(name, stream).await {
        Err(msg) => return text(StatusCode::INTERNAL_SERVER_ERROR, msg),
        Ok(Replay::Json(body)) => whole_plan(body, sc),
        Ok(Replay::Lines(lines)) => {
            let mut events = events_from_lines(&lines, format);
            if let Some(n) = sc.exception_after {
                events.truncate(n);
                events.push(bedrock_exception());
            }
            stream_plan(events, sc)
        }
        Ok(Replay::Raw(raw)) => stream_plan(events_from_raw(&raw), sc),
    };
    let mut resp = with_type(
        StatusCode::OK,
        content_type,
        body_from_plan(plan, st.shutdown.clone()),
    );
    if stream {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    resp
}

fn error_response(format: Format, status: u16, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = Bytes::from(error_body(format, status, retry_after).to_string());
    let mut resp = with_type(code, "application/json", Body::from(body));
    if format.is_bedrock() {
        resp.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static(bedrock_error_type(status)),
        );
    }
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn text(status: StatusCode, msg: String) -> Response {
    with_type(status, "text/plain; charset=utf-8", Body::from(msg))
}
