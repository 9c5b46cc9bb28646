//! An Anthropic Messages request as a canonical chat request (OpenAI chat completions as
//! extended by OpenRouter), in the form the Anthropic adapter turns back into the same Messages
//! request: `cache_control` stays on text and image parts and system blocks, thinking blocks
//! travel with their signatures as `reasoning_details`, `metadata.user_id` as `user`; what the
//! chat format has no place for (`cache_control` on tools, tool result details, documents'
//! `citations`, `title` and `context`, search results, cited text) is gathered into the
//! [`Extension`].

use serde_json::{Map, Value, json};

use switchyard_sdk::web_search;

use super::extension::Extension;
use super::names::ToolNames;
use super::server_tools;
use crate::error::ApiError;

/// The `format` of reasoning details the Anthropic adapter replays as thinking blocks.
pub const REASONING_FORMAT: &str = "anthropic-claude-v1";

/// A translated request.
#[derive(Debug)]
pub struct Translated {
    /// The canonical chat request body.
    pub chat: Map<String, Value>,
    /// The tool names shortened for upstream, to restore in the answer.
    pub names: ToolNames,
    /// What an Anthropic-native upstream needs beyond the chat format; not yet in `chat`.
    pub extension: Extension,
    /// Whether the client wants a stream.
    pub stream: bool,
}

/// The Messages API fields the translation reads (`service_tier` is bookkeeping with no effect
/// on the answer).
const KNOWN: [&str; 16] = [
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "metadata",
    "stream",
    "output_config",
    "context_management",
    "service_tier",
];

/// Switchyard's own request fields an Anthropic request may carry too.
const PASSED_THROUGH: [&str; 5] = ["provider", "models", "session_id", "plugins", "transforms"];

/// Translates a Messages request body. `max_tokens` is required unless `counting` (the
/// `count_tokens` body has none).
pub fn translate(body: &Value, counting: bool) -> Result<Translated, ApiError> {
    let Value::Object(request) = body else {
        return Err(invalid("request body must be a JSON object"));
    };
    crate::unserved::check(request)?;
    if let Some(field) = request
        .keys()
        .find(|key| !KNOWN.contains(&key.as_str()) && !PASSED_THROUGH.contains(&key.as_str()))
    {
        return Err(invalid(format!(
            "{field}: not supported by Switchyard (it refuses a field rather than drop it); \
             remove it"
        )));
    }
    let mut chat = Map::new();
    let mut names = ToolNames::default();
    let mut extension = Extension::default();
    match request.get("model") {
        Some(Value::String(model)) if !model.is_empty() => {
            chat.insert("model".to_owned(), json!(model));
        }
        None | Some(Value::Null) => return Err(invalid("model: Field required")),
        Some(_) => return Err(invalid("model: must be a non-empty string")),
    }
    match request.get("max_tokens") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => {
            chat.insert("max_tokens".to_owned(), Value::Number(n.clone()));
        }
        None if counting => {}
        None => return Err(invalid("max_tokens: Field required")),
        Some(_) => return Err(invalid("max_tokens: must be a positive integer")),
    }
    let mut messages = Vec::new();
    if let Some(system) = request.get("system") {
        messages.extend(system_message(system)?);
    }
    let Some(Value::Array(turns)) = request.get("messages") else {
        return Err(invalid("messages: Field required (a list)"));
    };
    if turns.is_empty() {
        return Err(invalid("messages: at least one message is required"));
    }
    for (index, turn) in turns.iter().enumerate() {
        translate_turn(turn, &mut names, &mut extension, &mut messages)
            .map_err(|message| invalid(format!("messages.{index}: {message}")))?;
    }
    chat.insert("messages".to_owned(), Value::Array(messages));
    if let Some(tools) = request.get("tools") {
        let (tools, search) = translate_tools(tools, &mut names, &mut extension)
            .map_err(|m| invalid(format!("tools: {m}")))?;
        if search.is_some() && request.get("tool_choice").is_some_and(names_web_search) {
            return Err(invalid(
                "tool_choice: forcing the web_search server tool is not supported; it is \
                 offered to the model, which searches when it needs to",
            ));
        }
        if !tools.is_empty() || search.is_none() {
            chat.insert("tools".to_owned(), Value::Array(tools));
        }
        if let Some(options) = search {
            chat.insert(web_search::OPTIONS.to_owned(), options);
        }
    }
    if let Some(choice) = request.get("tool_choice") {
        tool_choice(choice, &mut names, &mut chat)
            .map_err(|m| invalid(format!("tool_choice: {m}")))?;
    }
    if let Some(thinking) = request.get("thinking") {
        let reasoning = reasoning(thinking).map_err(|m| invalid(format!("thinking: {m}")))?;
        chat.insert("reasoning".to_owned(), reasoning);
    }
    if let Some(config) = request.get("output_config").filter(|c| !c.is_null()) {
        output_config(config, &mut chat).map_err(|m| invalid(format!("output_config: {m}")))?;
    }
    if let Some(management) = request.get("context_management").filter(|c| !c.is_null()) {
        keeps_everything(management).map_err(|m| invalid(format!("context_management: {m}")))?;
    }
    if let Some(stops) = request.get("stop_sequences") {
        if !stops
            .as_array()
            .is_some_and(|s| s.iter().all(Value::is_string))
        {
            return Err(invalid("stop_sequences: must be a list of strings"));
        }
        chat.insert("stop".to_owned(), stops.clone());
    }
    for sampling in ["temperature", "top_p", "top_k"] {
        match request.get(sampling) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => {
                chat.insert(sampling.to_owned(), Value::Number(n.clone()));
            }
            Some(_) => return Err(invalid(format!("{sampling}: must be a number"))),
        }
    }
    if let Some(user) = request
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        chat.insert("user".to_owned(), json!(user));
    }
    let stream = match request.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err(invalid("stream: must be a boolean")),
    };
    chat.insert("stream".to_owned(), Value::Bool(stream));
    for field in PASSED_THROUGH {
        if let Some(value) = request.get(field) {
            chat.insert(field.to_owned(), value.clone());
        }
    }
    Ok(Translated {
        chat,
        names,
        extension,
        stream,
    })
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_request(message)
}

/// `system` (a string or text blocks) as one system message; `None` when empty.
fn system_message(system: &Value) -> Result<Option<Value>, ApiError> {
    match system {
        Value::Null => Ok(None),
        Value::String(text) if text.is_empty() => Ok(None),
        Value::String(text) => Ok(Some(json!({"role": "system", "content": text}))),
        Value::Array(blocks) => {
            let parts = blocks
                .iter()
                .map(|block| match block_type(block) {
                    "text" => text_part(block),
                    other => Err(format!("a system block must be text, not {other:?}")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| invalid(format!("system: {m}")))?;
            Ok((!parts.is_empty()).then(|| json!({"role": "system", "content": parts})))
        }
        _ => Err(invalid("system: must be a string or a list of text blocks")),
    }
}

fn block_type(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}

/// A string member, or why it is missing.
fn string<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` must be a string"))
}

/// Copies the block's `cache_control` onto a canonical part.
fn with_cache_control(block: &Value, mut part: Value) -> Value {
    if let (Some(cache), Value::Object(object)) = (block.get("cache_control"), &mut part)
        && !cache.is_null()
    {
        object.insert("cache_control".to_owned(), cache.clone());
    }
    part
}

fn text_part(block: &Value) -> Result<Value, String> {
    let text = string(block, "text")?;
    Ok(with_cache_control(
        block,
        json!({"type": "text", "text": text}),
    ))
}

/// An image block (base64 or URL source) as an `image_url` part.
fn image_part(block: &Value) -> Result<Value, String> {
    let source = block
        .get("source")
        .ok_or("an image block has no `source`")?;
    let url = match block_type(source) {
        "base64" => format!(
            "data:{};base64,{}",
            string(source, "media_type")?,
            string(source, "data")?
        ),
        "url" => string(source, "url")?.to_owned(),
        other => return Err(format!("image source type {other:?} is not supported")),
    };
    Ok(with_cache_control(
        block,
        json!({"type": "image_url", "image_url": {"url": url}}),
    ))
}

/// A document block: plain-text and custom-content sources become text; PDFs (base64 or URL)
/// become OpenRouter `file` parts.
fn document_part(block: &Value) -> Result<Value, String> {
    let source = block
        .get("source")
        .ok_or("a document block has no `source`")?;
    let part = match block_type(source) {
        "text" => json!({"type": "text", "text": string(source, "data")?}),
        "content" => json!({"type": "text", "text": content_text(source)?}),
        "base64" => json!({"type": "file", "file": {
            "filename": block.get("title").and_then(Value::as_str).unwrap_or("document.pdf"),
            "file_data": format!("data:{};base64,{}", string(source, "media_type")?, string(source, "data")?),
        }}),
        "url" => json!({"type": "file", "file": {
            "filename": block.get("title").and_then(Value::as_str).unwrap_or("document.pdf"),
            "file_data": string(source, "url")?,
        }}),
        other => return Err(format!("document source type {other:?} is not supported")),
    };
    Ok(with_cache_control(block, part))
}

/// The text of a block's `content` (a document's custom content, a tool result, a search
/// result): a string, or what its blocks say joined by newlines; empty when absent.
fn content_text(block: &Value) -> Result<String, String> {
    match block.get("content") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(blocks)) => Ok(blocks
            .iter()
            .filter_map(block_text)
            .collect::<Vec<_>>()
            .join("\n")),
        Some(_) => Err("`content` must be a string or a list of blocks".into()),
    }
}

/// What a block of some `content` says: a search result's [`search_result_text`], else its
/// `text` (images and other blocks say nothing).
fn block_text(block: &Value) -> Option<String> {
    if block_type(block) == "search_result" {
        return search_result_text(block).ok();
    }
    block.get("text").and_then(Value::as_str).map(str::to_owned)
}

/// A search result as text: its title and source, then its content's text.
fn search_result_text(block: &Value) -> Result<String, String> {
    Ok(format!(
        "{} ({})\n{}",
        string(block, "title")?,
        string(block, "source")?,
        content_text(block)?
    ))
}

/// A search result as a text part.
fn search_result_part(block: &Value) -> Result<Value, String> {
    let text = search_result_text(block)?;
    Ok(with_cache_control(
        block,
        json!({"type": "text", "text": text}),
    ))
}

/// A user content block that is not a tool result, as a canonical part.
fn user_part(block: &Value) -> Result<Value, String> {
    match block_type(block) {
        "text" => text_part(block),
        "image" => image_part(block),
        "document" => document_part(block),
        "search_result" => search_result_part(block),
        other => Err(format!(
            "content block type {other:?} is not supported in a user turn"
        )),
    }
}

/// One Messages turn as canonical messages: a user turn's tool results become tool messages
/// (before its other blocks, which follow as one user message); an assistant turn's thinking
/// becomes `reasoning_details` and its tool uses `tool_calls`; a system turn stays one.
fn translate_turn(
    turn: &Value,
    names: &mut ToolNames,
    extension: &mut Extension,
    out: &mut Vec<Value>,
) -> Result<(), String> {
    let role = string(turn, "role")?;
    let content = turn.get("content").ok_or("`content` is required")?;
    match (role, content) {
        ("user" | "assistant", Value::String(text)) => {
            out.push(json!({"role": role, "content": text}));
            Ok(())
        }
        ("user", Value::Array(blocks)) => {
            let mut parts = Vec::new();
            let mut sources = Vec::new();
            for block in blocks {
                if block_type(block) == "tool_result" {
                    out.push(tool_message(block, extension)?);
                } else {
                    parts.push(user_part(block)?);
                    sources.push(block);
                }
            }
            if !parts.is_empty() {
                // Tool messages came first: the user message is the next one.
                for (part, block) in sources.into_iter().enumerate() {
                    extension.block(out.len(), part, block);
                }
                out.push(json!({"role": "user", "content": parts}));
            }
            Ok(())
        }
        ("assistant", Value::Array(blocks)) => {
            let message = assistant_message(blocks, names)?;
            let texts = blocks.iter().filter(|block| block_type(block) == "text");
            for (part, block) in texts.enumerate() {
                extension.block(out.len(), part, block);
            }
            out.push(message);
            Ok(())
        }
        // Claude Code sends system reminders as system turns.
        ("system", _) => {
            let message = system_message(content).map_err(|e| e.message().to_owned())?;
            out.extend(message);
            Ok(())
        }
        ("user" | "assistant", _) => Err("`content` must be a string or a list of blocks".into()),
        (other, _) => Err(format!("role {other:?} is not user, assistant or system")),
    }
}

/// Whether `block` (or a block in its custom-content source) reads a file from the upstream
/// account: a `file` source or a `file_id`.
fn names_upstream_file(block: &Value) -> bool {
    let Some(source) = block.get("source") else {
        return false;
    };
    block_type(source) == "file"
        || source.get("file_id").is_some()
        || source
            .get("content")
            .and_then(Value::as_array)
            .is_some_and(|blocks| blocks.iter().any(names_upstream_file))
}

/// A `tool_result` block as a tool message, what its content's blocks say joined (search
/// results included); the rest of what it says goes to the `extension`.
fn tool_message(block: &Value, extension: &mut Extension) -> Result<Value, String> {
    let id = string(block, "tool_use_id")?;
    if let Some(Value::Array(blocks)) = block.get("content")
        && blocks.iter().any(names_upstream_file)
    {
        return Err(
            "a tool_result's content has a `file` source (`file_id`): files stored \
                    with the upstream provider are not accepted"
                .into(),
        );
    }
    extension.tool_result(id, block);
    let content = content_text(block).map_err(|m| format!("a tool_result's {m}"))?;
    Ok(json!({"role": "tool", "tool_call_id": id, "content": content}))
}

fn assistant_message(blocks: &[Value], names: &mut ToolNames) -> Result<Value, String> {
    let mut parts = Vec::new();
    let mut details = Vec::new();
    let mut calls = Vec::new();
    for block in blocks {
        match block_type(block) {
            "text" => parts.push(text_part(block)?),
            "thinking" => details.push(json!({
                "type": "reasoning.text",
                "text": string(block, "thinking")?,
                "signature": block.get("signature").and_then(Value::as_str),
                "format": REASONING_FORMAT,
                "index": details.len(),
            })),
            "redacted_thinking" => details.push(json!({
                "type": "reasoning.encrypted",
                "data": string(block, "data")?,
                "format": REASONING_FORMAT,
                "index": details.len(),
            })),
            "tool_use" => {
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(json!({
                    "id": string(block, "id")?,
                    "type": "function",
                    "function": {"name": names.upstream(string(block, "name")?), "arguments": input.to_string()},
                }));
            }
            other => {
                return Err(format!(
                    "content block type {other:?} is not supported in an assistant turn"
                ));
            }
        }
    }
    let mut message = Map::new();
    message.insert("role".to_owned(), json!("assistant"));
    message.insert(
        "content".to_owned(),
        if parts.is_empty() {
            Value::Null
        } else {
            Value::Array(parts)
        },
    );
    if !details.is_empty() {
        message.insert("reasoning_details".to_owned(), Value::Array(details));
    }
    if !calls.is_empty() {
        message.insert("tool_calls".to_owned(), Value::Array(calls));
    }
    Ok(Value::Object(message))
}

/// Whether a `tool_choice` forces the tool named `web_search`.
fn names_web_search(choice: &Value) -> bool {
    block_type(choice) == "tool" && choice.get("name") == Some(&json!("web_search"))
}

/// Client tools (`{name, description, input_schema}`) as function tools, their `cache_control`
/// kept in the `extension`, and the web search server tool as `web_search_options` (see
/// [`server_tools`]). Anthropic's other server tools (code execution...) run at Anthropic only
/// and are refused.
fn translate_tools(
    tools: &Value,
    names: &mut ToolNames,
    extension: &mut Extension,
) -> Result<(Vec<Value>, Option<Value>), String> {
    let Value::Array(tools) = tools else {
        return Err("must be a list".into());
    };
    let mut search = None;
    let mut functions = Vec::with_capacity(tools.len());
    for tool in tools {
        let kind = tool.get("type").and_then(Value::as_str).unwrap_or("custom");
        if server_tools::is_web_search(kind) {
            if search.is_some() {
                return Err("at most one web_search tool".to_owned());
            }
            search = Some(server_tools::web_search_options(tool)?);
            continue;
        }
        if kind != "custom" {
            return Err(format!(
                "server tool type {kind:?} is not supported through Switchyard"
            ));
        }
        let name = names.upstream(string(tool, "name")?);
        extension.tool(&name, tool);
        let mut function = Map::new();
        function.insert("name".to_owned(), json!(name));
        if let Some(description) = tool.get("description").filter(|d| d.is_string()) {
            function.insert("description".to_owned(), description.clone());
        }
        let schema = tool
            .get("input_schema")
            .ok_or("a tool has no `input_schema`")?;
        function.insert("parameters".to_owned(), schema.clone());
        functions.push(json!({"type": "function", "function": function}));
    }
    Ok((functions, search))
}

/// `{type: auto|any|tool|none, disable_parallel_tool_use}` → `tool_choice` and
/// `parallel_tool_calls`.
fn tool_choice(
    choice: &Value,
    names: &mut ToolNames,
    chat: &mut Map<String, Value>,
) -> Result<(), String> {
    let translated = match block_type(choice) {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => {
            json!({"type": "function", "function": {"name": names.upstream(string(choice, "name")?)}})
        }
        other => return Err(format!("type {other:?} is not auto, any, tool or none")),
    };
    chat.insert("tool_choice".to_owned(), translated);
    if choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
        chat.insert("parallel_tool_calls".to_owned(), Value::Bool(false));
    }
    Ok(())
}

/// `thinking` as OpenRouter's `reasoning`: enabled with a budget → `max_tokens`, adaptive →
/// enabled at the default effort, disabled → `enabled: false`.
/// `output_config`: `effort` → `reasoning.effort` (with the thinking settings, when given);
/// `format` (a JSON schema) → `response_format`.
fn output_config(config: &Value, chat: &mut Map<String, Value>) -> Result<(), String> {
    let Value::Object(config) = config else {
        return Err("must be an object".to_owned());
    };
    for (key, value) in config {
        match key.as_str() {
            "effort" => {
                let effort = value.as_str().ok_or("`effort` must be a string")?;
                let reasoning = chat.entry("reasoning").or_insert_with(|| json!({}));
                if let Value::Object(reasoning) = reasoning {
                    reasoning.insert("effort".to_owned(), json!(effort));
                }
            }
            "format" if value.get("type").and_then(Value::as_str) == Some("json_schema") => {
                let schema = value
                    .get("schema")
                    .cloned()
                    .ok_or("`format` needs a `schema`")?;
                chat.insert(
                    "response_format".to_owned(),
                    json!({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}),
                );
            }
            other => return Err(format!("`{other}` is not supported by Switchyard")),
        }
    }
    Ok(())
}

/// `context_management` whose edits clear nothing (Claude Code's `clear_thinking` keeping
/// `all`): served, since Switchyard clears nothing either. Any other edit is refused.
fn keeps_everything(management: &Value) -> Result<(), String> {
    let edits = management
        .get("edits")
        .and_then(Value::as_array)
        .ok_or("needs an `edits` list")?;
    for edit in edits {
        let kind = edit.get("type").and_then(Value::as_str).unwrap_or("");
        let keeps_all = edit.get("keep").and_then(Value::as_str) == Some("all");
        if !(kind.starts_with("clear_thinking") && keeps_all) {
            return Err(format!(
                "the edit {kind:?} is not supported by Switchyard (only clear_thinking with \
                 keep: \"all\", which clears nothing)"
            ));
        }
    }
    Ok(())
}

fn reasoning(thinking: &Value) -> Result<Value, String> {
    match block_type(thinking) {
        "enabled" => {
            let budget = thinking
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .ok_or("`budget_tokens` must be a positive integer")?;
            Ok(json!({"max_tokens": budget}))
        }
        "adaptive" => Ok(json!({"enabled": true})),
        "disabled" => Ok(json!({"enabled": false})),
        other => Err(format!(
            "type {other:?} is not enabled, adaptive or disabled"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: Value) -> Map<String, Value> {
        match translate(&body, false) {
            Ok(translated) => translated.chat,
            Err(error) => panic!("{body}: {}", error.message()),
        }
    }

    #[test]
    fn a_full_conversation_keeps_signatures_cache_control_and_tools() {
        let long = "t".repeat(70);
        let chat = chat(json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 1024,
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "metadata": {"user_id": "u-1"},
            "stop_sequences": ["END"],
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "tools": [{"name": long, "description": "d", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Look", "cache_control": {"type": "ephemeral"}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "tool_use", "id": "toolu_1", "name": long, "input": {"a": 1}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "42"}], "is_error": false},
                    {"type": "text", "text": "and?"}
                ]}
            ]
        }));
        let messages = chat["messages"].as_array().expect("messages");
        assert_eq!(
            messages[0]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        assert_eq!(
            messages[1]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        assert_eq!(
            messages[1]["content"][1]["image_url"]["url"],
            "data:image/png;base64,AAA"
        );
        let details = &messages[2]["reasoning_details"];
        assert_eq!(details[0]["signature"], "sig");
        assert_eq!(details[0]["format"], REASONING_FORMAT);
        assert_eq!(details[1]["data"], "opaque");
        let name = messages[2]["tool_calls"][0]["function"]["name"]
            .as_str()
            .expect("name");
        assert_eq!(name.len(), 64);
        assert_eq!(
            messages[2]["tool_calls"][0]["function"]["arguments"],
            r#"{"a":1}"#
        );
        assert_eq!(
            messages[3],
            json!({"role": "tool", "tool_call_id": "toolu_1", "content": "42"})
        );
        assert_eq!(messages[4]["content"][0]["text"], "and?");
        assert_eq!(chat["tools"][0]["function"]["name"], name);
        assert_eq!(chat["tool_choice"], "required");
        assert_eq!(chat["parallel_tool_calls"], false);
        assert_eq!(chat["reasoning"]["max_tokens"], 2048);
        assert_eq!(chat["stop"], json!(["END"]));
        assert_eq!(chat["user"], "u-1");
    }

    #[test]
    fn documents_and_search_results_become_parts_and_blocks_by_position() {
        let document = json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The sky is blue."},
            "title": "Colors", "context": "c", "citations": {"enabled": true}});
        let custom = json!({"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]}});
        let search = json!({"type": "search_result", "source": "https://example.com", "title": "Sky",
            "content": [{"type": "text", "text": "Blue."}], "citations": {"enabled": true}});
        let cited = json!({"type": "text", "text": "blue", "citations": [{"type": "char_location", "cited_text": "blue"}]});
        let translated = translate(
            &json!({
                "model": "m", "max_tokens": 1, "system": "s",
                "messages": [
                    {"role": "user", "content": [document, custom, search, {"type": "text", "text": "Colour?"}]},
                    {"role": "assistant", "content": [cited]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "t", "content": [search, {"type": "text", "text": "x"}]},
                        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}, "citations": {"enabled": true}}
                    ]}
                ]
            }),
            false,
        )
        .unwrap_or_else(|e| panic!("{}", e.message()));
        let messages = translated.chat["messages"].as_array().expect("messages");
        assert_eq!(
            messages[1]["content"],
            json!([
                {"type": "text", "text": "The sky is blue."},
                {"type": "text", "text": "One.\nTwo."},
                {"type": "text", "text": "Sky (https://example.com)\nBlue."},
                {"type": "text", "text": "Colour?"},
            ])
        );
        assert_eq!(
            messages[2]["content"],
            json!([{"type": "text", "text": "blue"}])
        );
        assert_eq!(
            messages[3]["content"],
            "Sky (https://example.com)\nBlue.\nx"
        );
        assert_eq!(
            messages[4]["content"][0]["file"]["file_data"],
            "https://example.com/a.pdf"
        );
        let mut chat = Map::new();
        translated.extension.write(&mut chat);
        let positions: Vec<(u64, u64)> = chat["anthropic"]["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .map(|b| {
                (
                    b["message"].as_u64().expect("m"),
                    b["part"].as_u64().expect("p"),
                )
            })
            .collect();
        assert_eq!(positions, [(1, 0), (1, 1), (1, 2), (2, 0), (4, 0)]);
        assert_eq!(chat["anthropic"]["blocks"][0]["block"]["title"], "Colors");
        assert_eq!(chat["anthropic"]["blocks"][3]["block"], cited);
    }

    #[test]
    fn the_web_search_server_tool_asks_for_search() {
        let ok = json!({"role": "user", "content": "hi"});
        let search = json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 3});
        let calc = json!({"name": "calc", "input_schema": {"type": "object"}});
        let only =
            chat(json!({"model": "m", "max_tokens": 1, "messages": [ok], "tools": [search]}));
        assert_eq!(only["web_search_options"], json!({"max_uses": 3}));
        assert!(!only.contains_key("tools"));
        let both =
            chat(json!({"model": "m", "max_tokens": 1, "messages": [ok], "tools": [calc, search]}));
        assert_eq!(both["tools"][0]["function"]["name"], "calc");
        assert_eq!(both["web_search_options"], json!({"max_uses": 3}));
        let forced = json!({"model": "m", "max_tokens": 1, "messages": [ok], "tools": [search],
            "tool_choice": {"type": "tool", "name": "web_search"}});
        let Err(error) = translate(&forced, false) else {
            panic!("forcing the search tool was accepted");
        };
        assert!(
            error.message().contains("tool_choice"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let error = |body: Value| match translate(&body, false) {
            Ok(_) => panic!("{body} should be refused"),
            Err(error) => error.message().to_owned(),
        };
        let ok = json!({"role": "user", "content": "hi"});
        assert!(error(json!({"max_tokens": 1, "messages": [ok]})).contains("model"));
        assert!(error(json!({"model": "m", "messages": [ok]})).contains("max_tokens"));
        assert!(error(json!({"model": "m", "max_tokens": 1, "messages": []})).contains("messages"));
        assert!(
            error(json!({"model": "m", "max_tokens": 1, "messages": [{"role": "robot", "content": "x"}]}))
                .contains("messages.0")
        );
        assert!(
            error(json!({"model": "m", "max_tokens": 1, "messages": [ok], "tools": [{"type": "code_execution_20250522", "name": "code_execution"}]}))
                .contains("server tool")
        );
        assert!(translate(&json!({"model": "m", "messages": [ok]}), true).is_ok());
    }
}
