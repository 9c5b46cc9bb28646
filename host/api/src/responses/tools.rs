//! The `tools` of a Responses request in chat form. Function tools map one to one; a
//! `namespace` tool (the Codex CLI's `multi_agent_v1`) is flattened into one function tool per
//! function, named [`flat_name`] (`{namespace}__{function}`), and the calls the model makes are
//! named back ([`split`]); the `web_search` tool is offered, not required: the gateway serves it
//! where an endpoint searches at a known price and otherwise leaves it out of the tools the
//! model sees (saying so in `X-Switchyard-Omitted-Tools`). The other built-in tools Switchyard
//! knows ([`BuiltinTool`]: file search, code interpreter, MCP...) are kept as sent for the
//! gateway, which passes them only to a Responses upstream the operator opted into them at a
//! price (see `gateway::builtin`), since they run on the operator's upstream account (its
//! vector stores, files, containers, credentials); any other tool type is refused by name.

use serde_json::{Value, json};
use switchyard_sdk::responses::{BuiltinTool, NAMESPACE_SEPARATOR, flat_name};

use crate::error::ApiError;

/// Types of the Responses API's web search tool.
const WEB_SEARCH: [&str; 3] = ["web_search", "web_search_preview", "web_search_2025_08_26"];

/// The tools in chat form.
#[derive(Debug, Default)]
pub struct ChatTools {
    /// The chat function tools.
    pub functions: Vec<Value>,
    /// The names of the `namespace` tools flattened into them.
    pub namespaces: Vec<String>,
    /// The client's web search tool, as sent, when it offered one.
    pub web_search: Option<Value>,
    /// The client's other built-in tools, as sent.
    pub builtin: Vec<Value>,
}

/// Translates a request's `tools`.
pub fn translate(tools: &[Value]) -> Result<ChatTools, ApiError> {
    let mut out = ChatTools::default();
    for tool in tools {
        let kind = tool.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "function" => out.functions.push(function(tool, None)?),
            "namespace" => {
                let name = tool.get("name").and_then(Value::as_str).ok_or_else(|| {
                    ApiError::invalid_request("a namespace tool needs a string `name`")
                })?;
                let inner = tool.get("tools").and_then(Value::as_array).ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "the namespace tool `{name}` needs a `tools` array"
                    ))
                })?;
                for function_tool in inner {
                    out.functions.push(function(function_tool, Some(name))?);
                }
                out.namespaces.push(name.to_owned());
            }
            kind if WEB_SEARCH.contains(&kind) => out.web_search = Some(tool.clone()),
            kind if BuiltinTool::named(kind).is_some() => out.builtin.push(tool.clone()),
            _ => {
                return Err(ApiError::invalid_request(format!(
                    "tools of type `{kind}` are not supported: Switchyard serves function and \
                     namespace tools, web search where the upstream has it, and the built-in \
                     tools file_search, code_interpreter, computer_use_preview, \
                     image_generation, mcp and local_shell where the operator opted a Responses \
                     API upstream into them"
                ))
                .with_code("unsupported_tool"));
            }
        }
    }
    Ok(out)
}

/// A function tool (of `namespace`, when given) as a chat tool.
fn function(tool: &Value, namespace: Option<&str>) -> Result<Value, ApiError> {
    let kind = tool.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "function" {
        return Err(ApiError::invalid_request(format!(
            "a namespace tool may hold function tools only, not `{kind}`"
        ))
        .with_code("unsupported_tool"));
    }
    let name = tool
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_request("a function tool needs a string `name`"))?;
    let name = match namespace {
        Some(namespace) => flat_name(namespace, name),
        None => name.to_owned(),
    };
    let mut function = json!({ "name": name });
    for key in ["description", "parameters", "strict"] {
        if let Some(value) = tool.get(key).filter(|v| !v.is_null()) {
            function[key] = value.clone();
        }
    }
    Ok(json!({ "type": "function", "function": function }))
}

/// A called function's name as the client knows it: `(namespace, function)` when the chat name
/// is a flattened function of one of `namespaces`.
pub fn split<'a>(name: &'a str, namespaces: &[String]) -> (Option<&'a str>, &'a str) {
    for namespace in namespaces {
        if let Some(function) = name
            .strip_prefix(namespace.as_str())
            .and_then(|rest| rest.strip_prefix(NAMESPACE_SEPARATOR))
        {
            return (Some(&name[..namespace.len()]), function);
        }
    }
    (None, name)
}

/// Names a `function_call` item (or the items of a `response` object's `output`, or an
/// event's `item`) back as the client knows it: a flattened function of one of `namespaces` gets
/// its own name and its `namespace`.
pub fn name_back(value: &mut Value, namespaces: &[String]) {
    if namespaces.is_empty() {
        return;
    }
    if let Some(item) = value.get_mut("item") {
        name_back(item, namespaces);
    }
    if let Some(Value::Array(items)) = value.get_mut("output") {
        for item in items {
            name_back(item, namespaces);
        }
    }
    if let Some(response) = value.get_mut("response") {
        name_back(response, namespaces);
    }
    let calls = matches!(
        value.get("type").and_then(Value::as_str),
        Some("function_call" | "response.function_call_arguments.done")
    );
    let Some(name) = value.get("name").and_then(Value::as_str).filter(|_| calls) else {
        return;
    };
    if let (Some(namespace), function) = split(name, namespaces) {
        let (namespace, function) = (namespace.to_owned(), function.to_owned());
        value["name"] = json!(function);
        value["namespace"] = json!(namespace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_flatten_and_split_back_and_web_search_is_offered() {
        let tools = translate(&[
            json!({"type": "function", "name": "exec_command", "parameters": {"type": "object"}}),
            json!({"type": "namespace", "name": "multi_agent_v1", "description": "agents",
                "tools": [{"type": "function", "name": "spawn_agent", "strict": false}]}),
            json!({"type": "web_search", "external_web_access": false}),
        ])
        .expect("translated");
        let names: Vec<&str> = (tools.functions.iter())
            .map(|tool| tool["function"]["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names, ["exec_command", "multi_agent_v1__spawn_agent"]);
        assert_eq!(tools.namespaces, ["multi_agent_v1"]);
        assert_eq!(
            tools.web_search,
            Some(json!({"type": "web_search", "external_web_access": false}))
        );
        assert_eq!(
            split("multi_agent_v1__spawn_agent", &tools.namespaces),
            (Some("multi_agent_v1"), "spawn_agent")
        );
        assert_eq!(split("a__b", &tools.namespaces), (None, "a__b"));
        let mut response = json!({"output": [{"type": "function_call",
            "name": "multi_agent_v1__spawn_agent"}, {"type": "message", "name": "x"}]});
        name_back(&mut response, &tools.namespaces);
        assert_eq!(
            response["output"],
            json!([{"type": "function_call", "name": "spawn_agent",
                "namespace": "multi_agent_v1"}, {"type": "message", "name": "x"}])
        );
        let kept = translate(&[json!({"type": "file_search", "vector_store_ids": ["vs_1"]})])
            .expect("kept for the gateway");
        assert_eq!(
            kept.builtin,
            [json!({"type": "file_search", "vector_store_ids": ["vs_1"]})]
        );
        let error = translate(&[json!({"type": "apply_patch"})]).expect_err("refused");
        assert!(error.message().contains("`apply_patch`"));
    }
}
