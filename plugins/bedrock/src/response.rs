//! Translates a whole (non-streamed) Converse response into a canonical `chat.completion`.

use serde_json::Value;
use switchyard_sdk::provider::*;
use switchyard_sdk::structured;
use switchyard_sdk::translate::{self, completion_body};

use crate::usage;

/// Parses a 2xx response; anything that is not a Converse response (HTML, truncated JSON,
/// another shape) is [`PluginError::UpstreamUnavailable`].
pub fn parse(response: &HttpResponse) -> Result<ParsedResponse, PluginError> {
    let value: Value = parse_json(&response.body)?;
    let Some(blocks) = value
        .pointer("/output/message/content")
        .and_then(Value::as_array)
    else {
        return Err(shape("the body has no `output.message.content` list"));
    };
    let mut message = ResponseMessage::default();
    let mut details = Vec::new();
    let mut tool_calls = Vec::new();
    let mut json_answer = false;
    for block in blocks {
        if let Some(fragment) = block.get("text").and_then(Value::as_str) {
            message
                .content
                .get_or_insert_with(String::new)
                .push_str(fragment);
        } else if let Some(reasoning) = block.get("reasoningContent") {
            let index = details.len() as u32;
            if let Some(text) = reasoning.get("reasoningText") {
                let field = |name: &str| text.get(name).and_then(Value::as_str).map(str::to_owned);
                let fragment = field("text");
                message
                    .reasoning
                    .get_or_insert_with(String::new)
                    .push_str(fragment.as_deref().unwrap_or(""));
                details.push(ReasoningDetail::text(
                    fragment,
                    field("signature"),
                    None,
                    index,
                ));
            } else if let Some(data) = reasoning.get("redactedContent").and_then(Value::as_str) {
                details.push(ReasoningDetail::encrypted(data.to_owned(), None, index));
            }
        } else if let Some(tool_use) = block.get("toolUse") {
            if tool_use.get("name").and_then(Value::as_str) == Some(structured::JSON_TOOL) {
                let input = tool_use.get("input").unwrap_or(&Value::Null);
                message
                    .content
                    .get_or_insert_with(String::new)
                    .push_str(&input.to_string());
                json_answer = true;
            } else {
                tool_calls.push(tool_call(tool_use)?);
            }
        }
        // guardContent, citations...: nothing canonical to say.
    }
    message.reasoning_details = Some(details);
    message.tool_calls = Some(tool_calls);
    let finish = value
        .get("stopReason")
        .and_then(Value::as_str)
        .map(usage::finish)
        .map(|finish| {
            if json_answer {
                structured::answered(finish)
            } else {
                finish
            }
        });
    Ok(ParsedResponse {
        body: completion_body("", "", message, finish.as_ref())?,
        usage: usage::from_converse(value.get("usage")),
        finish,
    })
}

/// A `toolUse` block as a canonical tool call; `input` becomes a compact JSON string.
fn tool_call(tool_use: &Value) -> Result<ToolCall, PluginError> {
    let (Some(id), Some(name)) = (
        tool_use.get("toolUseId").and_then(Value::as_str),
        tool_use.get("name").and_then(Value::as_str),
    ) else {
        return Err(shape("a toolUse block has no toolUseId or name"));
    };
    Ok(translate::tool_call(id, name, tool_use.get("input")))
}

/// The error for a 2xx body or event of the wrong shape.
pub fn shape(what: &str) -> PluginError {
    PluginError::UpstreamUnavailable(format!("upstream sent an invalid response: {what}"))
}

#[cfg(test)]
mod tests {
    use switchyard_sdk::testing::{canonical_body, counts, finish, http};

    use super::*;

    fn fixture(name: &str) -> ParsedResponse {
        let path = format!(
            "{}/../../tests/fixtures/bedrock/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).expect("the fixture");
        parse(&http(200, &[("content-type", "application/json")], &body)).expect("parsed")
    }

    #[test]
    fn a_text_response_maps_text_finish_and_usage() {
        let parsed = fixture("amazon-bedrock-text.json");
        let body = canonical_body(&parsed);
        assert_eq!(
            body["choices"][0]["message"]["content"],
            "Let me count the \"r\"s in \"strawberry\":\n\ns-t-**r**-a-w-b-e-**r**-**r**-y\n\nThere are **3** \"r\"s in \"strawberry.\""
        );
        assert_eq!(
            parsed.finish.as_ref().map(finish),
            Some(("stop", "end_turn"))
        );
        assert_eq!(parsed.usage.as_ref().map(counts), Some([22, 57, 0, 0, 0]));
    }

    #[test]
    fn reasoning_text_becomes_reasoning() {
        let parsed = fixture("amazon-bedrock-reasoning.json");
        let message = &canonical_body(&parsed)["choices"][0]["message"];
        assert!(
            message["reasoning"]
                .as_str()
                .is_some_and(|r| r.contains("strawberry"))
        );
        assert!(message["content"].as_str().is_some_and(|c| !c.is_empty()));
        let detail = &message["reasoning_details"][0];
        assert_eq!(detail["type"], "reasoning.text");
        assert_eq!(detail["text"], message["reasoning"]);
        assert!(detail["signature"].as_str().is_some_and(|s| !s.is_empty()));
    }

    #[test]
    fn a_tool_use_with_redacted_reasoning_becomes_a_tool_call() {
        let parsed = fixture("amazon-bedrock-redacted-content.json");
        let message = &canonical_body(&parsed)["choices"][0]["message"];
        let call = &message["tool_calls"][0];
        assert_eq!(call["id"], "call_f9b3e3c877325ec4940fcad11b0a3a88");
        assert_eq!(call["function"]["name"], "json");
        let arguments: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or(""))
                .unwrap_or_default();
        assert_eq!(arguments["groups"][1]["parentGroupName"], "Sales");
        assert!(message.get("reasoning").is_none());
        let detail = &message["reasoning_details"][0];
        assert_eq!(detail["type"], "reasoning.encrypted");
        assert!(
            detail["data"]
                .as_str()
                .is_some_and(|d| d.starts_with("cnNuX3BV"))
        );
        assert_eq!(
            parsed.finish.as_ref().map(finish),
            Some(("tool_calls", "tool_use"))
        );
        assert_eq!(parsed.usage.as_ref().map(counts), Some([69, 59, 0, 0, 0]));
    }

    #[test]
    fn cache_tokens_count_as_prompt_tokens_and_bad_bodies_are_upstream_errors() {
        let body = br#"{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"guardrail_intervened","usage":{"inputTokens":10,"outputTokens":2,"cacheReadInputTokens":100,"cacheWriteInputTokens":5}}"#;
        let parsed = parse(&http(200, &[], body)).expect("parsed");
        assert_eq!(parsed.usage.as_ref().map(counts), Some([115, 2, 100, 5, 0]));
        assert_eq!(
            parsed.finish.as_ref().map(finish),
            Some(("content_filter", "guardrail_intervened"))
        );
        for bad in [&b"<html>"[..], b"{\"output\":{}}"] {
            assert!(matches!(
                parse(&http(200, &[], bad)),
                Err(PluginError::UpstreamUnavailable(_))
            ));
        }
    }
}
