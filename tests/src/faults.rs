//! Fault injection: provider-shaped error bodies, non-JSON answers, and response bodies that are
//! delayed, split, stalled or cut according to the scenario.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::watch;

use crate::scenario::{Format, Scenario};
use crate::sse::{Event, split_pieces, to_crlf};

/// The error body a provider sends with `status`, in `format`'s shape.
///
/// OpenAI: `{"error":{"message","type","param","code"}}`. Anthropic:
/// `{"type":"error","error":{"type","message"}}` with the type chosen by the status. Gemini: a
/// google.rpc body `{"error":{"code","message","status"}}`, with a `RetryInfo` detail on 429
/// (`retryDelay` = the `retry_after` seconds, default 1). Cohere: `{"id","message"}`. Bedrock:
/// `{"message"}` (the type goes in `x-amzn-errortype`, see [`bedrock_error_type`]).
pub fn error_body(format: Format, status: u16, retry_after: Option<u64>) -> serde_json::Value {
    match format {
        Format::Gemini | Format::GeminiEmbeddings | Format::VertexEmbeddings => {
            let rpc = google_rpc_status(status);
            let mut error = json!({
                "code": status,
                "message": format!("mock upstream: {rpc} (status {status})"),
                "status": rpc,
            });
            if status == 429 {
                error["details"] = json!([{
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": format!("{}s", retry_after.unwrap_or(1)),
                }]);
            }
            json!({ "error": error })
        }
        Format::Ledger => {
            let kind = match status {
                429 => "quota",
                500 | 503 => "overloaded",
                400 | 404 | 422 => "invalid",
                401 | 403 => "denied",
                _ => "internal",
            };
            json!({ "fault": {
                "kind": kind,
                "detail": format!("mock upstream: ledger {kind} (status {status})"),
            }})
        }
        Format::Bedrock | Format::BedrockInvoke => json!({
            "message": format!("mock upstream: {} (status {status})", bedrock_error_type(status)),
        }),
        Format::Cohere | Format::CohereEmbeddings => json!({
            "id": "mock-error",
            "message": format!("mock upstream: cohere error (status {status})"),
        }),
        Format::OpenAi | Format::OpenAiEmbeddings | Format::OpenAiResponses => {
            let (ty, code, message) = match status {
                401 => (
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    "Incorrect API key provided.",
                ),
                403 => (
                    "invalid_request_error",
                    Some("unsupported_country_region_territory"),
                    "Country, region, or territory not supported.",
                ),
                404 => (
                    "invalid_request_error",
                    Some("model_not_found"),
                    "The model does not exist or you do not have access to it.",
                ),
                429 => (
                    "requests",
                    Some("rate_limit_exceeded"),
                    "Rate limit reached for requests. Please try again later.",
                ),
                400..=499 => ("invalid_request_error", None, "Invalid request."),
                503 => (
                    "server_error",
                    None,
                    "The engine is currently overloaded, please try again later.",
                ),
                _ => (
                    "server_error",
                    None,
                    "The server had an error while processing your request.",
                ),
            };
            json!({"error": {
                "message": format!("{message} (mock upstream status {status})"),
                "type": ty,
                "param": null,
                "code": code,
            }})
        }
        Format::Anthropic => {
            let ty = anthropic_error_type(status);
            json!({"type": "error", "error": {
                "type": ty,
                "message": format!("mock upstream: {ty} (status {status})"),
            }})
        }
    }
}

/// The google.rpc status Gemini sends with an HTTP status.
pub fn google_rpc_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        402 | 405..=428 | 430..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// The AWS error type Bedrock sends in `x-amzn-errortype` with an HTTP status.
pub fn bedrock_error_type(status: u16) -> &'static str {
    match status {
        400 => "ValidationException",
        401 | 403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        402 | 405..=499 => "ValidationException",
        _ => "InternalServerException",
    }
}

/// Anthropic's error `type` for an HTTP status.
pub fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// The page sent by the `html` directive: what a proxy or captive portal returns.
pub const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head>\
<body><h1>Checking your browser before accessing the API</h1>\
<p>This is an HTML page from the mock upstream, not JSON.</p></body></html>\n";

/// The body sent by the `garbage` directive: bytes that are not UTF-8 (lone continuation bytes,
/// an overlong encoding, a truncated sequence), framed as one SSE event when streaming.
pub fn garbage_body(stream: bool) -> Bytes {
    const GARBAGE: &[u8] = b"\xff\xfe{\"id\":\"\x80\x81\xc0\xaf\"\xc3";
    if stream {
        let mut v = b"data: ".to_vec();
        v.extend_from_slice(GARBAGE);
        v.extend_from_slice(b"\n\n");
        Bytes::from(v)
    } else {
        Bytes::from_static(GARBAGE)
    }
}

/// One step of a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes as one body frame.
    Data(Bytes),
    /// Wait.
    Sleep(Duration),
    /// Let the server flush what it has, so the next frame is a separate write.
    Yield,
    /// End the body with an error: the connection is aborted, the client sees a body error.
    Cut,
    /// Keep the connection open without sending anything more (until the mock shuts down).
    Stall,
}

/// The body plan for a streamed answer made of `events`, with the scenario's stream faults:
/// `no_terminal`, `cut_after`, `stall_after`, `chunk_delay_ms`, `crlf`, `split`.
///
/// `cut_after`/`stall_after` count events sent; when there are fewer events the whole stream is
/// sent and then cut/stalled instead of closing. When both are given the smaller wins.
pub fn stream_plan(events: Vec<Event>, sc: &Scenario) -> Vec<Step> {
    let events: Vec<Event> = events
        .into_iter()
        .filter(|e| !(sc.no_terminal && e.terminal))
        .collect();
    let end = match (sc.cut_after, sc.stall_after) {
        (Some(c), Some(s)) if s < c => Some((s, Step::Stall)),
        (Some(c), _) => Some((c, Step::Cut)),
        (None, Some(s)) => Some((s, Step::Stall)),
        (None, None) => None,
    };
    let limit = end.as_ref().map_or(usize::MAX, |(n, _)| *n);
    let mut steps = Vec::new();
    for (i, event) in events.into_iter().take(limit).enumerate() {
        if i > 0
            && let Some(d) = sc.chunk_delay
        {
            steps.push(Step::Sleep(d));
        }
        let bytes = if sc.crlf {
            to_crlf(&event.bytes)
        } else {
            event.bytes
        };
        push_bytes(&mut steps, bytes, sc.split);
    }
    if let Some((_, step)) = end {
        steps.push(step);
    }
    steps
}

/// The body plan for a whole (non-streamed) answer: `split` cuts it into pieces; `cut_after` or
/// `stall_after` (any value) sends the first half and then cuts or stalls.
pub fn whole_plan(body: Bytes, sc: &Scenario) -> Vec<Step> {
    let mut steps = Vec::new();
    let end = match (sc.cut_after, sc.stall_after) {
        (Some(c), Some(s)) if s < c => Some(Step::Stall),
        (Some(_), _) => Some(Step::Cut),
        (None, Some(_)) => Some(Step::Stall),
        (None, None) => None,
    };
    let body = if end.is_some() {
        body.slice(..body.len() / 2)
    } else {
        body
    };
    push_bytes(&mut steps, body, sc.split);
    if let Some(step) = end {
        steps.push(step);
    }
    steps
}

fn push_bytes(steps: &mut Vec<Step>, bytes: Bytes, split: bool) {
    if split {
        for (j, piece) in split_pieces(&bytes).into_iter().enumerate() {
            if j > 0 {
                steps.push(Step::Yield);
            }
            steps.push(Step::Data(piece));
        }
    } else if !bytes.is_empty() {
        steps.push(Step::Data(bytes));
    }
}

/// Resolves once the mock upstream is shutting down.
pub async fn shutdown_signal(mut rx: watch::Receiver<bool>) {
    // An error means the sender is gone, which is also a shutdown.
    let _ = rx.wait_for(|down| *down).await;
}

/// A response body that plays `steps`.
pub fn body_from_plan(steps: Vec<Step>, shutdown: watch::Receiver<bool>) -> Body {
    let state = (VecDeque::from(steps), shutdown);
    let stream = futures_util::stream::unfold(state, |(mut steps, shutdown)| async move {
        loop {
            match steps.pop_front()? {
                Step::Data(bytes) => return Some((Ok(bytes), (steps, shutdown))),
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Yield => tokio::task::yield_now().await,
                Step::Cut => {
                    // hyper drops buffered bytes when the body fails: let it flush what was sent
                    // so far, so the client really receives the first n events.
                    tokio::task::yield_now().await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "mock upstream: cut_after: aborting the connection mid-body",
                    );
                    return Some((Err(err), (VecDeque::new(), shutdown)));
                }
                Step::Stall => {
                    shutdown_signal(shutdown.clone()).await;
                    let err = std::io::Error::other("mock upstream: shut down while stalled");
                    return Some((Err(err), (VecDeque::new(), shutdown)));
                }
            }
        }
    });
    Body::from_stream(stream)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sse::events_from_lines;

    fn events() -> Vec<Event> {
        let lines: Vec<String> = (0..3).map(|i| format!("{{\"i\":{i}}}")).collect();
        events_from_lines(&lines, Format::OpenAi)
    }

    fn data_count(steps: &[Step]) -> usize {
        steps.iter().filter(|s| matches!(s, Step::Data(_))).count()
    }

    #[test]
    fn plans() {
        let sc = Scenario::default();
        assert_eq!(data_count(&stream_plan(events(), &sc)), 4);

        let sc = Scenario::parse("no_terminal").unwrap();
        let plan = stream_plan(events(), &sc);
        assert_eq!(data_count(&plan), 3);

        let sc = Scenario::parse("cut_after=2,chunk_delay_ms=5").unwrap();
        let plan = stream_plan(events(), &sc);
        assert_eq!(data_count(&plan), 2);
        assert_eq!(plan.last(), Some(&Step::Cut));
        assert_eq!(plan[1], Step::Sleep(Duration::from_millis(5)));

        let sc = Scenario::parse("cut_after=3,stall_after=1").unwrap();
        let plan = stream_plan(events(), &sc);
        assert_eq!(data_count(&plan), 1);
        assert_eq!(plan.last(), Some(&Step::Stall));
    }

    #[test]
    fn error_shapes() {
        assert_eq!(
            error_body(Format::Anthropic, 529, None)["error"]["type"],
            "overloaded_error"
        );
        assert_eq!(
            error_body(Format::Anthropic, 401, None)["error"]["type"],
            "authentication_error"
        );
        assert_eq!(
            error_body(Format::Anthropic, 500, None)["error"]["type"],
            "api_error"
        );
        assert_eq!(
            error_body(Format::OpenAi, 429, None)["error"]["code"],
            "rate_limit_exceeded"
        );
        let gemini = error_body(Format::Gemini, 429, Some(7));
        assert_eq!(gemini["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(gemini["error"]["details"][0]["retryDelay"], "7s");
        assert_eq!(
            error_body(Format::Gemini, 503, None)["error"]["status"],
            "UNAVAILABLE"
        );
        assert!(error_body(Format::Cohere, 500, None)["message"].is_string());
        assert_eq!(bedrock_error_type(429), "ThrottlingException");
        assert!(
            error_body(Format::Bedrock, 400, None)["message"]
                .as_str()
                .is_some_and(|m| m.contains("ValidationException"))
        );
        assert!(std::str::from_utf8(&garbage_body(false)).is_err());
    }
}
