//! `response_format` on upstreams without a JSON mode (Anthropic's Messages API, Bedrock's
//! Converse API): the schema goes upstream as the one tool the model must call
//! ([`JSON_TOOL`]), and the call comes back as the answer's text content (its input serialised
//! as JSON) with finish reason `stop`, as a JSON mode would have answered. `json_object` is the
//! same with a schema that takes any object.

use serde_json::{Value, json};

use crate::provider::{ChatRequest, Finish, FinishReason, PluginError};

/// The name of the tool that carries the schema. An answer's call to it is the JSON answer.
pub const JSON_TOOL: &str = "json_answer";

/// What the tool tells the model.
pub const JSON_TOOL_DESCRIPTION: &str =
    "Give your whole answer by calling this tool with it as the input.";

/// The schema a request's `response_format` asks the answer to follow: `None` for no format
/// or `text`; `{"type": "object"}` for `json_object`; the `json_schema.schema` of
/// `json_schema`. Refused: another format, a schema that is not an object, or a
/// `response_format` together with the client's own tools (the forced tool would keep the
/// model from calling them).
pub fn schema(request: &ChatRequest) -> Result<Option<Value>, PluginError> {
    let Some(format) = request
        .extra
        .get("response_format")
        .filter(|f| !f.is_null())
    else {
        return Ok(None);
    };
    let invalid = |message: &str| PluginError::InvalidRequest(message.to_owned());
    let schema = match format.get("type").and_then(Value::as_str) {
        Some("text") => return Ok(None),
        Some("json_object") => json!({"type": "object"}),
        Some("json_schema") => match format.get("json_schema").and_then(|s| s.get("schema")) {
            Some(schema @ Value::Object(_)) => schema.clone(),
            _ => {
                return Err(invalid(
                    "response_format.json_schema.schema must be an object",
                ));
            }
        },
        _ => {
            return Err(invalid(
                "response_format must be text, json_object or json_schema",
            ));
        }
    };
    if request
        .tools
        .as_ref()
        .is_some_and(|tools| !tools.is_empty())
    {
        return Err(invalid(
            "response_format together with tools is not supported on this upstream (it is \
             served as a forced tool call); send one or the other",
        ));
    }
    Ok(Some(schema))
}

/// The finish of an answer that called [`JSON_TOOL`]: the tool call was the answer, so
/// `tool_calls` reads as `stop`.
pub fn answered(finish: Finish) -> Finish {
    match finish.reason {
        FinishReason::ToolCalls => Finish::new(FinishReason::Stop, &finish.native),
        _ => finish,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: Value) -> ChatRequest {
        let mut value = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        for (key, field) in extra.as_object().into_iter().flatten() {
            value[key] = field.clone();
        }
        serde_json::from_value(value).expect("a request")
    }

    #[test]
    fn formats_become_the_schema_of_the_forced_tool() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
        let named = request(json!({"response_format": {"type": "json_schema",
            "json_schema": {"name": "x", "strict": true, "schema": schema}}}));
        assert_eq!(super::schema(&named).expect("ok"), Some(schema));
        let object = request(json!({"response_format": {"type": "json_object"}}));
        assert_eq!(
            super::schema(&object).expect("ok"),
            Some(json!({"type": "object"}))
        );
        for none in [json!({}), json!({"response_format": {"type": "text"}})] {
            assert_eq!(super::schema(&request(none)).expect("ok"), None);
        }
    }

    #[test]
    fn bad_formats_and_formats_with_tools_are_refused() {
        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        for refused in [
            json!({"response_format": {"type": "xml"}}),
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}),
            json!({"response_format": {"type": "json_object"}, "tools": tools}),
        ] {
            assert!(matches!(
                super::schema(&request(refused)),
                Err(PluginError::InvalidRequest(_))
            ));
        }
    }

    #[test]
    fn a_call_to_the_json_tool_finishes_as_stop() {
        let finish = answered(Finish::new(FinishReason::ToolCalls, "tool_use"));
        assert_eq!(finish.reason, FinishReason::Stop);
        assert_eq!(finish.native, "tool_use");
        let length = answered(Finish::new(FinishReason::Length, "max_tokens"));
        assert_eq!(length.reason, FinishReason::Length);
    }
}
