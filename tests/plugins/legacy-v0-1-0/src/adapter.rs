// The adapter of the legacy test plugins, included by each one after it generates the bindings
// of its contract version (`bindings`), names itself (`NAME`) and defines what differs between
// versions: `capabilities()` (streaming, no tools) and `since_0_4_0!()`, the functions 0.4.0
// added (embeddings). The other types it uses are the same from 0.1.0 to 0.4.0.

use bindings::exports::switchyard::plugin::adapter::{Descriptor, Guest, GuestStreamDecoder};
use bindings::switchyard::plugin::types::{
    CredentialPlacement, EndpointSettings, Finish, FinishReason, HttpRequest, HttpResponse,
    ParsedResponse, PluginError, SseEvent, StreamOutput, Usage,
};
use serde_json::Value;

/// The legacy adapter.
pub struct Legacy;

/// Its stream decoder.
pub struct LegacyDecoder;

fn usage(value: &Value) -> Option<Usage> {
    let usage = value.get("usage").filter(|u| u.is_object())?;
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    Some(Usage {
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
    })
}

fn finish(value: &Value) -> Option<Finish> {
    let native = value.pointer("/choices/0/finish_reason")?.as_str()?;
    let reason = match native {
        "length" => FinishReason::Length,
        "tool_calls" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    };
    Some(Finish {
        reason,
        native: native.to_owned(),
    })
}

fn invalid(error: serde_json::Error) -> PluginError {
    PluginError::UpstreamUnavailable(format!("invalid JSON: {error}"))
}

impl Guest for Legacy {
    type StreamDecoder = LegacyDecoder;

    since_0_4_0!();

    fn describe() -> Descriptor {
        Descriptor {
            name: NAME.to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: vec!["api.openai.com".to_owned()],
            capabilities: capabilities(),
        }
    }

    fn build_request(
        request: Vec<u8>,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        let mut body: Value = serde_json::from_slice(&request)
            .map_err(|e| PluginError::InvalidRequest(e.to_string()))?;
        body["model"] = Value::String(endpoint.upstream_model);
        body["stream"] = Value::Bool(stream);
        if let Some(object) = body.as_object_mut() {
            object.remove("models");
        }
        Ok(HttpRequest {
            method: "POST".to_owned(),
            url: format!(
                "{}/chat/completions",
                endpoint.base_url.trim_end_matches('/')
            ),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: serde_json::to_vec(&body).map_err(|e| PluginError::Internal(e.to_string()))?,
            credential: CredentialPlacement::Bearer,
        })
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        let mut value: Value = serde_json::from_slice(&response.body).map_err(invalid)?;
        let usage = usage(&value);
        let finish = finish(&value);
        if let Some(object) = value.as_object_mut() {
            object.remove("usage");
        }
        Ok(ParsedResponse {
            body: serde_json::to_vec(&value).map_err(invalid)?,
            usage,
            finish,
        })
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        match response.status {
            429 => PluginError::RateLimited(bindings::switchyard::plugin::types::RateLimit {
                message: "rate limited".to_owned(),
                retry_after_ms: None,
            }),
            status => PluginError::UpstreamUnavailable(format!("upstream status {status}")),
        }
    }
}

impl GuestStreamDecoder for LegacyDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        LegacyDecoder
    }

    fn decode(&self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        if event.data.trim() == "[DONE]" {
            return Ok(StreamOutput {
                chunks: Vec::new(),
                usage: None,
                finish: None,
                done: true,
            });
        }
        let mut value: Value = serde_json::from_str(&event.data).map_err(invalid)?;
        let usage = usage(&value);
        let finish = finish(&value);
        let has_choices = value
            .get("choices")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty());
        if let Some(object) = value.as_object_mut() {
            object.remove("usage");
            object.remove("obfuscation");
        }
        let chunks = if has_choices {
            vec![serde_json::to_vec(&value).map_err(invalid)?]
        } else {
            Vec::new()
        };
        Ok(StreamOutput {
            chunks,
            usage,
            finish,
            done: false,
        })
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Legacy with_types_in bindings);
