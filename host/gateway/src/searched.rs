//! The web searches of an answer (see [`switchyard_sdk::web_search`]): the count an adapter
//! reports in the canonical [`SERVER_TOOL_USE`] field is taken off the answer to be charged,
//! and the sources it cites (`text_citations` of type `web_search_result_location`) are given
//! to chat clients as OpenAI's `url_citation` annotations: in the message of a whole answer, and
//! in the delta that closes a cited block of a stream ([`StreamAnnotations`]), as OpenAI and
//! OpenRouter stream them. A web search tool a client offered
//! ([`ChatCall::offered_search`]) is served where the endpoint searches and left out elsewhere.

use std::collections::HashMap;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_sdk::openai::TextCitations;
use switchyard_sdk::responses::BuiltinCalls;
use switchyard_sdk::web_search::{self, SERVER_TOOL_USE};

use super::ChatCall;
use switchyard_catalog::Endpoint;
use switchyard_domain::plugin_types::Usage;
use switchyard_plugin_runtime::ProviderPlugin;

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

/// The server-side tool use an answer reports, to be charged: web searches and calls of the
/// Responses API's built-in tools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolUse {
    /// Web searches.
    pub searches: u64,
    /// Built-in tool calls.
    pub builtin: BuiltinCalls,
}

impl ToolUse {
    /// Nothing was used.
    pub fn is_empty(&self) -> bool {
        self.searches == 0 && self.builtin.is_empty()
    }

    /// Each count's larger of `self` and `other` (streams report cumulative counts).
    pub fn max(self, other: ToolUse) -> ToolUse {
        ToolUse {
            searches: self.searches.max(other.searches),
            builtin: self.builtin.max(other.builtin),
        }
    }

    /// `usage` with these counts.
    pub fn charged(self, usage: Usage) -> Usage {
        Usage {
            web_search_requests: self.searches,
            builtin_tool_calls: self.builtin,
            ..usage
        }
    }
}

/// Takes the tool use reported off a completion or chunk; nothing when none was.
pub fn take_tool_use(object: &mut Map<String, Value>) -> ToolUse {
    let used = ToolUse {
        searches: web_search::searches(object),
        builtin: web_search::builtin_calls(object),
    };
    object.remove(SERVER_TOOL_USE);
    used
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

/// The cited blocks of a stream still open, per choice and start offset: the citations their
/// pieces carried so far (see [`TextCitations`]), until the piece with their `end` closes them.
#[derive(Debug, Default)]
pub struct StreamAnnotations {
    open: HashMap<(u64, u64), Vec<Value>>,
}

impl StreamAnnotations {
    /// Adds to each choice's `delta` the `url_citation` annotations of the web-cited blocks its
    /// `text_citations` close.
    pub fn annotate(&mut self, object: &mut Map<String, Value>) {
        let Some(Value::Array(choices)) = object.get_mut("choices") else {
            return;
        };
        for choice in choices {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(pieces) = delta
                .get("text_citations")
                .and_then(|pieces| Vec::<TextCitations>::deserialize(pieces).ok())
            else {
                continue;
            };
            let mut closed = Vec::new();
            for piece in pieces {
                let cited = self.open.entry((index, piece.start)).or_default();
                cited.extend(piece.citations);
                if piece.end.is_some() {
                    let citations = self.open.remove(&(index, piece.start)).unwrap_or_default();
                    closed.push(TextCitations { citations, ..piece });
                }
            }
            let annotations = web_search::url_citations(&closed);
            if !annotations.is_empty() {
                delta.insert("annotations".to_owned(), Value::Array(annotations));
            }
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
        assert_eq!(take_tool_use(object).searches, 2);
        assert!(!object.contains_key(SERVER_TOOL_USE));
        annotate(object);
        assert_eq!(
            completion["choices"][0]["message"]["annotations"],
            json!([{"type": "url_citation", "url_citation": {"url": "https://a.example",
                "title": "A", "start_index": 0, "end_index": 13}}])
        );
    }

    #[test]
    fn a_streamed_web_cited_block_is_annotated_in_the_delta_closing_it() {
        let citation = web_search::citation("https://a.example", Some("A"), None);
        let chunk = |index: u64, pieces: Value| json!({"choices": [{"index": index, "delta": {"text_citations": pieces}}]});
        let mut annotations = StreamAnnotations::default();
        let mut stream = [
            chunk(0, json!([{"start": 4, "citations": []}])),
            chunk(1, json!([{"start": 4, "citations": [citation.clone()]}])),
            chunk(0, json!([{"start": 4, "citations": [citation]}])),
            chunk(0, json!([{"start": 4, "end": 9, "citations": []}])),
            chunk(1, json!([{"start": 4, "end": 6, "citations": []}])),
            chunk(0, json!([{"start": 4, "end": 9, "citations": []}])),
        ];
        for chunk in &mut stream {
            annotations.annotate(chunk.as_object_mut().expect("object"));
        }
        let annotated = |chunk: &Value| chunk["choices"][0]["delta"].get("annotations").cloned();
        assert_eq!(annotated(&stream[0]), None);
        assert_eq!(annotated(&stream[2]), None);
        let expected = |end: u64| {
            json!([{"type": "url_citation", "url_citation": {"url": "https://a.example",
                "title": "A", "start_index": 4, "end_index": end}}])
        };
        assert_eq!(annotated(&stream[3]), Some(expected(9)));
        assert_eq!(annotated(&stream[4]), Some(expected(6)));
        // A block closed twice (or never opened) cites nothing.
        assert_eq!(annotated(&stream[5]), None);
        assert!(annotations.open.is_empty());
    }
}
