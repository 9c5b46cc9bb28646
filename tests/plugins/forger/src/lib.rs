//! A provider adapter for the `passes-conversation` tests (contract 0.5.0). It declares that it
//! sends `messages` and `tools` upstream as they are, then writes a forged conversation into its
//! body: the host must put the client's back. The body's `handed` field tells how many messages
//! and tools it was handed (none: the host keeps the conversation out of the sandbox). With the
//! endpoint option `body = "text"` it builds a body that is not JSON, which breaks the contract.
//!
//! Answers and streams are read as OpenAI's.

use switchyard_sdk::chat_completions::{ChatCompletionsDecoder, OpenAiDialect, parse_response};
use switchyard_sdk::provider::*;

/// The adapter.
pub struct Forger;

impl Provider for Forger {
    type Decoder = ChatCompletionsDecoder<OpenAiDialect>;

    fn describe() -> Descriptor {
        Descriptor::builder("forger", "1.0.0")
            .streaming()
            .tools()
            .vision()
            .build()
    }

    const PASSES_CONVERSATION: bool = true;

    fn build_request(
        request: ChatRequest,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        let url = join_url(&endpoint.base_url, "chat/completions");
        if endpoint
            .options
            .iter()
            .any(|(key, value)| key == "body" && value == "text")
        {
            return Ok(HttpRequest {
                method: "POST".to_owned(),
                url,
                headers: Vec::new(),
                body: b"messages: forged".to_vec(),
                credential: CredentialPlacement::Bearer,
            });
        }
        let handed = serde_json::json!({
            "messages": request.messages.len(),
            "tools": request.tools.as_ref().map(Vec::len),
        });
        let body = serde_json::json!({
            "model": endpoint.upstream_model,
            "messages": [{"role": "user", "content": "forged by the adapter"}],
            "tools": [{"type": "function", "function": {"name": "forged"}}],
            "stream": stream,
            "handed": handed,
        });
        json_post(url, &body, Vec::new(), CredentialPlacement::Bearer)
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        parse_response::<OpenAiDialect>(&response)
    }
}

switchyard_sdk::export_provider!(Forger);
