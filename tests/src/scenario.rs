//! Parsing of the scenario path segment: a comma-separated list of fault-injection directives.
//!
//! A request path looks like `/{scenario}/v1/chat/completions`, `/{scenario}/v1/messages`,
//! `/{scenario}/v1beta/models/{model}:generateContent` (or `:streamGenerateContent`),
//! `/{scenario}/v2/chat` or `/{scenario}/openai/deployments/{deployment}/chat/completions` (the
//! version segment is optional). The scenario is everything between the leading `/` and that
//! suffix, so `fixture=<dir>/<name>` may contain a slash.

use std::time::Duration;

/// Which provider wire format an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenAI Chat Completions (`/chat/completions`).
    OpenAi,
    /// Anthropic Messages (`/messages`).
    Anthropic,
    /// Google Gemini (`/models/{model}:generateContent` and `:streamGenerateContent`).
    Gemini,
    /// Cohere Chat v2 (`/v2/chat`).
    Cohere,
    /// AWS Bedrock Converse (`/model/{model}/converse` and `/converse-stream`, the stream in
    /// binary event-stream framing); requests must carry a well-formed SigV4 signature.
    Bedrock,
    /// OpenAI embeddings (`/embeddings`): answered from the request, never from a fixture.
    OpenAiEmbeddings,
    /// OpenAI Responses API (`/responses`, streams with `event:` named events).
    OpenAiResponses,
    /// Gemini embeddings (`/models/{model}:batchEmbedContents`): answered from the request.
    GeminiEmbeddings,
    /// Cohere Embed v2 (`/v2/embed`): answered from the request.
    CohereEmbeddings,
    /// AWS Bedrock InvokeModel (`/model/{model}/invoke`) of an embedding model (Titan or Cohere
    /// body): answered from the request; requests must carry a well-formed SigV4 signature.
    BedrockInvoke,
    /// Vertex AI `publishers/google/models/{model}:predict` of a text embedding model: answered
    /// from the request.
    VertexEmbeddings,
    /// Ledger (`/generate`), an invented batch-style API that never streams: whole JSON only,
    /// errors as `{"fault": {"kind", "detail"}}` (the `ledger` test plugin speaks it).
    Ledger,
}

impl Format {
    /// Whether requests are AWS-signed Bedrock requests (Converse or InvokeModel).
    pub fn is_bedrock(self) -> bool {
        matches!(self, Format::Bedrock | Format::BedrockInvoke)
    }

    /// Whether this is an embeddings endpoint, answered from the request (never a fixture).
    pub fn is_embeddings(self) -> bool {
        matches!(
            self,
            Format::OpenAiEmbeddings
                | Format::GeminiEmbeddings
                | Format::CohereEmbeddings
                | Format::BedrockInvoke
                | Format::VertexEmbeddings
        )
    }

    /// The fixture replayed when a scenario names none.
    pub fn default_fixture(self) -> &'static str {
        match self {
            Format::OpenAi | Format::OpenAiEmbeddings => "openai/openai-text",
            Format::OpenAiResponses => "openai/openai-reasoning-encrypted-content.1",
            Format::Anthropic => "anthropic/anthropic-text",
            Format::Gemini | Format::GeminiEmbeddings | Format::VertexEmbeddings => {
                "google/google-text"
            }
            Format::Cohere | Format::CohereEmbeddings => "cohere/cohere-text",
            Format::Bedrock | Format::BedrockInvoke => "bedrock/amazon-bedrock-text",
            Format::Ledger => "synthetic/ledger-text",
        }
    }
}

/// Splits a request path into `(scenario, format)`.
///
/// Returns `None` when the path does not end with a known endpoint. The scenario is returned
/// percent-decoded and may be empty (e.g. for `/v1/chat/completions`). Gemini paths end with
/// `/models/{model}:generateContent` or `:streamGenerateContent` after an optional `/v1` or
/// `/v1beta`; Azure paths end with `/openai/deployments/{deployment}/chat/completions`.
pub fn split_path(path: &str) -> Option<(String, Format)> {
    const SUFFIXES: [(&str, Format); 14] = [
        ("/v1/responses", Format::OpenAiResponses),
        ("/responses", Format::OpenAiResponses),
        ("/v1/chat/completions", Format::OpenAi),
        ("/chat/completions", Format::OpenAi),
        ("/v1/embeddings", Format::OpenAiEmbeddings),
        ("/embeddings", Format::OpenAiEmbeddings),
        ("/v1/messages", Format::Anthropic),
        ("/messages", Format::Anthropic),
        ("/v2/chat", Format::Cohere),
        ("/chat", Format::Cohere),
        ("/v2/embed", Format::CohereEmbeddings),
        ("/embed", Format::CohereEmbeddings),
        ("/v1/generate", Format::Ledger),
        ("/generate", Format::Ledger),
    ];
    let path = path.trim_end_matches('/');
    if let Some((prefix, format)) = bedrock_prefix(path) {
        return Some((scenario_of(prefix, &["/v1"]), format));
    }
    if let Some((prefix, format)) = vertex_prefix(path) {
        return Some((scenario_of(prefix, &["/v1"]), format));
    }
    if let Some((prefix, format)) = gemini_prefix(path) {
        return Some((scenario_of(prefix, &["/v1beta", "/v1"]), format));
    }
    for (suffix, format) in SUFFIXES {
        if let Some(prefix) = path.strip_suffix(suffix) {
            if format == Format::OpenAi
                && let Some(prefix) = azure_prefix(prefix)
            {
                return Some((scenario_of(prefix, &["/v1"]), format));
            }
            if matches!(format, Format::Cohere | Format::CohereEmbeddings) {
                return Some((scenario_of(prefix, &["/v1"]), format));
            }
            return Some((scenario_of(prefix, &[]), format));
        }
    }
    None
}

/// Whether `path` asks Gemini for a streamed answer (`:streamGenerateContent`).
pub fn is_gemini_stream(path: &str) -> bool {
    path.trim_end_matches('/')
        .ends_with(":streamGenerateContent")
}

/// Whether `path` asks Bedrock for a streamed answer (`/converse-stream`).
pub fn is_bedrock_stream(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/converse-stream")
}

/// The part of a Bedrock path before `/model/{model}/converse[-stream]` (Converse) or
/// `/model/{model}/invoke` (InvokeModel), and which of the two it is.
fn bedrock_prefix(path: &str) -> Option<(&str, Format)> {
    let (rest, format) = match path.rsplit_once('/')? {
        (rest, "converse" | "converse-stream") => (rest, Format::Bedrock),
        (rest, "invoke") => (rest, Format::BedrockInvoke),
        _ => return None,
    };
    let (prefix, model) = rest.rsplit_once("/model/")?;
    (!model.is_empty() && !model.contains('/')).then_some((prefix, format))
}

/// The part of a Gemini path before `/models/{model}:method`, and the format of the method.
fn gemini_prefix(path: &str) -> Option<(&str, Format)> {
    let (rest, method) = path.rsplit_once(':')?;
    let format = match method {
        "generateContent" | "streamGenerateContent" => Format::Gemini,
        "batchEmbedContents" => Format::GeminiEmbeddings,
        _ => return None,
    };
    let (prefix, model) = rest.rsplit_once("/models/")?;
    (!model.is_empty() && !model.contains('/')).then_some((prefix, format))
}

/// The part of a Vertex AI path before
/// `/projects/{p}/locations/{r}/publishers/{publisher}/models/{model}:{method}`, and its format:
/// Google's `generateContent` / `streamGenerateContent` (Gemini), `predict` (embeddings), or
/// Anthropic's `rawPredict` / `streamRawPredict` (Messages).
fn vertex_prefix(path: &str) -> Option<(&str, Format)> {
    let (rest, method) = path.rsplit_once(':')?;
    let (rest, model) = rest.rsplit_once("/models/")?;
    let (rest, publisher) = rest.rsplit_once("/publishers/")?;
    let (rest, region) = rest.rsplit_once("/locations/")?;
    let (prefix, project) = rest.rsplit_once("/projects/")?;
    if [model, region, project]
        .iter()
        .any(|s| s.is_empty() || s.contains('/'))
    {
        return None;
    }
    let format = match (publisher, method) {
        ("google", "generateContent" | "streamGenerateContent") => Format::Gemini,
        ("google", "predict") => Format::VertexEmbeddings,
        ("anthropic", "rawPredict" | "streamRawPredict") => Format::Anthropic,
        _ => return None,
    };
    Some((prefix, format))
}

/// Whether `path` is a Vertex AI model path (its requests need a Google access token when the
/// mock issues them).
pub fn is_vertex(path: &str) -> bool {
    vertex_prefix(path.trim_end_matches('/')).is_some()
}

/// The part of an Azure path before `/openai/deployments/{deployment}` (the
/// `/chat/completions` suffix already removed).
fn azure_prefix(path: &str) -> Option<&str> {
    let (prefix, deployment) = path.rsplit_once("/openai/deployments/")?;
    (!deployment.is_empty() && !deployment.contains('/')).then_some(prefix)
}

/// The percent-decoded scenario of a path prefix, without its leading `/` and without one of
/// the optional `versions` at its end.
fn scenario_of(prefix: &str, versions: &[&str]) -> String {
    let prefix = versions
        .iter()
        .find_map(|v| prefix.strip_suffix(v))
        .unwrap_or(prefix);
    let prefix = prefix.strip_prefix('/').unwrap_or(prefix);
    percent_decode(prefix)
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A parsed scenario: every directive the mock understands, with defaults when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// `fixture=<dir>/<name>`: the recording to replay.
    pub fixture: Option<String>,
    /// `after_tool=<dir>/<name>`: the recording to replay instead when the request's last
    /// message is a tool result (the turn after a tool call).
    pub after_tool: Option<String>,
    /// `status=<code>`: answer with this error status.
    pub status: Option<u16>,
    /// `retry_after=<seconds>`: add a `retry-after` header to error answers.
    pub retry_after: Option<u64>,
    /// `delay_ms=<n>`: wait before sending response headers.
    pub delay: Option<Duration>,
    /// `ms_per_max_token=<n>`: wait the request's `max_tokens` (or `max_completion_tokens`)
    /// times n ms before sending response headers, as a non-streamed generation of that length
    /// would.
    pub ms_per_max_token: Option<u64>,
    /// `refuse_one_in=<n>`: answer 400 (an invalid request) to the requests whose last
    /// message's text hashes (FNV-1a) to 0 modulo n, about one in n.
    pub refuse_one_in: Option<u64>,
    /// `hang`: never answer.
    pub hang: bool,
    /// `chunk_delay_ms=<n>`: wait between streamed events.
    pub chunk_delay: Option<Duration>,
    /// `stall_after=<n>`: send n events, then keep the connection open without sending more.
    pub stall_after: Option<usize>,
    /// `cut_after=<n>`: send n events, then abort the connection.
    pub cut_after: Option<usize>,
    /// `no_terminal`: omit the terminal event (`[DONE]` / `message_stop`) and close cleanly.
    pub no_terminal: bool,
    /// `html`: answer 200 with an HTML page.
    pub html: bool,
    /// `garbage`: answer 200 with invalid UTF-8.
    pub garbage: bool,
    /// `split`: write each event in several small pieces cut at awkward byte positions.
    pub split: bool,
    /// `crlf`: frame events with `\r\n` instead of `\n`.
    pub crlf: bool,
    /// `fail_first=<n>`: the first n requests to this scenario fail with `status` (default 500).
    pub fail_first: Option<u64>,
    /// `fail_after=<n>`: the requests to this scenario after the first n fail with `status`
    /// (default 500).
    pub fail_after: Option<u64>,
    /// `exception_after=<n>` (Bedrock streams): send n events, then a `throttlingException`
    /// exception message, and close.
    pub exception_after: Option<usize>,
    /// `refuse_key=<key>`: requests carrying this credential (bearer, `x-api-key` or
    /// `api-key`) answer `status` (default 429); others are served.
    pub refuse_key: Option<String>,
}

/// FNV-1a, 64 bits, of `bytes`: the hash of `refuse_one_in` (the refusing test adapter uses it too).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Scenario {
    /// Parses a comma-separated directive list. Empty items are ignored.
    ///
    /// Errors name the offending directive, so that a typo in a test is loud.
    pub fn parse(s: &str) -> Result<Scenario, String> {
        let mut sc = Scenario::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (item, None),
            };
            match key {
                "fixture" => {
                    let v = need(key, value)?;
                    validate_fixture(v)?;
                    sc.fixture = Some(v.to_string());
                }
                "after_tool" => {
                    let v = need(key, value)?;
                    validate_fixture(v)?;
                    sc.after_tool = Some(v.to_string());
                }
                "status" => {
                    let code: u16 = number(key, value)?;
                    if !(400..=599).contains(&code) {
                        return Err(format!(
                            "directive `status={code}`: expected an error status in 400..=599"
                        ));
                    }
                    sc.status = Some(code);
                }
                "retry_after" => sc.retry_after = Some(number(key, value)?),
                "delay_ms" => sc.delay = Some(Duration::from_millis(number(key, value)?)),
                "ms_per_max_token" => sc.ms_per_max_token = Some(number(key, value)?),
                "refuse_one_in" => sc.refuse_one_in = Some(number(key, value)?),
                "chunk_delay_ms" => {
                    sc.chunk_delay = Some(Duration::from_millis(number(key, value)?))
                }
                "stall_after" => sc.stall_after = Some(number(key, value)?),
                "cut_after" => sc.cut_after = Some(number(key, value)?),
                "fail_first" => sc.fail_first = Some(number(key, value)?),
                "fail_after" => sc.fail_after = Some(number(key, value)?),
                "exception_after" => sc.exception_after = Some(number(key, value)?),
                "refuse_key" => sc.refuse_key = Some(need(key, value)?.to_owned()),
                "hang" => sc.hang = flag(key, value)?,
                "no_terminal" => sc.no_terminal = flag(key, value)?,
                "html" => sc.html = flag(key, value)?,
                "garbage" => sc.garbage = flag(key, value)?,
                "split" => sc.split = flag(key, value)?,
                "crlf" => sc.crlf = flag(key, value)?,
                other => {
                    return Err(format!(
                        "unknown directive `{other}` in scenario `{s}`; known: fixture=<dir>/<name>, \
                         after_tool=<dir>/<name>, status=<code>, retry_after=<s>, delay_ms=<n>, ms_per_max_token=<n>, refuse_one_in=<n>, hang, chunk_delay_ms=<n>, \
                         stall_after=<n>, cut_after=<n>, no_terminal, html, garbage, split, crlf, \
                         fail_first=<n>, fail_after=<n>, exception_after=<n>, refuse_key=<key>"
                    ));
                }
            }
        }
        Ok(sc)
    }
}

fn need<'a>(key: &str, value: Option<&'a str>) -> Result<&'a str, String> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("directive `{key}` needs a value (`{key}=...`)")),
    }
}

fn number<T: std::str::FromStr>(key: &str, value: Option<&str>) -> Result<T, String> {
    let v = need(key, value)?;
    v.parse()
        .map_err(|_| format!("directive `{key}={v}`: `{v}` is not a valid non-negative integer"))
}

fn flag(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None => Ok(true),
        Some(v) => Err(format!(
            "directive `{key}` takes no value (got `{key}={v}`)"
        )),
    }
}

fn validate_fixture(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    let ok_parts = name
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != "..");
    if ok_chars && ok_parts {
        Ok(())
    } else {
        Err(format!(
            "directive `fixture={name}`: expected `<dir>/<name>` made of [A-Za-z0-9._-] parts"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths() {
        assert_eq!(
            split_path("/fixture=openai/openai-text/v1/chat/completions"),
            Some(("fixture=openai/openai-text".to_string(), Format::OpenAi))
        );
        assert_eq!(
            split_path("/status=429,retry_after=3/messages"),
            Some(("status=429,retry_after=3".to_string(), Format::Anthropic))
        );
        assert_eq!(
            split_path("/v1/messages"),
            Some((String::new(), Format::Anthropic))
        );
        assert_eq!(
            split_path("/a%2Cb/v1/messages"),
            Some(("a,b".to_string(), Format::Anthropic))
        );
        assert_eq!(split_path("/x/v1/models"), None);
        assert_eq!(
            split_path(
                "/fixture=google/google-text/v1beta/models/gemini-2.5-flash:streamGenerateContent"
            ),
            Some(("fixture=google/google-text".to_string(), Format::Gemini))
        );
        assert_eq!(
            split_path("/v1/models/up-g:generateContent"),
            Some((String::new(), Format::Gemini))
        );
        assert_eq!(split_path("/x/v1/models/a/b:generateContent"), None);
        assert_eq!(
            split_path("/fixture=cohere/cohere-text/v1/chat"),
            Some(("fixture=cohere/cohere-text".to_string(), Format::Cohere))
        );
        assert_eq!(
            split_path("/fixture=cohere/cohere-text/v2/chat"),
            Some(("fixture=cohere/cohere-text".to_string(), Format::Cohere))
        );
        assert_eq!(
            split_path("/status=429/v1/openai/deployments/gpt-4o/chat/completions"),
            Some(("status=429".to_string(), Format::OpenAi))
        );
        assert_eq!(
            split_path("/openai/deployments/gpt-4o/chat/completions"),
            Some((String::new(), Format::OpenAi))
        );
        assert_eq!(
            split_path(
                "/fixture=bedrock/amazon-bedrock-text/v1/model/amazon.nova-lite-v1%3A0/converse-stream"
            ),
            Some((
                "fixture=bedrock/amazon-bedrock-text".to_string(),
                Format::Bedrock
            ))
        );
        assert_eq!(
            split_path("/model/m/converse"),
            Some((String::new(), Format::Bedrock))
        );
        assert_eq!(
            split_path("/s/v1/model/amazon.titan-embed-text-v2%3A0/invoke"),
            Some(("s".to_string(), Format::BedrockInvoke))
        );
        assert_eq!(
            split_path("/s/v1beta/models/gemini-embedding-001:batchEmbedContents"),
            Some(("s".to_string(), Format::GeminiEmbeddings))
        );
        assert_eq!(
            split_path("/s/v1/embed"),
            Some(("s".to_string(), Format::CohereEmbeddings))
        );
        assert!(is_bedrock_stream("/a/model/m/converse-stream"));
        assert!(!is_bedrock_stream("/a/model/m/converse"));
        assert!(is_gemini_stream("/a/v1beta/models/m:streamGenerateContent"));
        assert!(!is_gemini_stream("/a/v1beta/models/m:generateContent"));
    }

    #[test]
    fn parses_directives() {
        let sc = Scenario::parse("fixture=openai/openai-text,status=429,retry_after=2,split,crlf")
            .unwrap();
        assert_eq!(sc.fixture.as_deref(), Some("openai/openai-text"));
        assert_eq!(sc.status, Some(429));
        assert_eq!(sc.retry_after, Some(2));
        assert!(sc.split && sc.crlf && !sc.hang);
        assert_eq!(Scenario::parse("").unwrap(), Scenario::default());
    }

    #[test]
    fn rejects_bad_directives() {
        assert!(
            Scenario::parse("nope")
                .unwrap_err()
                .contains("unknown directive `nope`")
        );
        assert!(Scenario::parse("status=abc").is_err());
        assert!(Scenario::parse("status=200").is_err());
        assert!(Scenario::parse("hang=1").is_err());
        assert!(Scenario::parse("fixture=../etc/passwd").is_err());
        assert!(Scenario::parse("delay_ms").is_err());
    }
}
