//! Anthropic's server tools in a Messages request. The `web_search` tool becomes the canonical
//! request's `web_search_options` (see [`switchyard_sdk::web_search`]): served by the upstream's
//! own search like `:online` on the chat API (Anthropic's tool, Gemini's Google Search, the
//! Responses API's tool), routed to endpoints with a search price, held and charged the same
//! way. `max_uses`, the domain lists and `user_location` are mapped; the fields no search engine
//! behind Switchyard reads are refused by name, as are the other server tools.

use serde_json::{Map, Value, json};
use switchyard_sdk::web_search;

/// The versions of Anthropic's web search tool mapped.
const WEB_SEARCH: [&str; 2] = ["web_search_20250305", "web_search_20260209"];

/// The tool's fields mapped onto the options as they are.
const MAPPED: [&str; 3] = [
    web_search::MAX_USES,
    web_search::ALLOWED_DOMAINS,
    web_search::BLOCKED_DOMAINS,
];

/// The location fields of Anthropic's `user_location` (OpenAI's `approximate` has the same).
const LOCATION: [&str; 4] = ["city", "region", "country", "timezone"];

/// Whether `kind` (a tool's `type`) is a version of the web search tool.
pub fn is_web_search(kind: &str) -> bool {
    WEB_SEARCH.contains(&kind)
}

/// The `web_search_options` of a web search tool; why not when it cannot be served.
pub fn web_search_options(tool: &Value) -> Result<Value, String> {
    let Value::Object(tool) = tool else {
        return Err("a tool must be an object".to_owned());
    };
    let kind = tool.get("type").and_then(Value::as_str).unwrap_or_default();
    if tool.get("name").and_then(Value::as_str) != Some("web_search") {
        return Err(format!("the {kind} tool must be named \"web_search\""));
    }
    let mut options = Map::new();
    for (field, value) in tool {
        match field.as_str() {
            // A prompt-cache breakpoint: it changes no answer, and the adapter writes the tool.
            "type" | "name" | "cache_control" => {}
            _ if value.is_null() => {}
            "user_location" => {
                options.insert(field.clone(), user_location(value)?);
            }
            mapped if MAPPED.contains(&mapped) => {
                options.insert(field.clone(), value.clone());
            }
            other => {
                return Err(format!(
                    "the {kind} tool's `{other}` is not supported by Switchyard (it searches \
                     with the upstream's own engine, which has no such setting); remove it"
                ));
            }
        }
    }
    web_search::check_options(&options).map_err(|reason| format!("the {kind} tool's {reason}"))?;
    Ok(Value::Object(options))
}

/// Anthropic's `{type: approximate, city, region, country, timezone}` as OpenAI's
/// `{type: approximate, approximate: {...}}`.
fn user_location(location: &Value) -> Result<Value, String> {
    let Value::Object(location) = location else {
        return Err("`user_location` must be an object".to_owned());
    };
    let mut approximate = Map::new();
    for (field, value) in location {
        match field.as_str() {
            "type" if value == "approximate" => {}
            field if LOCATION.contains(&field) && (value.is_string() || value.is_null()) => {
                approximate.insert(field.to_owned(), value.clone());
            }
            other => return Err(format!("`user_location.{other}` is not supported")),
        }
    }
    Ok(json!({"type": "approximate", "approximate": approximate}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_search_tool_becomes_options() {
        let tool = json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 8,
            "allowed_domains": ["wikipedia.org"], "cache_control": {"type": "ephemeral"},
            "user_location": {"type": "approximate", "city": "Paris", "country": "FR"}});
        assert_eq!(
            web_search_options(&tool),
            Ok(json!({"max_uses": 8, "allowed_domains": ["wikipedia.org"],
                "user_location": {"type": "approximate", "approximate": {"city": "Paris", "country": "FR"}}}))
        );
        assert!(is_web_search("web_search_20260209") && !is_web_search("code_execution_20250522"));
    }

    #[test]
    fn what_cannot_be_served_is_refused_by_name() {
        let tool = |extra: Value| {
            let mut tool = json!({"type": "web_search_20250305", "name": "web_search"});
            for (field, value) in extra.as_object().into_iter().flatten() {
                tool[field] = value.clone();
            }
            tool
        };
        for (extra, named) in [
            (json!({"defer_loading": true}), "`defer_loading`"),
            (json!({"allowed_callers": ["direct"]}), "`allowed_callers`"),
            (json!({"max_uses": 50}), "max_uses"),
            (
                json!({"allowed_domains": ["a"], "blocked_domains": ["b"]}),
                "together",
            ),
            (json!({"name": "search"}), "named"),
            (
                json!({"user_location": {"type": "exact"}}),
                "user_location.type",
            ),
        ] {
            let reason = web_search_options(&tool(extra.clone())).expect_err("refused");
            assert!(reason.contains(named), "{extra}: {reason}");
        }
    }
}
