//! Builds the upstream Converse / ConverseStream request from a canonical request.

use serde_json::{Map, Value, json};
use switchyard_sdk::anthropic::Extension;
use switchyard_sdk::provider::*;
use switchyard_sdk::structured;
use switchyard_sdk::translate::{ToolChoice, function_tools, thinking_budget, tool_choice};

use crate::messages;
use crate::native::{self, cache_point};
use crate::options::Options;

/// Builds `POST <base_url>/model/<model id>/converse[-stream]` with the translated body; the
/// host signs it (SigV4, service `bedrock`, the endpoint's region).
pub fn build(
    request: ChatRequest,
    endpoint: &EndpointSettings,
    stream: bool,
) -> Result<HttpRequest, PluginError> {
    let options = Options::parse(endpoint)?;
    let model = endpoint.upstream_model.as_str();
    let extension = Extension::of(&request)?;
    let conversation = messages::translate(&request, &extension, native::caches(model))?;

    let mut body = Map::new();
    body.insert("messages".to_owned(), Value::Array(conversation.messages));
    if !conversation.system.is_empty() {
        body.insert("system".to_owned(), Value::Array(conversation.system));
    }
    let max_tokens = request.output_token_limit().or(options.default_max_tokens);
    let mut inference = Map::new();
    if let Some(max_tokens) = max_tokens {
        inference.insert("maxTokens".to_owned(), json!(max_tokens));
    }
    if let Some(temperature) = request.temperature {
        inference.insert("temperature".to_owned(), json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        inference.insert("topP".to_owned(), json!(top_p));
    }
    let stops = request.stop_sequences();
    if !stops.is_empty() {
        inference.insert("stopSequences".to_owned(), json!(stops));
    }
    let mut additional = Map::new();
    if let Some(thinking) = thinking(&request, model, max_tokens) {
        // Thinking forbids custom sampling on Anthropic models.
        inference.remove("temperature");
        inference.remove("topP");
        additional.insert("thinking".to_owned(), thinking);
    }
    let betas = native::betas(&extension);
    if native::is_claude(model) && !betas.is_empty() {
        additional.insert("anthropic_beta".to_owned(), json!(betas));
    }
    if !additional.is_empty() {
        body.insert(
            "additionalModelRequestFields".to_owned(),
            Value::Object(additional),
        );
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".to_owned(), Value::Object(inference));
    }
    if let Some(tool_config) = tool_config(&request, &extension, native::caches(model))? {
        body.insert("toolConfig".to_owned(), tool_config);
    }
    json_answer(&request, &mut body)?;

    let operation = if stream {
        "converse-stream"
    } else {
        "converse"
    };
    model_post(endpoint, options.region, operation, &body)
}

/// `POST <base_url>/model/<model id>/<operation>` with the JSON `body`, for the host to sign
/// (SigV4, service `bedrock`, `region`).
pub fn model_post(
    endpoint: &EndpointSettings,
    region: String,
    operation: &str,
    body: &impl serde::Serialize,
) -> Result<HttpRequest, PluginError> {
    let path = format!(
        "model/{}/{operation}",
        encode_model_id(&endpoint.upstream_model)
    );
    json_post(
        join_url(&endpoint.base_url, &path),
        body,
        Vec::new(),
        CredentialPlacement::AwsSigv4(AwsSigv4Scope {
            service: "bedrock".to_owned(),
            region,
        }),
    )
}

/// A model id or ARN as one path segment: everything but unreserved characters percent-encoded
/// (`anthropic.claude-3-haiku-20240307-v1:0` → `...-v1%3A0`).
fn encode_model_id(model: &str) -> String {
    let mut encoded = String::with_capacity(model.len());
    for byte in model.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `tools` → `toolConfig.tools[].toolSpec`; `tool_choice` auto/required/named →
/// `auto`/`any`/`tool`; `none` (or no tools) → no `toolConfig`. With `cache_points`, a cache
/// point follows each tool the client marked with `cache_control` (in the Anthropic `extension`).
fn tool_config(
    request: &ChatRequest,
    extension: &Extension,
    cache_points: bool,
) -> Result<Option<Value>, PluginError> {
    let specs = function_tools(request, "bedrock")?;
    let choice = match tool_choice(request)? {
        _ if specs.is_empty() => return Ok(None),
        Some(ToolChoice::None) => return Ok(None),
        None => None,
        Some(ToolChoice::Auto) => Some(json!({"auto": {}})),
        Some(ToolChoice::Required) => Some(json!({"any": {}})),
        Some(ToolChoice::Named(name)) => Some(json!({"tool": {"name": name}})),
    };
    let mut tools = Vec::with_capacity(specs.len());
    for spec in specs {
        let cached = cache_points && native::tool_cached(extension, spec.name);
        let mut entry = Map::new();
        entry.insert("name".to_owned(), json!(spec.name));
        if let Some(description) = spec.description {
            entry.insert("description".to_owned(), json!(description));
        }
        entry.insert("inputSchema".to_owned(), json!({"json": spec.schema}));
        tools.push(json!({"toolSpec": entry}));
        if cached {
            tools.push(cache_point());
        }
    }
    let mut config = Map::new();
    config.insert("tools".to_owned(), Value::Array(tools));
    if let Some(choice) = choice {
        config.insert("toolChoice".to_owned(), choice);
    }
    Ok(Some(Value::Object(config)))
}

/// `response_format` → the one tool the model must call ([`structured::JSON_TOOL`], carrying
/// the schema). Claude refuses a forced tool while thinking, so the two together are refused by
/// name.
fn json_answer(request: &ChatRequest, body: &mut Map<String, Value>) -> Result<(), PluginError> {
    let Some(schema) = structured::schema(request)? else {
        return Ok(());
    };
    if body
        .get("additionalModelRequestFields")
        .is_some_and(|fields| fields.get("thinking").is_some())
    {
        return Err(PluginError::InvalidRequest(
            "response_format together with reasoning is not supported on Bedrock (Claude \
             refuses a forced tool while thinking); send one or the other"
                .to_owned(),
        ));
    }
    body.insert(
        "toolConfig".to_owned(),
        json!({
            "tools": [{"toolSpec": {
                "name": structured::JSON_TOOL,
                "description": structured::JSON_TOOL_DESCRIPTION,
                "inputSchema": {"json": schema},
            }}],
            "toolChoice": {"tool": {"name": structured::JSON_TOOL}},
        }),
    );
    Ok(())
}

/// OpenRouter's `reasoning` → Anthropic `thinking` for Claude models (model ids containing
/// `anthropic.`), with the budget of [`thinking_budget`]; none for other models or when the
/// request sets no output limit to share.
fn thinking(request: &ChatRequest, model: &str, max_tokens: Option<u64>) -> Option<Value> {
    if !model.contains("anthropic.") {
        return None;
    }
    let budget = thinking_budget(request, max_tokens?)?;
    Some(json!({"type": "enabled", "budget_tokens": budget}))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchyard_sdk::testing::endpoint;

    use super::*;

    const BASE: &str = "https://bedrock-runtime.us-east-1.amazonaws.com";
    const CLAUDE: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";

    fn build_json(request: Value, model: &str, stream: bool) -> (HttpRequest, Value) {
        let request: ChatRequest = serde_json::from_value(request).expect("a chat request");
        let built = build(request, &endpoint(BASE, model, &[]), stream).expect("a request");
        let body = serde_json::from_slice(&built.body).expect("a JSON body");
        (built, body)
    }

    #[test]
    fn a_conversation_with_system_image_tools_and_results_maps_exactly() {
        let (built, body) = build_json(
            json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                    ]},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "tooluse_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"cat\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "tooluse_1", "content": "a cat"},
                    {"role": "user", "content": "Thanks"}
                ],
                "max_tokens": 300,
                "temperature": 0.2,
                "top_p": 0.9,
                "stop": ["END"],
                "tools": [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
                "tool_choice": "required"
            }),
            CLAUDE,
            false,
        );
        assert_eq!(built.method, "POST");
        assert_eq!(
            built.url,
            format!("{BASE}/model/anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse")
        );
        assert!(matches!(
            &built.credential,
            CredentialPlacement::AwsSigv4(scope) if scope.service == "bedrock" && scope.region == "us-east-1"
        ));
        assert_eq!(
            body,
            json!({
                "system": [{"text": "Be brief."}],
                "messages": [
                    {"role": "user", "content": [
                        {"text": "What is in this image?"},
                        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
                    ]},
                    {"role": "assistant", "content": [
                        {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": "cat"}}}
                    ]},
                    {"role": "user", "content": [
                        {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "a cat"}]}},
                        {"text": "Thanks"}
                    ]}
                ],
                "inferenceConfig": {"maxTokens": 300, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
                "toolConfig": {
                    "tools": [{"toolSpec": {"name": "lookup", "description": "Look up", "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}}],
                    "toolChoice": {"any": {}}
                }
            })
        );
    }

    #[test]
    fn a_stream_goes_to_converse_stream_and_a_named_tool_choice_maps_to_tool() {
        let (built, body) = build_json(
            json!({
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": {"type": "function", "function": {"name": "f"}}
            }),
            "amazon.nova-lite-v1:0",
            true,
        );
        assert_eq!(
            built.url,
            format!("{BASE}/model/amazon.nova-lite-v1%3A0/converse-stream")
        );
        assert_eq!(
            body,
            json!({
                "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                "toolConfig": {
                    "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object", "properties": {}}}}}],
                    "toolChoice": {"tool": {"name": "f"}}
                }
            })
        );
    }

    #[test]
    fn reasoning_becomes_thinking_for_claude_and_drops_sampling() {
        let request = json!({
            "model": "m",
            "messages": [{"role": "user", "content": "think"}],
            "max_tokens": 4000,
            "temperature": 0.5,
            "reasoning": {"effort": "high"}
        });
        let (_, body) = build_json(request.clone(), CLAUDE, false);
        assert_eq!(
            body["additionalModelRequestFields"],
            json!({"thinking": {"type": "enabled", "budget_tokens": 3200}})
        );
        assert_eq!(body["inferenceConfig"], json!({"maxTokens": 4000}));
        let (_, body) = build_json(request, "meta.llama3-70b-instruct-v1:0", false);
        assert!(body.get("additionalModelRequestFields").is_none());
        assert_eq!(body["inferenceConfig"]["temperature"], 0.5);
    }

    #[test]
    fn reasoning_details_sent_back_become_reasoning_content_blocks() {
        let (_, body) = build_json(
            json!({
                "model": "m",
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "ok", "reasoning_details": [
                        {"type": "reasoning.text", "text": "Think", "index": 0},
                        {"type": "reasoning.text", "text": "ing.", "signature": "sig", "index": 0},
                        {"type": "reasoning.encrypted", "data": "opaque", "index": 1},
                        {"type": "reasoning.text", "text": "unsigned", "index": 2},
                        {"type": "reasoning.text", "text": "other", "signature": "s", "format": "google-gemini-v1", "index": 3}
                    ]},
                    {"role": "user", "content": "go on"}
                ]
            }),
            CLAUDE,
            false,
        );
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"reasoningContent": {"reasoningText": {"text": "Thinking.", "signature": "sig"}}},
                {"reasoningContent": {"redactedContent": "opaque"}},
                {"text": "ok"}
            ])
        );
    }

    #[test]
    fn cache_control_becomes_cache_points_and_accepted_betas_reach_claude() {
        let request = json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": [
                    {"type": "text", "text": "Long instructions.", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "A long document.", "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Question?"}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "found"}
            ],
            "max_tokens": 100,
            "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
            "anthropic": {
                "beta": ["claude-code-20250219", "interleaved-thinking-2025-05-14"],
                "tool_cache_control": {"lookup": {"type": "ephemeral"}},
                "tool_results": {"toolu_1": {"cache_control": {"type": "ephemeral"}}}
            }
        });
        let point = json!({"cachePoint": {"type": "default"}});
        let (_, body) = build_json(request.clone(), CLAUDE, false);
        assert_eq!(
            body["system"],
            json!([{"text": "Long instructions."}, point])
        );
        assert_eq!(
            body["messages"][0]["content"],
            json!([{"text": "A long document."}, point, {"text": "Question?"}])
        );
        assert_eq!(body["messages"][2]["content"][1], point);
        assert_eq!(body["toolConfig"]["tools"][1], point);
        assert_eq!(
            body["additionalModelRequestFields"],
            json!({"anthropic_beta": ["interleaved-thinking-2025-05-14"]})
        );

        // A model that does not cache gets no cache points, and no Anthropic betas.
        let (_, body) = build_json(request, "meta.llama3-70b-instruct-v1:0", false);
        assert!(!body.to_string().contains("cachePoint"), "{body}");
        assert!(body.get("additionalModelRequestFields").is_none(), "{body}");
    }

    #[test]
    fn response_format_becomes_a_forced_tool_and_is_refused_with_reasoning() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let (_, body) = build_json(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}}),
            CLAUDE,
            false,
        );
        assert_eq!(
            body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
            schema
        );
        assert_eq!(
            body["toolConfig"]["toolChoice"],
            json!({"tool": {"name": structured::JSON_TOOL}})
        );
        let request: ChatRequest = serde_json::from_value(json!({"model": "m",
            "messages": [{"role": "user", "content": "x"}], "max_tokens": 4000,
            "reasoning": {"effort": "high"}, "response_format": {"type": "json_object"}}))
        .expect("a chat request");
        assert!(matches!(
            build(request, &endpoint(BASE, CLAUDE, &[]), false),
            Err(PluginError::InvalidRequest(_))
        ));
    }

    #[test]
    fn tool_choice_none_sends_no_tools() {
        let (_, body) = build_json(
            json!({
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": "none"
            }),
            CLAUDE,
            false,
        );
        assert!(body.get("toolConfig").is_none());
    }

    #[test]
    fn image_urls_and_unknown_image_types_are_refused() {
        for url in [
            "https://example.com/cat.png",
            "data:image/tiff;base64,AAAA",
            "data:image/png,raw",
        ] {
            let request: ChatRequest = serde_json::from_value(json!({
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
            }))
            .expect("a chat request");
            assert!(
                matches!(
                    build(request, &endpoint(BASE, CLAUDE, &[]), false),
                    Err(PluginError::InvalidRequest(_))
                ),
                "{url}"
            );
        }
    }
}
