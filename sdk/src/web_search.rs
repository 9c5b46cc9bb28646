//! Web search through the upstream's own engine: Anthropic's `web_search` server tool, Gemini's
//! `google_search`, the OpenAI Responses API's `web_search` tool. The canonical request asks for
//! it with OpenAI's [`OPTIONS`] field (the gateway writes it for OpenRouter's `:online` and
//! `plugins: [{"id": "web"}]`). The canonical answer reports the searches made in its top-level
//! [`SERVER_TOOL_USE`] field (the gateway charges them and takes the field off) and cites its
//! sources as `text_citations` of type `web_search_result_location` ([`citation`]), which the
//! gateway gives a chat client as `url_citation` annotations.
//!
//! An adapter that serves search declares [`OPTIONS`] among its supported parameters.

use serde_json::{Map, Value, json};

use crate::openai::ChatRequest;

/// The canonical request field asking for a search: OpenAI's `web_search_options`
/// (`search_context_size`, `user_location`), an object.
pub const OPTIONS: &str = "web_search_options";

/// The most searches one request may make: adapters cap the upstream's searches at it
/// (Anthropic's `max_uses`, the Responses API's `max_tool_calls`), and the gateway holds that
/// many searches' price.
pub const MAX_SEARCHES: u64 = 5;

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
    let mut fields = Map::new();
    if searches > 0 {
        fields.insert(
            SERVER_TOOL_USE.to_owned(),
            json!({"web_search_requests": searches}),
        );
    }
    fields
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
}
