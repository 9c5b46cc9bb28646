//! The web searches of an answer (see [`switchyard_sdk::web_search`]): the count an adapter
//! reports in the canonical [`SERVER_TOOL_USE`] field is taken off the answer to be charged,
//! and the sources it cites (`text_citations` of type `web_search_result_location`) are given
//! to chat clients as OpenAI's `url_citation` annotations. A web search tool a client offered
//! ([`ChatCall::offered_search`]) is served where the endpoint searches and left out elsewhere.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_sdk::openai::TextCitations;
use switchyard_sdk::web_search::{self, SERVER_TOOL_USE};

use super::ChatCall;
use crate::catalog::Endpoint;
use crate::plugins::ProviderPlugin;

/// The header naming the offered tools an answer's model did not see.
pub const OMITTED_TOOLS: &str = "x-switchyard-omitted-tools";

/// Whether `endpoint` serves web search: its adapter translates `web_search_options` and the
/// catalog knows its price per search.
pub fn serves(endpoint: &Endpoint, plugin: &ProviderPlugin) -> bool {
    endpoint.prices.web_search.is_some()
        && (plugin.descriptor().supported_parameters.iter())
            .any(|parameter| parameter == web_search::OPTIONS)
}

/// Whether the web search tool a client offered is only offered: `false` when the request asks
/// for a search anyway (every endpoint then searches).
pub fn offered(call: &ChatCall) -> bool {
    web_search::options(&call.request).is_none()
}

/// `body` (the request as the endpoint would get it, after its transforms) with
/// `web_search_options`, for an endpoint that searches; `None` when it cannot be read.
pub fn with_search(body: &[u8]) -> Option<Bytes> {
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    body.insert(web_search::OPTIONS.to_owned(), Value::Object(Map::new()));
    serde_json::to_vec(&body).ok().map(Bytes::from)
}

/// Takes the searches reported off a completion or chunk; 0 when none were.
pub fn take_searches(object: &mut Map<String, Value>) -> u64 {
    let searches = web_search::searches(object);
    object.remove(SERVER_TOOL_USE);
    searches
}

/// Adds to each choice's `message` the `url_citation` annotations of its web citations.
pub fn annotate(object: &mut Map<String, Value>) {
    let Some(Value::Array(choices)) = object.get_mut("choices") else {
        return;
    };
    let messages = choices
        .iter_mut()
        .filter_map(|choice| choice.get_mut("message"))
        .filter_map(Value::as_object_mut);
    for message in messages {
        let Some(cited) = message
            .get("text_citations")
            .and_then(|cited| Vec::<TextCitations>::deserialize(cited).ok())
        else {
            continue;
        };
        let annotations = web_search::url_citations(&cited);
        if !annotations.is_empty() {
            message.insert("annotations".to_owned(), Value::Array(annotations));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn searches_are_taken_and_web_citations_annotated() {
        let citation = web_search::citation("https://a.example", Some("A"), None);
        let mut completion = json!({
            "server_tool_use": {"web_search_requests": 2},
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris is big.",
                "text_citations": [{"start": 0, "end": 13, "citations": [citation]}]}}],
        });
        let object = completion.as_object_mut().expect("object");
        assert_eq!(take_searches(object), 2);
        assert!(!object.contains_key(SERVER_TOOL_USE));
        annotate(object);
        assert_eq!(
            completion["choices"][0]["message"]["annotations"],
            json!([{"type": "url_citation", "url_citation": {"url": "https://a.example",
                "title": "A", "start_index": 0, "end_index": 13}}])
        );
    }
}
