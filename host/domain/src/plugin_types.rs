//! Host-side types for what plugins exchange with the host. Generated binding types are
//! converted to and from these at the boundary (`boundary`, expanded in `v0_1_0` to `v0_5_0`)
//! and nowhere else.

/// Where the host puts the provider credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialPlacement {
    /// No credential.
    None,
    /// `Authorization: Bearer <credential>`.
    Bearer,
    /// A named header.
    Header(String),
    /// A named query parameter.
    Query(String),
    /// AWS Signature Version 4, signed by the host with the provider's AWS credentials.
    AwsSigv4 {
        /// Signing name of the service, e.g. `bedrock`.
        service: String,
        /// AWS region, e.g. `us-east-1`.
        region: String,
    },
}

/// An upstream request built by an adapter, before the host adds the credential.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers (no credential).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Where the credential goes.
    pub credential: CredentialPlacement,
}

/// Where an endpoint lives, as passed to adapters.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    /// Provider base URL.
    pub base_url: String,
    /// Model id upstream.
    pub upstream_model: String,
    /// Adapter options from the configuration.
    pub options: Vec<(String, String)>,
}

/// Native token usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Output tokens, reasoning included.
    pub completion_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cached_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Output tokens spent reasoning.
    pub reasoning_tokens: u64,
    /// Web searches the upstream's own engine made (reported in the answer's
    /// `server_tool_use`, not by the contract).
    pub web_search_requests: u64,
    /// Calls of the Responses API's built-in tools (reported in the answer's
    /// `server_tool_use.builtin_tool_calls`, not by the contract).
    pub builtin_tool_calls: switchyard_sdk::responses::BuiltinCalls,
}

/// Normalised finish reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end or stop sequence.
    Stop,
    /// Token limit.
    Length,
    /// Tool calls.
    ToolCalls,
    /// Filtered.
    ContentFilter,
    /// Failed.
    Error,
}

impl FinishReason {
    /// The OpenAI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Error => "error",
        }
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// Normalised.
    pub reason: FinishReason,
    /// The provider's own word.
    pub native: String,
}

/// A typed provider error reported by an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// Rate limited, with the wait the provider asked for.
    RateLimited {
        /// Provider message.
        message: String,
        /// Requested wait in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// Temporarily overloaded.
    Overloaded(String),
    /// The prompt does not fit.
    ContextLengthExceeded(String),
    /// Malformed or unsupported request.
    InvalidRequest(String),
    /// The provider rejected the operator's credential.
    Auth(String),
    /// Content refused.
    ContentFiltered(String),
    /// The provider failed or sent garbage.
    UpstreamUnavailable(String),
    /// The adapter failed.
    Internal(String),
    /// This endpoint cannot serve this request; another may (contract 0.5.0). Fails over and
    /// counts against nobody's health.
    Unsupported(String),
}

impl ProviderError {
    /// The provider's message.
    pub fn message(&self) -> &str {
        match self {
            ProviderError::RateLimited { message, .. }
            | ProviderError::Overloaded(message)
            | ProviderError::ContextLengthExceeded(message)
            | ProviderError::InvalidRequest(message)
            | ProviderError::Auth(message)
            | ProviderError::ContentFiltered(message)
            | ProviderError::UpstreamUnavailable(message)
            | ProviderError::Internal(message)
            | ProviderError::Unsupported(message) => message,
        }
    }
}

/// A whole response in the canonical format.
#[derive(Debug, Clone)]
pub struct ParsedResponse {
    /// `chat.completion` JSON.
    pub body: Vec<u8>,
    /// Native usage.
    pub usage: Option<Usage>,
    /// Finish reason.
    pub finish: Option<Finish>,
}

/// A whole embeddings response in the canonical format.
#[derive(Debug, Clone)]
pub struct ParsedEmbeddings {
    /// OpenAI embeddings `list` JSON, vectors as numbers.
    pub body: Vec<u8>,
    /// Native usage (prompt tokens).
    pub usage: Option<Usage>,
}

/// What a decoder produced from one event.
#[derive(Debug, Clone, Default)]
pub struct StreamOutput {
    /// `chat.completion.chunk` JSON objects.
    pub chunks: Vec<Vec<u8>>,
    /// Cumulative usage, when known.
    pub usage: Option<Usage>,
    /// Finish reason, when this event carried it.
    pub finish: Option<Finish>,
    /// The terminal event arrived.
    pub done: bool,
}

/// What an adapter declares about itself.
#[derive(Debug, Clone)]
pub struct ProviderDescriptor {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Hosts it may send to.
    pub allowed_hosts: Vec<String>,
    /// It can decode streams.
    pub streaming: bool,
    /// It translates tools.
    pub tools: bool,
    /// Request parameters it forwards.
    pub supported_parameters: Vec<String>,
    /// It serves embeddings (contract 0.4.0 and later).
    pub embeddings: bool,
    /// What else it declares it can pass on (contract 0.5.0 and later; `None` before: routing
    /// does not filter an adapter on what it could not declare).
    pub declared: Option<Declared>,
}

/// The request features an adapter declares it passes on to its upstream (contract 0.5.0):
/// routing leaves out an endpoint whose adapter lacks one a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    /// Image parts.
    pub vision: bool,
    /// Document (file) parts.
    pub documents: bool,
    /// `response_format` of type `json_schema`.
    pub json_schema: bool,
    /// Reasoning settings.
    pub reasoning: bool,
    /// It sends `messages` and `tools` upstream as they are: it is handed the request without
    /// them, and the host puts them back into its body (`passes-conversation`).
    pub passes_conversation: bool,
}

/// Live statistics of one endpoint, as passed to a policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CandidateStats {
    /// Median time to first token, ms.
    pub latency_p50_ms: Option<f64>,
    /// Median throughput, tokens/s.
    pub throughput_p50: Option<f64>,
    /// Recent error share, 0..1.
    pub error_rate: f64,
    /// Recent rate-limited share, 0..1.
    pub rate_limited_rate: f64,
    /// In-flight requests.
    pub in_flight: u32,
    /// Milliseconds since the last failure.
    pub ms_since_last_failure: Option<u64>,
}

/// One endpoint offered to a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyCandidate {
    /// Provider name.
    pub provider: String,
    /// Canonical model id.
    pub model: String,
    /// USD per million prompt tokens (ranking only).
    pub prompt_price: f64,
    /// USD per million completion tokens (ranking only).
    pub completion_price: f64,
    /// The operator's weight (default 1).
    pub weight: f64,
    /// Live statistics.
    pub stats: CandidateStats,
}

/// What a policy knows about the request.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRequest {
    /// Canonical model id.
    pub model: String,
    /// Rough prompt size.
    pub estimated_prompt_tokens: u64,
    /// Output limit, if set.
    pub max_tokens: Option<u64>,
    /// Seed for deterministic randomness.
    pub seed: u64,
}
