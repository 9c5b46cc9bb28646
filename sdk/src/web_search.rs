//! Web search through the upstream's own engine: Anthropic's `web_search` server tool, Gemini's
//! `google_search`, the OpenAI Responses API's `web_search` tool. The canonical request asks for
//! it with OpenAI's [`OPTIONS`] field (the gateway writes it for OpenRouter's `:online` and
//! `plugins: [{"id": "web"}]`). The canonical answer reports the searches made in its top-level
//! [`SERVER_TOOL_USE`] field (the gateway charges them and takes the field off) and cites its
//! sources as `text_citations` of type `web_search_result_location` ([`citation`]), which the
//! gateway gives a chat client as `url_citation` annotations.
//!
//! An adapter that serves search declares [`OPTIONS`] among its supported parameters. Beyond
//! OpenAI's fields, the options may carry those of Anthropic's web search tool ([`EXTENDED`]:
//! the Messages API's own `web_search` tool maps onto them); an adapter refuses by name those
//! it cannot serve ([`refuse_unserved`]).

use serde_json::{Map, Value, json};

use crate::openai::ChatRequest;
#[cfg(feature = "provider")]
use crate::provider::PluginError;
use crate::responses::BuiltinCalls;

/// The canonical request field asking for a search: OpenAI's `web_search_options`
/// (`search_context_size`, `user_location`), an object.
pub const OPTIONS: &str = "web_search_options";

/// The most searches one request may make: adapters cap the upstream's searches at it
/// (Anthropic's `max_uses`, the Responses API's `max_tool_calls`), and the gateway holds that
/// many searches' price.
pub const MAX_SEARCHES: u64 = 5;

/// The most searches a request may ask for with [`MAX_USES`].
pub const MAX_USES_LIMIT: u64 = 20;

/// Switchyard's option (Anthropic's tool field): the most searches this request may make.
pub const MAX_USES: &str = "max_uses";
/// Switchyard's option (Anthropic's tool field): only these domains are searched.
pub const ALLOWED_DOMAINS: &str = "allowed_domains";
/// Switchyard's option (Anthropic's tool field): these domains are never searched.
pub const BLOCKED_DOMAINS: &str = "blocked_domains";
/// The options beyond OpenAI's `search_context_size` and `user_location`.
pub const EXTENDED: [&str; 3] = [MAX_USES, ALLOWED_DOMAINS, BLOCKED_DOMAINS];

/// Checks the [`EXTENDED`] options: `max_uses` from 1 to [`MAX_USES_LIMIT`], domain lists of
/// strings, not both. The reason when they are not.
pub fn check_options(options: &Map<String, Value>) -> Result<(), String> {
    match options.get(MAX_USES) {
        None | Some(Value::Null) => {}
        Some(uses)
            if uses
                .as_u64()
                .is_some_and(|n| (1..=MAX_USES_LIMIT).contains(&n)) => {}
        Some(uses) => {
            return Err(format!(
                "`{MAX_USES}` must be an integer from 1 to {MAX_USES_LIMIT} (got {uses})"
            ));
        }
    }
    for field in [ALLOWED_DOMAINS, BLOCKED_DOMAINS] {
        let strings = |list: &Vec<Value>| list.iter().all(Value::is_string);
        match options.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) if strings(list) => {}
            Some(_) => return Err(format!("`{field}` must be a list of domain names")),
        }
    }
    let set = |field: &str| options.get(field).is_some_and(|value| !value.is_null());
    if set(ALLOWED_DOMAINS) && set(BLOCKED_DOMAINS) {
        return Err(format!(
            "`{ALLOWED_DOMAINS}` and `{BLOCKED_DOMAINS}` cannot be used together"
        ));
    }
    Ok(())
}

/// The most searches the request may make: its [`MAX_USES`], else [`MAX_SEARCHES`].
pub fn max_searches(request: &ChatRequest) -> u64 {
    options(request)
        .and_then(|options| options.get(MAX_USES))
        .and_then(Value::as_u64)
        .map_or(MAX_SEARCHES, |uses| uses.clamp(1, MAX_USES_LIMIT))
}

#[cfg(feature = "provider")]
/// Refuses, as unsupported by `adapter`, the first [`EXTENDED`] option the request sets that
/// the adapter does not serve (`served`): the gateway fails over to an endpoint that serves it.
pub fn refuse_unserved(
    request: &ChatRequest,
    adapter: &str,
    served: &[&str],
) -> Result<(), PluginError> {
    let Some(options) = options(request) else {
        return Ok(());
    };
    let unserved = EXTENDED.iter().find(|field| {
        !served.contains(field) && options.get(**field).is_some_and(|value| !value.is_null())
    });
    match unserved {
        Some(field) => Err(PluginError::Unsupported(format!(
            "web search's `{field}` is not supported by the {adapter} adapter (Switchyard \
             refuses an option rather than drop it); remove it or route to a provider that \
             serves it"
        ))),
        None => Ok(()),
    }
}

/// The canonical completion's (or final chunk's) top-level field reporting the searches made:
/// `{"web_search_requests": n}` (Anthropic's usage field of that name).
pub const SERVER_TOOL_USE: &str = "server_tool_use";

/// The request's `web_search_options`, when it asks for a search.
pub fn options(request: &ChatRequest) -> Option<&Map<String, Value>> {
    request.extra.get(OPTIONS).and_then(Value::as_object)
}

/// The `user_location.approximate` of the options (`city`, `region`, `country`, `timezone`),
/// when given.
pub fn approximate_location(options: &Map<String, Value>) -> Option<&Map<String, Value>> {
    options
        .get("user_location")
        .and_then(|location| location.get("approximate"))
        .and_then(Value::as_object)
}

/// The top-level fields reporting `searches` searches, for
/// [`completion_body_with`](crate::translate::completion_body_with) (none when no search was
/// made).
pub fn reported(searches: u64) -> Map<String, Value> {
    reported_with(searches, &BuiltinCalls::default())
}

/// The top-level fields reporting `searches` searches and the `builtin` tool calls (the
/// Responses API's code interpreter, file search...: `builtin_tool_calls` of
/// [`SERVER_TOOL_USE`]); none when nothing was called.
pub fn reported_with(searches: u64, builtin: &BuiltinCalls) -> Map<String, Value> {
    let mut fields = Map::new();
    if searches > 0 || !builtin.is_empty() {
        let mut usage = json!({"web_search_requests": searches});
        if !builtin.is_empty() {
            usage["builtin_tool_calls"] = builtin.to_json();
        }
        fields.insert(SERVER_TOOL_USE.to_owned(), usage);
    }
    fields
}

/// The built-in tool calls a canonical completion or chunk reports in [`SERVER_TOOL_USE`].
pub fn builtin_calls(object: &Map<String, Value>) -> BuiltinCalls {
    object
        .get(SERVER_TOOL_USE)
        .and_then(|usage| usage.get("builtin_tool_calls"))
        .map(BuiltinCalls::from_json)
        .unwrap_or_default()
}

/// The searches a canonical completion or chunk reports in [`SERVER_TOOL_USE`].
pub fn searches(object: &Map<String, Value>) -> u64 {
    object
        .get(SERVER_TOOL_USE)
        .and_then(|usage| usage.get("web_search_requests"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// A search result cited by the text, in the canonical (Anthropic) shape.
pub fn citation(url: &str, title: Option<&str>, cited_text: Option<&str>) -> Value {
    let mut citation = Map::new();
    citation.insert("type".to_owned(), json!("web_search_result_location"));
    citation.insert("url".to_owned(), json!(url));
    if let Some(title) = title {
        citation.insert("title".to_owned(), json!(title));
    }
    if let Some(text) = cited_text {
        citation.insert("cited_text".to_owned(), json!(text));
    }
    Value::Object(citation)
}

/// OpenAI's `url_citation` annotations of a message whose `text_citations` are given: one per
/// cited web page, over the characters of the block that cites it.
pub fn url_citations(text_citations: &[crate::openai::TextCitations]) -> Vec<Value> {
    let mut annotations = Vec::new();
    for block in text_citations {
        let end = block.end.unwrap_or(block.start);
        for citation in &block.citations {
            if citation.get("type").and_then(Value::as_str) != Some("web_search_result_location") {
                continue;
            }
            let Some(url) = citation.get("url").and_then(Value::as_str) else {
                continue;
            };
            let mut entry = Map::new();
            entry.insert("url".to_owned(), json!(url));
            if let Some(title) = citation.get("title").filter(|title| title.is_string()) {
                entry.insert("title".to_owned(), title.clone());
            }
            if let Some(text) = citation.get("cited_text").filter(|text| text.is_string()) {
                entry.insert("content".to_owned(), text.clone());
            }
            entry.insert("start_index".to_owned(), json!(block.start));
            entry.insert("end_index".to_owned(), json!(end));
            annotations.push(json!({"type": "url_citation", "url_citation": entry}));
        }
    }
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::TextCitations;

    #[test]
    fn web_citations_become_url_citations_and_others_do_not() {
        let blocks = [TextCitations {
            start: 3,
            end: Some(10),
            citations: vec![
                citation("https://a.example", Some("A"), Some("quoted")),
                json!({"type": "char_location", "cited_text": "x"}),
            ],
        }];
        assert_eq!(
            url_citations(&blocks),
            [
                json!({"type": "url_citation", "url_citation": {"url": "https://a.example",
                "title": "A", "content": "quoted", "start_index": 3, "end_index": 10}})
            ]
        );
        assert_eq!(searches(&reported(2)), 2);
        assert!(reported(0).is_empty());
    }

    #[test]
    fn extended_options_are_checked_and_capped() {
        let request = |options: Value| -> ChatRequest {
            serde_json::from_value(json!({"model": "m", "messages": [], OPTIONS: options}))
                .expect("request")
        };
        let object = |value: Value| value.as_object().cloned().expect("object");
        assert!(
            check_options(&object(
                json!({"max_uses": 8, "allowed_domains": ["a.org"]})
            ))
            .is_ok()
        );
        for (bad, named) in [
            (json!({"max_uses": 0}), "max_uses"),
            (json!({"max_uses": 21}), "max_uses"),
            (json!({"blocked_domains": "a.org"}), "blocked_domains"),
            (
                json!({"allowed_domains": ["a"], "blocked_domains": ["b"]}),
                "together",
            ),
        ] {
            let reason = check_options(&object(bad.clone())).expect_err("refused");
            assert!(reason.contains(named), "{bad}: {reason}");
        }
        assert_eq!(max_searches(&request(json!({"max_uses": 8}))), 8);
        assert_eq!(max_searches(&request(json!({}))), MAX_SEARCHES);
    }

    #[cfg(feature = "provider")]
    #[test]
    fn extended_options_an_adapter_does_not_serve_are_refused_by_name() {
        let domains: ChatRequest = serde_json::from_value(
            json!({"model": "m", "messages": [], OPTIONS: {"blocked_domains": ["a.org"]}}),
        )
        .expect("request");
        assert!(refuse_unserved(&domains, "x", &[BLOCKED_DOMAINS]).is_ok());
        let Err(PluginError::Unsupported(message)) = refuse_unserved(&domains, "x", &[MAX_USES])
        else {
            panic!("served");
        };
        assert!(message.contains("`blocked_domains`"), "{message}");
    }
}
