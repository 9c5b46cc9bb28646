//! A whole Responses API answer translated into a chat completion.

use serde_json::{Value, json};
use switchyard_sdk::provider::*;
use switchyard_sdk::responses::{BuiltinCalls, RESPONSES_EXTENSION};
use switchyard_sdk::translate::completion_body_with;
use switchyard_sdk::web_search;

use crate::error;
use crate::request::FORMAT;

/// Translates a `response` object: output items into one assistant message, status into the
/// finish reason, usage into typed counts. A `failed` response is its typed error.
pub fn parse(response: &HttpResponse) -> Result<ParsedResponse, PluginError> {
    let body: Value = parse_json(&response.body)?;
    if body.get("object").and_then(Value::as_str) != Some("response") {
        return Err(PluginError::UpstreamUnavailable(
            "upstream answer is not a Responses API `response` object".to_owned(),
        ));
    }
    if body["status"] == "failed" {
        return Err(error::from_object(&body["error"]));
    }
    let mut message = ResponseMessage {
        role: "assistant".to_owned(),
        content: None,
        reasoning: None,
        reasoning_details: None,
        tool_calls: None,
        refusal: None,
        text_citations: None,
    };
    let mut details = Vec::new();
    let mut calls = Vec::new();
    let mut text = String::new();
    let mut citations = Vec::new();
    for item in body["output"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("reasoning") => {
                let id = item["id"].as_str().map(str::to_owned);
                for summary in item["summary"].as_array().into_iter().flatten() {
                    if let Some(summary) = summary["text"].as_str() {
                        let reasoning = message.reasoning.get_or_insert_with(String::new);
                        if !reasoning.is_empty() {
                            reasoning.push_str("\n\n");
                        }
                        reasoning.push_str(summary);
                        details.push(summary_detail(summary, id.clone(), details.len() as u32));
                    }
                }
                if let Some(data) = item["encrypted_content"].as_str() {
                    details.push(encrypted_detail(data, id, details.len() as u32));
                }
            }
            Some("message") => {
                for part in item["content"].as_array().into_iter().flatten() {
                    match part["type"].as_str() {
                        Some("output_text") => {
                            let offset = text.chars().count() as u64;
                            citations.extend(cited(part, offset));
                            text.push_str(part["text"].as_str().unwrap_or(""));
                        }
                        Some("refusal") => {
                            message.refusal = part["refusal"].as_str().map(str::to_owned);
                        }
                        _ => {}
                    }
                }
            }
            Some("function_call") => calls.push(ToolCall {
                id: item["call_id"].as_str().unwrap_or_default().to_owned(),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: item["name"].as_str().unwrap_or_default().to_owned(),
                    arguments: item["arguments"].as_str().unwrap_or("{}").to_owned(),
                },
            }),
            _ => {}
        }
    }
    if !text.is_empty() || calls.is_empty() {
        message.content = Some(text);
    }
    message.text_citations = (!citations.is_empty()).then_some(citations);
    let finish = finish(&body, !calls.is_empty());
    message.tool_calls = Some(calls);
    message.reasoning_details = Some(details);
    let id = body["id"].as_str().unwrap_or_default();
    let model = body["model"].as_str().unwrap_or_default();
    // The output items as the upstream wrote them, for a client of Switchyard's Responses API.
    let mut extra = web_search::reported_with(searches(&body), &builtin_calls(&body));
    if let Some(output) = body.get("output").filter(|output| output.is_array()) {
        extra.insert(RESPONSES_EXTENSION.to_owned(), json!({ "output": output }));
    }
    Ok(ParsedResponse {
        body: completion_body_with(id, model, message, Some(&finish), extra)?,
        usage: usage(&body["usage"]),
        finish: Some(finish),
    })
}

/// The web searches a `response` object's output made (its `web_search_call` items).
pub fn searches(response: &Value) -> u64 {
    let calls = response["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "web_search_call")
        .count();
    u64::try_from(calls).unwrap_or(u64::MAX)
}

/// The built-in tool calls a `response` object's output made (its `code_interpreter_call`,
/// `file_search_call`... items).
pub fn builtin_calls(response: &Value) -> BuiltinCalls {
    BuiltinCalls::of_items(response["output"].as_array().into_iter().flatten())
}

/// An `output_text` part's `url_citation` annotations as `text_citations` of the content, whose
/// text before the part is `offset` characters long (a stream's
/// `response.output_text.annotation.added` too, as a part holding that one annotation).
pub fn cited(part: &Value, offset: u64) -> Vec<TextCitations> {
    part["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|annotation| annotation["type"] == "url_citation")
        .filter_map(|annotation| {
            let url = annotation["url"].as_str()?;
            let index = |name: &str| offset.saturating_add(annotation[name].as_u64().unwrap_or(0));
            Some(TextCitations {
                start: index("start_index"),
                end: Some(index("end_index")),
                citations: vec![web_search::citation(
                    url,
                    annotation["title"].as_str(),
                    None,
                )],
            })
        })
        .collect()
}

/// The finish of a `completed` or `incomplete` response.
pub fn finish(response: &Value, called_tools: bool) -> Finish {
    match response["status"].as_str() {
        Some("incomplete") => {
            let reason = response["incomplete_details"]["reason"]
                .as_str()
                .unwrap_or("incomplete");
            let normal = if reason == "content_filter" {
                FinishReason::ContentFilter
            } else {
                FinishReason::Length
            };
            Finish::new(normal, reason)
        }
        _ if called_tools => Finish::new(FinishReason::ToolCalls, "completed"),
        _ => Finish::new(FinishReason::Stop, "completed"),
    }
}

/// Responses usage as typed counts.
pub fn usage(usage: &Value) -> Option<Usage> {
    let count = |value: &Value| value.as_u64().unwrap_or(0);
    usage.as_object()?;
    Some(Usage {
        prompt_tokens: count(&usage["input_tokens"]),
        completion_tokens: count(&usage["output_tokens"]),
        cached_tokens: count(&usage["input_tokens_details"]["cached_tokens"]),
        cache_write_tokens: 0,
        reasoning_tokens: count(&usage["output_tokens_details"]["reasoning_tokens"]),
    })
}

/// A `reasoning.summary` detail of item `id`.
pub fn summary_detail(summary: &str, id: Option<String>, index: u32) -> ReasoningDetail {
    ReasoningDetail {
        kind: ReasoningDetail::SUMMARY.to_owned(),
        summary: Some(summary.to_owned()),
        format: Some(FORMAT.to_owned()),
        index: Some(index),
        id,
        ..ReasoningDetail::default()
    }
}

/// A `reasoning.encrypted` detail of item `id`.
pub fn encrypted_detail(data: &str, id: Option<String>, index: u32) -> ReasoningDetail {
    ReasoningDetail {
        id,
        ..ReasoningDetail::encrypted(data.to_owned(), Some(FORMAT), index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_response_finishes_with_length() {
        let finish = finish(
            &json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}),
            false,
        );
        assert_eq!(finish.reason, FinishReason::Length);
        assert_eq!(finish.native, "max_output_tokens");
    }
}
