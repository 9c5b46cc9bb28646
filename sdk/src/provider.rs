//! Provider adapters: the [`Provider`] trait, the [`export_provider!`](crate::export_provider)
//! macro and helpers for requests, errors and usage.
//!
//! ```ignore
//! use switchyard_sdk::provider::*;
//!
//! struct MyAdapter;
//!
//! impl Provider for MyAdapter {
//!     type Decoder = MyDecoder;
//!     fn describe() -> Descriptor { /* ... */ }
//!     fn build_request(request: ChatRequest, endpoint: EndpointSettings, stream: bool)
//!         -> Result<HttpRequest, PluginError> { /* ... */ }
//!     fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> { /* ... */ }
//! }
//!
//! switchyard_sdk::export_provider!(MyAdapter);
//! ```

use std::cell::RefCell;
use std::marker::PhantomData;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        // The SDK's own copy of the contract (`sdk/wit`, copied from the repository's `wit/`).
        path: "wit",
        world: "provider",
        pub_export_macro: true,
        export_macro_name: "__export_provider_world",
        default_bindings_module: "::switchyard_sdk::provider::bindings",
        runtime_path: "::switchyard_sdk::__private::wit_bindgen::rt",
    });
}

use bindings::exports::switchyard::plugin::adapter as wit;

pub use crate::descriptor::DescriptorBuilder;
pub use crate::embeddings::{EmbeddingInput, EmbeddingsRequest};
pub use crate::openai::*;
pub use crate::options::{BearerAuth, EndpointOptions, PathOptions, parse_options};
pub use bindings::switchyard::plugin::types::{
    AwsSigv4Scope, CredentialPlacement, EndpointSettings, Finish, FinishReason, Header,
    HttpRequest, HttpResponse, ParsedEmbeddings, ParsedResponse, PluginError, RateLimit, SseEvent,
    StreamOutput, Usage,
};

/// What a provider adapter declares about itself when it loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Plugin name, e.g. `openai`. Configuration refers to the plugin by this name.
    pub name: String,
    /// Plugin version (semver).
    pub version: String,
    /// Hosts the adapter may send requests to (`*` any, `*.example.com` any subdomain).
    pub allowed_hosts: Vec<String>,
    /// What the adapter supports.
    pub capabilities: Capabilities,
}

/// What a provider adapter can do for chat. Whether it serves embeddings is
/// [`Provider::EMBEDDINGS`]. The gateway routes by it: it never sends an adapter a request
/// needing a capability it does not declare (the default declares none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The adapter can decode streamed responses.
    pub streaming: bool,
    /// The adapter translates tool definitions and tool calls.
    pub tools: bool,
    /// Request parameters the adapter forwards, e.g. `temperature`, `stop`, `tools`.
    pub supported_parameters: Vec<String>,
    /// The adapter passes image parts (`image_url`) on.
    pub vision: bool,
    /// The adapter passes document parts (`file`, PDFs) on.
    pub documents: bool,
    /// The adapter honours `response_format` of type `json_schema`.
    pub json_schema: bool,
    /// The adapter passes reasoning settings (`reasoning`, `reasoning_effort`) on.
    pub reasoning: bool,
}

/// A provider adapter. Implement it on a unit struct and export it with
/// [`export_provider!`](crate::export_provider).
pub trait Provider: 'static {
    /// The per-stream decoder.
    type Decoder: StreamDecoder;

    /// Name, version, allowed upstream hosts and capabilities.
    fn describe() -> Descriptor;

    /// Builds the upstream request for a canonical chat request.
    fn build_request(
        request: ChatRequest,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError>;

    /// Builds the upstream request from the canonical request's JSON bytes, as the host sends
    /// them. The default reads them into a [`ChatRequest`] for [`Provider::build_request`]. An
    /// adapter that passes the conversation on as it is (an OpenAI-compatible upstream) can read
    /// them with [`read_passed_request`] instead: the messages' content stays the client's JSON
    /// text, which for a long conversation is most of the work of reading and writing it.
    fn build_request_from_json(
        request: &[u8],
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        Self::build_request(read_request(request)?, endpoint, stream)
    }

    /// Whether the adapter sends the request's `messages` and `tools` to its upstream exactly as
    /// the canonical request has them, in a JSON object body (an OpenAI-compatible upstream).
    /// Set it to `true` and the gateway hands [`Provider::build_request_from_json`] the request
    /// with both as empty lists (`[]`), and puts the client's lists back into the body it
    /// returns: a long conversation is never copied into the sandbox, read and written again.
    /// Write them as you read them (an empty list) or leave them out: a field left out stays
    /// out. The body must be a JSON object, or the request fails as the adapter's fault.
    const PASSES_CONVERSATION: bool = false;

    /// Translates a successful non-streaming response.
    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError>;

    /// Classifies an unsuccessful response. The default maps the HTTP status with
    /// [`error_from_status`] and uses the body's `error.message` when it has one.
    fn parse_error(response: HttpResponse) -> PluginError {
        error_from_status(&response)
    }

    /// Whether the adapter serves embeddings: set it to `true` and implement
    /// [`Provider::build_embeddings_request`] and [`Provider::parse_embeddings_response`].
    const EMBEDDINGS: bool = false;

    /// Builds the upstream request for a canonical embeddings request. The default refuses.
    fn build_embeddings_request(
        request: EmbeddingsRequest,
        endpoint: EndpointSettings,
    ) -> Result<HttpRequest, PluginError> {
        let _ = (request, endpoint);
        Err(no_embeddings())
    }

    /// Translates a successful embeddings response into an OpenAI embeddings `list`. The
    /// default refuses.
    fn parse_embeddings_response(response: HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
        let _ = response;
        Err(no_embeddings())
    }
}

/// A message whose content stays the client's JSON text (a string or a list of parts, as sent),
/// borrowed from the request's bytes: an adapter that passes the conversation on as it is reads
/// it without copying each text into a string and writes it back without escaping it again (for
/// a long conversation, most of its bytes). Everything else in the message is read as in
/// [`Message`].
pub type PassedMessage<'a> = Message<&'a serde_json::value::RawValue>;

/// Reads the canonical request's JSON bytes into a typed [`ChatRequest`].
fn read_request(request: &[u8]) -> Result<ChatRequest, PluginError> {
    serde_json::from_slice(request)
        .map_err(|error| PluginError::InvalidRequest(format!("invalid chat request: {error}")))
}

/// Reads the canonical request's JSON bytes with each message's content kept as the client's
/// JSON text, borrowed from `request` ([`PassedMessage`]), for
/// [`Provider::build_request_from_json`].
pub fn read_passed_request(request: &[u8]) -> Result<ChatRequest<PassedMessage<'_>>, PluginError> {
    serde_json::from_slice(request)
        .map_err(|error| PluginError::InvalidRequest(format!("invalid chat request: {error}")))
}

fn no_embeddings() -> PluginError {
    PluginError::InvalidRequest("this adapter does not serve embeddings".to_owned())
}

impl ParsedResponse {
    /// A whole answer that is plain text: the canonical completion of one assistant message
    /// holding `text`, with its typed usage and finish (the host fills the completion's `id`,
    /// `model` and `created`).
    ///
    /// ```ignore
    /// let finish = Finish::new(FinishReason::Stop, "end");
    /// ParsedResponse::text("Hello!", Some(Usage::tokens(9, 2)), finish)
    /// ```
    pub fn text(
        text: &str,
        usage: Option<Usage>,
        finish: Finish,
    ) -> Result<ParsedResponse, PluginError> {
        let message = ResponseMessage {
            content: Some(text.to_owned()),
            ..ResponseMessage::default()
        };
        let body = crate::translate::completion_body("answer", "model", message, Some(&finish))?;
        Ok(ParsedResponse {
            body,
            usage,
            finish: Some(finish),
        })
    }
}

/// The decoder of an adapter whose upstream cannot stream: `type Decoder = NoStream;`. The
/// gateway never asks such an adapter for a stream (its descriptor does not declare
/// `streaming`): it asks for a whole answer and streams it to the client itself.
#[derive(Debug, Clone, Copy)]
pub struct NoStream;

impl StreamDecoder for NoStream {
    fn new(_endpoint: EndpointSettings) -> Self {
        NoStream
    }

    fn decode(&mut self, _event: SseEvent) -> Result<StreamOutput, PluginError> {
        Err(PluginError::Internal(
            "this adapter does not stream (it declares no `streaming`)".to_owned(),
        ))
    }
}

/// Decodes one streamed response, one server-sent event at a time.
pub trait StreamDecoder: 'static {
    /// Starts a stream for `endpoint`.
    fn new(endpoint: EndpointSettings) -> Self;

    /// Decodes one complete event into zero or more canonical chunks.
    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError>;
}

/// Glue between a [`Provider`] and the generated bindings. Used by the export macro.
#[doc(hidden)]
pub struct Export<P>(PhantomData<P>);

/// Glue between a [`StreamDecoder`] and the generated resource. Used by the export macro.
#[doc(hidden)]
pub struct DecoderResource<D>(RefCell<D>);

impl<P: Provider> wit::Guest for Export<P> {
    type StreamDecoder = DecoderResource<P::Decoder>;

    fn describe() -> wit::Descriptor {
        let Descriptor {
            name,
            version,
            allowed_hosts,
            capabilities,
        } = P::describe();
        wit::Descriptor {
            name,
            version,
            allowed_hosts,
            capabilities: wit::Capabilities {
                streaming: capabilities.streaming,
                tools: capabilities.tools,
                supported_parameters: capabilities.supported_parameters,
                embeddings: P::EMBEDDINGS,
                vision: capabilities.vision,
                documents: capabilities.documents,
                json_schema: capabilities.json_schema,
                reasoning: capabilities.reasoning,
                passes_conversation: P::PASSES_CONVERSATION,
            },
        }
    }

    fn build_request(
        request: Vec<u8>,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        REQUEST_BYTES.set(request.len());
        P::build_request_from_json(&request, endpoint, stream)
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        P::parse_response(response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        P::parse_error(response)
    }

    fn build_embeddings_request(
        request: Vec<u8>,
        endpoint: EndpointSettings,
    ) -> Result<HttpRequest, PluginError> {
        REQUEST_BYTES.set(request.len());
        let request = serde_json::from_slice::<EmbeddingsRequest>(&request).map_err(|error| {
            PluginError::InvalidRequest(format!("invalid embeddings request: {error}"))
        })?;
        P::build_embeddings_request(request, endpoint)
    }

    fn parse_embeddings_response(response: HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
        P::parse_embeddings_response(response)
    }
}

impl<D: StreamDecoder> wit::GuestStreamDecoder for DecoderResource<D> {
    fn new(endpoint: EndpointSettings) -> Self {
        DecoderResource(RefCell::new(D::new(endpoint)))
    }

    fn decode(&self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        self.0.borrow_mut().decode(event)
    }
}

/// Exports a [`Provider`] implementation as the plugin's `adapter` interface.
#[macro_export]
macro_rules! export_provider {
    ($provider:ty) => {
        // Only a wasm32 build exports the component's functions: their names (`pkg:ns/iface#f`)
        // are not valid symbols for native linkers, and native builds exist for unit tests.
        #[cfg(target_arch = "wasm32")]
        type __SwitchyardProviderExport = $crate::provider::Export<$provider>;
        #[cfg(target_arch = "wasm32")]
        $crate::provider::bindings::__export_provider_world!(
            __SwitchyardProviderExport with_types_in $crate::provider::bindings
        );
        $crate::__stamp_contract!();
    };
}

impl Usage {
    /// Usage of `prompt` input and `completion` output tokens, nothing cached or reasoned.
    pub fn tokens(prompt: u64, completion: u64) -> Self {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            ..Usage::zero()
        }
    }

    /// Usage with every count zero.
    pub fn zero() -> Self {
        Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
            cached_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
        }
    }
}

impl Usage {
    /// Reads an OpenAI-style `usage` object: `prompt_tokens`, `completion_tokens`,
    /// `prompt_tokens_details.cached_tokens` (or DeepSeek's `prompt_cache_hit_tokens`),
    /// `prompt_tokens_details.cache_write_tokens` (or a top-level `cache_write_tokens`) and
    /// `completion_tokens_details.reasoning_tokens`. Missing or non-numeric counts read as zero;
    /// returns `None` when `usage` is not a JSON object (absent, `null`...).
    pub fn from_openai(usage: &serde_json::Value) -> Option<Usage> {
        let usage = usage.as_object()?;
        let count = |value: Option<&serde_json::Value>| -> u64 {
            value
                .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)))
                .unwrap_or(0)
        };
        let prompt_details = usage.get("prompt_tokens_details");
        let completion_details = usage.get("completion_tokens_details");
        Some(Usage {
            prompt_tokens: count(usage.get("prompt_tokens")),
            completion_tokens: count(usage.get("completion_tokens")),
            cached_tokens: count(
                prompt_details
                    .and_then(|d| d.get("cached_tokens"))
                    .or(usage.get("prompt_cache_hit_tokens")),
            ),
            cache_write_tokens: count(
                prompt_details
                    .and_then(|d| d.get("cache_write_tokens"))
                    .or(usage.get("cache_write_tokens")),
            ),
            reasoning_tokens: count(completion_details.and_then(|d| d.get("reasoning_tokens"))),
        })
    }
}

impl StreamOutput {
    /// Output with nothing in it.
    pub fn empty() -> Self {
        StreamOutput {
            chunks: Vec::new(),
            usage: None,
            finish: None,
            done: false,
        }
    }
}

impl FinishReason {
    /// The OpenAI spelling: `stop`, `length`, `tool_calls`, `content_filter`, `error`.
    pub fn as_openai(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Error => "error",
        }
    }
}

impl FinishReason {
    /// Normalises an OpenAI-compatible `finish_reason`: `stop`, `eos`, `end_turn` and
    /// `stop_sequence` → stop; `length`, `max_tokens` and `model_length` → length;
    /// `tool_calls`, `function_call` and `tool_use` → tool-calls; `content_filter`, `refusal` and
    /// `safety` → content-filter; `error`, `abort` and `insufficient_system_resource` → error.
    /// Anything else reads as stop (the provider's word stays in `native`).
    pub fn from_openai(native: &str) -> FinishReason {
        match native {
            "length" | "max_tokens" | "model_length" => FinishReason::Length,
            "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
            "content_filter" | "refusal" | "safety" => FinishReason::ContentFilter,
            "error" | "abort" | "insufficient_system_resource" => FinishReason::Error,
            _ => FinishReason::Stop,
        }
    }
}

impl Finish {
    /// A finish with `reason` and the provider's native spelling.
    pub fn new(reason: FinishReason, native: &str) -> Self {
        Finish {
            reason,
            native: native.to_owned(),
        }
    }
}

/// Joins `base_url` and `path` with exactly one slash between them.
pub fn join_url(base_url: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

thread_local! {
    /// The size of the client's body the current `build-request` call translates. The body
    /// [`json_post`] serialises is about as large, so its buffer starts at that size rather than
    /// at 128 bytes, doubling (for a 100 KB prompt: ten copies, and new linear memory for each).
    static REQUEST_BYTES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A JSON `POST` request with the given credential placement.
pub fn json_post(
    url: String,
    body: &impl serde::Serialize,
    headers: Vec<Header>,
    credential: CredentialPlacement,
) -> Result<HttpRequest, PluginError> {
    let expected = REQUEST_BYTES.get();
    let mut bytes = Vec::with_capacity(expected + expected / 16 + 256);
    serde_json::to_writer(&mut bytes, body)
        .map_err(|error| PluginError::Internal(format!("cannot serialise request: {error}")))?;
    let body = bytes;
    let mut all_headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    all_headers.extend(headers);
    Ok(HttpRequest {
        method: "POST".to_owned(),
        url,
        headers: all_headers,
        body,
        credential,
    })
}

/// The value of header `name` (case-insensitive), if present.
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The `retry-after` (seconds) or `retry-after-ms` header as milliseconds.
pub fn retry_after_ms(headers: &[Header]) -> Option<u64> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return Some(ms.max(0.0) as u64);
    }
    header(headers, "retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|seconds| (seconds.max(0.0) * 1000.0) as u64)
}

/// The provider's error message from a JSON error body (`{"error":{"message":...}}`,
/// `{"error":"..."}` or `{"message":...}`), or the start of the body when it is not JSON.
pub fn error_message(body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    let from_json = parsed.as_ref().and_then(|value| {
        let error = value.get("error").unwrap_or(value);
        error
            .get("message")
            .and_then(|m| m.as_str())
            .or_else(|| error.as_str())
            .map(str::to_owned)
    });
    from_json.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let trimmed: String = text.trim().chars().take(200).collect();
        if trimmed.is_empty() {
            "empty response body".to_owned()
        } else {
            trimmed
        }
    })
}

/// True when an error message says the prompt does not fit the context window.
pub fn mentions_context_length(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "context length",
        "context_length",
        "context window",
        "context limit",
        "too many tokens",
        "prompt is too long",
        "maximum context",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// Maps an unsuccessful HTTP response to a [`PluginError`] by status code: 429 → rate-limited
/// (with `retry-after`), 401/403 → auth, 400/404/413/422 → invalid-request (or
/// context-length-exceeded when the message says so), 503/529 → overloaded, other 5xx and
/// anything else → upstream-unavailable.
pub fn error_from_status(response: &HttpResponse) -> PluginError {
    let message = error_message(&response.body);
    match response.status {
        429 => PluginError::RateLimited(RateLimit {
            message,
            retry_after_ms: retry_after_ms(&response.headers),
        }),
        401 | 403 => PluginError::Auth(message),
        400 | 404 | 413 | 422 if mentions_context_length(&message) => {
            PluginError::ContextLengthExceeded(message)
        }
        400 | 404 | 413 | 422 => PluginError::InvalidRequest(message),
        503 | 529 => PluginError::Overloaded(message),
        status => PluginError::UpstreamUnavailable(format!("upstream status {status}: {message}")),
    }
}

/// What a provider's error body says, as the adapter's own reader found it (see
/// [`error_from_report`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorReport {
    /// The provider's message, when the body has one.
    pub message: Option<String>,
    /// The kind of error the provider's own code says, when it says one the adapter knows.
    pub kind: Option<ErrorKind>,
}

/// The kind of a provider error, as the adapter reads it from the provider's own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A quota or rate limit: `rate-limited`, with the `retry-after` headers' wait.
    RateLimited,
    /// Temporarily overloaded, whatever the status (a 500 `overloaded`, say).
    Overloaded,
    /// The prompt does not fit.
    ContextLengthExceeded,
    /// The request is invalid.
    InvalidRequest,
    /// The credential was refused.
    Auth,
    /// The content was refused.
    ContentFiltered,
    /// The provider failed.
    UpstreamUnavailable,
    /// This endpoint cannot serve this request; another may.
    Unsupported,
}

/// Classifies an unsuccessful response whose body has the provider's own error shape: `read`
/// gets the body as JSON (`null` when it is not JSON) and returns the message and kind it finds.
/// A kind read wins over the HTTP status; without one, the status decides as in
/// [`error_from_status`]. Without a message, [`error_message`]'s is used.
///
/// ```ignore
/// fn parse_error(response: HttpResponse) -> PluginError {
///     // {"fault": {"kind": "quota", "detail": "..."}}
///     error_from_report(&response, |body| ErrorReport {
///         message: body["fault"]["detail"].as_str().map(str::to_owned),
///         kind: match body["fault"]["kind"].as_str() {
///             Some("quota") => Some(ErrorKind::RateLimited),
///             Some("overloaded") => Some(ErrorKind::Overloaded),
///             _ => None,
///         },
///     })
/// }
/// ```
pub fn error_from_report(
    response: &HttpResponse,
    read: impl FnOnce(&serde_json::Value) -> ErrorReport,
) -> PluginError {
    let body = serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null);
    let report = read(&body);
    let message = report
        .message
        .unwrap_or_else(|| error_message(&response.body));
    let Some(kind) = report.kind else {
        return match with_message(error_from_status(response), message) {
            PluginError::UpstreamUnavailable(message) => PluginError::UpstreamUnavailable(format!(
                "upstream status {}: {message}",
                response.status
            )),
            by_status => by_status,
        };
    };
    match kind {
        ErrorKind::RateLimited => PluginError::RateLimited(RateLimit {
            message,
            retry_after_ms: retry_after_ms(&response.headers),
        }),
        ErrorKind::Overloaded => PluginError::Overloaded(message),
        ErrorKind::ContextLengthExceeded => PluginError::ContextLengthExceeded(message),
        ErrorKind::InvalidRequest => PluginError::InvalidRequest(message),
        ErrorKind::Auth => PluginError::Auth(message),
        ErrorKind::ContentFiltered => PluginError::ContentFiltered(message),
        ErrorKind::UpstreamUnavailable => PluginError::UpstreamUnavailable(message),
        ErrorKind::Unsupported => PluginError::Unsupported(message),
    }
}

/// `error` with its message replaced by `message` (rate limits keep their wait).
fn with_message(error: PluginError, message: String) -> PluginError {
    match error {
        PluginError::RateLimited(limit) => PluginError::RateLimited(RateLimit {
            message,
            retry_after_ms: limit.retry_after_ms,
        }),
        PluginError::Overloaded(_) => PluginError::Overloaded(message),
        PluginError::ContextLengthExceeded(_) => PluginError::ContextLengthExceeded(message),
        PluginError::InvalidRequest(_) => PluginError::InvalidRequest(message),
        PluginError::Auth(_) => PluginError::Auth(message),
        PluginError::ContentFiltered(_) => PluginError::ContentFiltered(message),
        PluginError::UpstreamUnavailable(_) => PluginError::UpstreamUnavailable(message),
        PluginError::Internal(_) => PluginError::Internal(message),
        PluginError::Unsupported(_) => PluginError::Unsupported(message),
    }
}

/// A base64 `data:` URI split into its media type and its (still base64) data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataUri<'a> {
    /// The media type, e.g. `image/png`.
    pub media_type: &'a str,
    /// The base64 data after the comma.
    pub data: &'a str,
}

/// Splits `url` when it is a `data:` URI: `None` for any other URL, an invalid-request error
/// for a data URI that is not `data:<media type>;base64,<data>`.
pub fn base64_data_uri(url: &str) -> Option<Result<DataUri<'_>, PluginError>> {
    let rest = url.strip_prefix("data:")?;
    let invalid = || PluginError::InvalidRequest("an image data URI is not base64".to_owned());
    let Some((meta, data)) = rest.split_once(',') else {
        return Some(Err(invalid()));
    };
    let mut params = meta.split(';');
    let media_type = params.next().unwrap_or("").trim();
    if media_type.is_empty() || !params.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Some(Err(invalid()));
    }
    Some(Ok(DataUri { media_type, data }))
}

/// Parses a JSON body, turning malformed input into an upstream error (a provider that answers
/// 200 with HTML is broken, not the client).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PluginError> {
    serde_json::from_slice(body).map_err(|error| {
        PluginError::UpstreamUnavailable(format!("upstream sent an invalid JSON body: {error}"))
    })
}

impl From<crate::sse::Event> for SseEvent {
    fn from(event: crate::sse::Event) -> Self {
        SseEvent {
            event: event.event,
            data: event.data,
        }
    }
}
