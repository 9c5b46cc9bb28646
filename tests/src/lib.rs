//! Test support for Switchyard: a mock upstream that speaks the OpenAI Chat Completions,
//! Anthropic Messages, Google Gemini, Cohere Chat v2 and AWS Bedrock Converse wire formats by replaying recorded
//! provider traffic (`fixtures/`), with fault injection chosen per request by the URL.
//!
//! # Routing
//!
//! | path | format | streams when |
//! |---|---|---|
//! | `POST /{scenario}/v1/chat/completions` | OpenAI (also Mistral, Groq...) | `"stream": true` |
//! | `POST /{scenario}/v1/openai/deployments/{d}/chat/completions?api-version=...` | OpenAI (Azure) | `"stream": true` |
//! | `POST /{scenario}/v1/responses` | OpenAI Responses API (`event:` named SSE; the terminal event is `response.completed`, `.incomplete` or `.failed`) | `"stream": true` |
//! | `POST /{scenario}/v1/embeddings` | OpenAI (and Mistral) embeddings, computed from the request (see [`embeddings`]) | never |
//! | `POST /{scenario}/v1beta/models/{model}:batchEmbedContents` | Gemini embeddings, computed (see [`provider_embeddings`]) | never |
//! | `POST /{scenario}/v2/embed` | Cohere Embed v2, computed | never |
//! | `POST /{scenario}/v1/model/{model}/invoke` | Bedrock InvokeModel of a Titan or Cohere embedding model, computed (SigV4 checked as for Converse) | never |
//! | `POST /{scenario}/v1/messages` | Anthropic | `"stream": true` |
//! | `POST /{scenario}/v1/projects/{p}/locations/{r}/publishers/google/models/{m}:generateContent` / `:streamGenerateContent` / `:predict` | Vertex AI Gemini (as Gemini), embeddings (computed) | the path says `streamGenerateContent` |
//! | `POST /{scenario}/v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict` / `:streamRawPredict` | Vertex AI Claude (as Anthropic) | `"stream": true` |
//! | `POST /token`, `GET /computeMetadata/v1/...` | Google OAuth (see [`google`]); once it issues tokens, Vertex AI routes require one | — |
//! | `POST /{scenario}/v1beta/models/{model}:generateContent` / `:streamGenerateContent?alt=sse` | Gemini (CRLF-framed SSE, no `[DONE]`) | the path says `streamGenerateContent` |
//! | `POST /{scenario}/v2/chat` | Cohere v2 (`event:` named SSE) | `"stream": true` |
//! | `POST /{scenario}/v1/generate` | Ledger, an invented batch-style API (whole JSON only; errors `{"fault": {"kind", "detail"}}`, a 500 is `overloaded`) | never |
//! | `POST /{scenario}/v1/model/{model}/converse` / `converse-stream` | Bedrock (binary `application/vnd.amazon.eventstream`; errors typed by `x-amzn-errortype`; a malformed or missing SigV4 `Authorization` answers 403) | the path says `converse-stream` |
//!
//! The version segment (`/v1`, `/v1beta`, `/v2`) is optional. The scenario is a
//! comma-separated list of directives; it is everything before the endpoint suffix, so
//! `fixture=<dir>/<name>` may contain a slash:
//!
//! | directive | effect |
//! |---|---|
//! | `fixture=<dir>/<name>` | replay `<name>.json` (whole) or `<name>.txt` / `<name>.chunks.txt` (streams); default `openai/openai-text`, `anthropic/anthropic-text`, `google/google-text`, `cohere/cohere-text` or `bedrock/amazon-bedrock-text`; unknown → 500 |
//! | `after_tool=<dir>/<name>` | replay this recording instead when the request's last message is a tool result (OpenAI format) |
//! | `status=<code>` | answer this 4xx/5xx status with the provider's error body |
//! | `retry_after=<s>` | add `retry-after` to error answers |
//! | `delay_ms=<n>` | wait before sending the response headers |
//! | `hang` | never answer (until the client goes away or the mock is dropped) |
//! | `chunk_delay_ms=<n>` | wait between streamed events |
//! | `stall_after=<n>` | send n events, then send nothing more without closing |
//! | `cut_after=<n>` | send n events, then abort the connection (the client sees a body error) |
//! | `no_terminal` | omit `data: [DONE]` (OpenAI) / `message_stop` (Anthropic) / `message-end` (Cohere) / the `finishReason` event (Gemini) / `metadata` (Bedrock), close cleanly |
//! | `html` | 200 `text/html` page |
//! | `garbage` | 200 with invalid UTF-8 |
//! | `split` | write each event in several pieces cut at awkward bytes (`\r`/`\n`, mid-UTF-8) |
//! | `crlf` | frame events with `\r\n` (not for Bedrock) |
//! | `fail_first=<n>` | the first n requests to this scenario answer `status` (default 500) |
//! | `fail_after=<n>` | the requests to this scenario after the first n answer `status` (default 500) |
//! | `exception_after=<n>` | Bedrock streams: send n events, then a `throttlingException` message, and close |
//! | `refuse_key=<key>` | requests carrying this credential (bearer, `x-api-key`, `api-key`) answer `status` (default 429) |
//!
//! Embeddings answers, computed rather than replayed, take the same directives as a whole
//! answer: `hang`, `delay_ms`, `status`, `fail_first`/`fail_after`, and `cut_after`/`stall_after`
//! (half the answer, then the cut or the stall) and `split`.
//!
//! Unknown directives answer 400. Every answer carries `x-mock-scenario`. Every request is
//! recorded before it is answered; see [`MockUpstream::requests`].

pub mod aws;
pub mod embeddings;
pub mod faults;
pub mod fixtures;
pub mod google;
pub mod provider_embeddings;
pub mod recorder;
pub mod scenario;
pub mod server;
pub mod sse;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

pub use recorder::RecordedRequest;
pub use scenario::{Format, Scenario};

/// The recorded fixtures shipped with this crate.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

/// A mock provider upstream serving in a background tokio task until dropped.
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    recorder: recorder::Recorder,
    google: google::GoogleAuth,
    shutdown: watch::Sender<bool>,
}

impl MockUpstream {
    /// Binds 127.0.0.1:0 and serves in a background tokio task until dropped.
    pub async fn start() -> anyhow::Result<MockUpstream> {
        Self::start_with_fixtures(fixtures_dir()).await
    }

    /// Same, with fixtures from another folder.
    pub async fn start_with_fixtures(dir: PathBuf) -> anyhow::Result<MockUpstream> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), dir).await
    }

    /// Binds `addr` (port 0 picks a free port) and serves fixtures from `dir`.
    pub async fn start_on(addr: SocketAddr, dir: PathBuf) -> anyhow::Result<MockUpstream> {
        anyhow::ensure!(
            dir.is_dir(),
            "mock upstream: fixtures folder {} does not exist",
            dir.display()
        );
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("mock upstream: cannot bind {addr}"))?;
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let recorder = recorder::Recorder::default();
        let google = google::GoogleAuth::default();
        let state = Arc::new(server::ServerState {
            recorder: recorder.clone(),
            google: google.clone(),
            fixtures: fixtures::Fixtures::new(dir),
            shutdown: shutdown_rx.clone(),
        });
        let app = server::router(state);
        tokio::spawn(async move {
            let serve = axum::serve(listener, app)
                .with_graceful_shutdown(faults::shutdown_signal(shutdown_rx));
            if let Err(e) = serve.await {
                tracing::warn!("mock upstream stopped: {e}");
            }
        });
        Ok(MockUpstream {
            addr,
            recorder,
            google,
            shutdown,
        })
    }

    /// Google's OAuth side of the mock: the token endpoint (`{url}/token`), the metadata server
    /// and the access tokens the Vertex AI routes require once it issues them.
    pub fn google(&self) -> &google::GoogleAuth {
        &self.google
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// "http://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL for a scenario, e.g. `mock.base_url("fixture=openai/openai-text")` ==
    /// `"http://127.0.0.1:PORT/fixture=openai/openai-text/v1"`. An empty scenario gives
    /// `"http://127.0.0.1:PORT/v1"` (default fixtures, no faults).
    pub fn base_url(&self, scenario: &str) -> String {
        if scenario.is_empty() {
            format!("{}/v1", self.url())
        } else {
            format!("{}/{scenario}/v1", self.url())
        }
    }

    /// Every request received so far (method, path, query, headers lowercase, body bytes /
    /// parsed JSON), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.recorder.requests()
    }

    /// Requests whose path starts with `"/{scenario}/"`.
    pub fn requests_for(&self, scenario: &str) -> Vec<RecordedRequest> {
        let prefix = format!("/{scenario}/");
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(&prefix))
            .collect()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        // Stops accepting, ends hung and stalled responses, lets the server task finish.
        let _ = self.shutdown.send(true);
    }
}

/// Paths of the hostile test plugins, built for `wasm32-wasip2` by this crate's build script:
/// `PANIC` panics, `SPIN` loops forever, `HOG` allocates without bound.
pub mod hostile {
    include!(concat!(env!("OUT_DIR"), "/hostile_plugins.rs"));
}
