//! The fast mock upstream: an OpenAI-compatible `POST …/chat/completions` that answers from
//! pre-rendered bytes, records nothing, and serves every contender at once.
//!
//! What it does is chosen by the request's `model`, so the gateway, LiteLLM, Portkey and the
//! direct path all reach the same behaviour with the same body. The last `/`-separated segment of
//! the model is split on `-`; `l<µs>` is the latency before the response head, `c<n>` the number
//! of content chunks of a stream, `i<µs>` the interval between stream chunks. Anything else keeps
//! the defaults (zero latency, [`DEFAULT_CHUNKS`] chunks, no interval). For example
//! `bench/c20-i50000` streams 20 chunks 50 ms apart, and `bench/model` answers at once.
//!
//! A non-streamed answer is a `chat.completion` of about 2 KB; a stream is a role chunk, the
//! content chunks, a finish chunk, a usage chunk and `data: [DONE]`, in OpenAI's chunk format.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Content chunks in a stream when the model does not say.
pub const DEFAULT_CHUNKS: usize = 20;

/// What one request asks the mock to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Delay before the response head.
    pub latency: Duration,
    /// Content chunks of a stream.
    pub chunks: usize,
    /// Delay between stream chunks.
    pub interval: Duration,
}

impl Profile {
    /// Reads the profile out of a model id (see the module docs).
    pub fn from_model(model: &str) -> Profile {
        let mut profile = Profile {
            latency: Duration::ZERO,
            chunks: DEFAULT_CHUNKS,
            interval: Duration::ZERO,
        };
        let last = model.rsplit('/').next().unwrap_or(model);
        for token in last.split('-') {
            let (kind, digits) = token.split_at(token.len().min(1));
            let Ok(value) = digits.parse::<u64>() else {
                continue;
            };
            match kind {
                "l" => profile.latency = Duration::from_micros(value),
                "c" => profile.chunks = value as usize,
                "i" => profile.interval = Duration::from_micros(value),
                _ => {}
            }
        }
        profile
    }
}

#[derive(serde::Deserialize)]
struct RequestHead {
    #[serde(default)]
    model: String,
    #[serde(default)]
    stream: bool,
}

type Body = BoxBody<Bytes, Infallible>;

/// Pre-rendered response bytes.
struct Canned {
    completion: Bytes,
    role_chunk: Bytes,
    content_chunk: Bytes,
    finish_chunk: Bytes,
    usage_chunk: Bytes,
    done: Bytes,
}

impl Canned {
    fn new() -> Canned {
        let content = "Galaxy Day celebrates the universe's vastness, beauty, and our collective \
                       curiosity about the cosmos. "
            .repeat(16);
        let completion = serde_json::json!({
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1770933883,
            "model": "gpt-4.1-nano-2025-04-14",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": 16, "completion_tokens": 363, "total_tokens": 379,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
            },
            "service_tier": "default",
            "system_fingerprint": "fp_de604bd877"
        });
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
            event(&serde_json::json!({
                "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1770933892,
                "model": "gpt-4.1-nano-2025-04-14", "system_fingerprint": "fp_de604bd877",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
                "usage": null
            }))
        };
        let usage_chunk = event(&serde_json::json!({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1770933892,
            "model": "gpt-4.1-nano-2025-04-14", "system_fingerprint": "fp_de604bd877",
            "choices": [],
            "usage": {"prompt_tokens": 16, "completion_tokens": 20, "total_tokens": 36,
                "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
        }));
        Canned {
            completion: Bytes::from(completion.to_string()),
            role_chunk: chunk(
                serde_json::json!({"role": "assistant", "content": ""}),
                serde_json::Value::Null,
            ),
            content_chunk: chunk(
                serde_json::json!({"content": " token"}),
                serde_json::Value::Null,
            ),
            finish_chunk: chunk(serde_json::json!({}), serde_json::json!("stop")),
            usage_chunk,
            done: Bytes::from_static(b"data: [DONE]\n\n"),
        }
    }

    /// Every event of a stream with `chunks` content chunks, in order.
    fn stream_events(&self, chunks: usize) -> Vec<Bytes> {
        let mut events = Vec::with_capacity(chunks + 4);
        events.push(self.role_chunk.clone());
        events.extend(std::iter::repeat_n(self.content_chunk.clone(), chunks));
        events.push(self.finish_chunk.clone());
        events.push(self.usage_chunk.clone());
        events.push(self.done.clone());
        events
    }
}

/// The non-streamed answer's body.
pub fn completion_body() -> Bytes {
    Canned::new().completion
}

/// The `data` of each event of a stream with `chunks` content chunks, `[DONE]` excluded.
pub fn chunk_events(chunks: usize) -> Vec<String> {
    let canned = Canned::new();
    let mut events = canned.stream_events(chunks);
    events.pop();
    events
        .iter()
        .map(|event| {
            String::from_utf8_lossy(event)
                .trim_start_matches("data: ")
                .trim_end()
                .to_owned()
        })
        .collect()
}

fn event(value: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// Binds `listen` and serves until the process ends. Prints `mock listening on ADDR` first.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot bind the mock to {listen}"))?;
    println!("mock listening on {}", listener.local_addr()?);
    let canned: &'static Canned = Box::leak(Box::new(Canned::new()));
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => continue, // out of descriptors for a moment: keep serving the others
        };
        let _ = socket.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(canned, request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

async fn handle(
    canned: &'static Canned,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if !request.uri().path().ends_with("/chat/completions") {
        return Ok(plain(StatusCode::NOT_FOUND, "not found"));
    }
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    let Ok(head) = serde_json::from_slice::<RequestHead>(&body) else {
        return Ok(plain(StatusCode::BAD_REQUEST, "invalid JSON"));
    };
    let profile = Profile::from_model(&head.model);
    if !profile.latency.is_zero() {
        tokio::time::sleep(profile.latency).await;
    }
    if !head.stream {
        return Ok(respond(
            "application/json",
            Full::new(canned.completion.clone()).boxed(),
        ));
    }
    let events = canned.stream_events(profile.chunks);
    let interval = profile.interval;
    let frames = stream::unfold(
        (events.into_iter(), true),
        move |(mut events, first)| async move {
            let next = events.next()?;
            if !first && !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
            Some((Ok::<_, Infallible>(Frame::data(next)), (events, false)))
        },
    );
    Ok(respond(
        "text/event-stream",
        StreamBody::new(frames).boxed(),
    ))
}

fn respond(content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

fn plain(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = respond(
        "text/plain",
        Full::new(Bytes::from_static(message.as_bytes())).boxed(),
    );
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_from_model() {
        let profile = Profile::from_model("bench/c20-i50000-l300");
        assert_eq!(profile.chunks, 20);
        assert_eq!(profile.interval, Duration::from_millis(50));
        assert_eq!(profile.latency, Duration::from_micros(300));
        assert_eq!(Profile::from_model("bench/model").chunks, DEFAULT_CHUNKS);
        assert_eq!(Profile::from_model("c5").chunks, 5);
    }

    #[test]
    fn stream_ends_with_usage_and_done() {
        let canned = Canned::new();
        let events = canned.stream_events(3);
        assert_eq!(events.len(), 7);
        assert!(
            events[5].starts_with(b"data: {") && events[5].windows(7).any(|w| w == b"\"usage\"")
        );
        assert_eq!(&events[6][..], b"data: [DONE]\n\n");
    }
}
