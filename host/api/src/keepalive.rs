//! Keep-alive for streams whose model thinks before its first token: when no answer is ready
//! after `server.keepalive_ms`, the stream is committed (200, `text/event-stream`) and an SSE
//! comment goes out every `keepalive_ms` until the gateway's answer arrives, so proxies with
//! idle timeouts keep the connection. Failover still runs underneath; if every attempt fails,
//! the stream ends with an error chunk (`finish_reason: "error"`, no `[DONE]`) instead of an
//! HTTP error status. An answer ready before the first keep-alive is sent unchanged.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use tokio::time::{Instant, Interval, interval_at};

use super::error::ApiError;
use switchyard_gateway::{ChatCall, Gateway};

/// The comment sent while waiting.
const COMMENT: &[u8] = b": SWITCHYARD PROCESSING\n\n";

type Answer = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>>;

/// Serves `call`, keeping a stream alive with comments every `every` while no answer is ready
/// (`None`: never).
pub async fn chat(gateway: Arc<Gateway>, call: ChatCall, every: Option<Duration>) -> Response {
    let every = every.filter(|_| call.stream);
    let mut answer: Answer =
        Box::pin(async move { gateway.chat(call).await.map_err(ApiError::from) });
    let Some(every) = every else {
        return answer.await.unwrap_or_else(IntoResponse::into_response);
    };
    tokio::select! {
        result = &mut answer => return result.unwrap_or_else(IntoResponse::into_response),
        () = tokio::time::sleep(every) => {}
    }
    let ticks = interval_at(Instant::now() + every, every);
    let body = futures_util::stream::unfold(Phase::Start(answer, ticks), next_bytes);
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Where a committed stream is.
enum Phase {
    /// The first comment is due.
    Start(Answer, Interval),
    /// Waiting for the gateway's answer.
    Waiting(Answer, Interval),
    /// Relaying the answer's stream.
    Relaying(BodyDataStream),
    /// Nothing more to send.
    Ended,
}

async fn next_bytes(phase: Phase) -> Option<(Result<Bytes, axum::Error>, Phase)> {
    match phase {
        Phase::Start(answer, ticks) => Some((
            Ok(Bytes::from_static(COMMENT)),
            Phase::Waiting(answer, ticks),
        )),
        Phase::Waiting(mut answer, mut ticks) => tokio::select! {
            result = &mut answer => match result {
                Ok(response) => {
                    let mut data = response.into_body().into_data_stream();
                    let first = data.next().await?;
                    Some((first, Phase::Relaying(data)))
                }
                Err(error) => Some((Ok(error_event(&error)), Phase::Ended)),
            },
            _ = ticks.tick() => Some((Ok(Bytes::from_static(COMMENT)), Phase::Waiting(answer, ticks))),
        },
        Phase::Relaying(mut data) => {
            let next = data.next().await?;
            Some((next, Phase::Relaying(data)))
        }
        Phase::Ended => None,
    }
}

/// The error as the chunk that ends a failed stream: the error body of a non-streamed answer,
/// plus a choice finished with `error`.
fn error_event(error: &ApiError) -> Bytes {
    let mut chunk = error.body();
    if let Some(object) = chunk.as_object_mut() {
        object.insert("object".to_owned(), json!("chat.completion.chunk"));
        object.insert(
            "choices".to_owned(),
            json!([{ "index": 0, "delta": { "content": "" }, "finish_reason": "error" }]),
        );
    }
    let mut event = b"data: ".to_vec();
    // Serialising a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut event, &chunk);
    event.extend_from_slice(b"\n\n");
    Bytes::from(event)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn the_error_chunk_carries_the_error_and_an_error_finish() {
        let error = ApiError::new(StatusCode::BAD_GATEWAY, "upstream_error", "it broke");
        let event = error_event(&error);
        let text = std::str::from_utf8(&event).unwrap();
        let chunk: Value =
            serde_json::from_str(text.strip_prefix("data: ").unwrap().trim()).unwrap();
        assert_eq!(chunk["error"]["message"], "it broke");
        assert_eq!(chunk["choices"][0]["finish_reason"], "error");
        assert!(text.ends_with("\n\n"));
    }
}
