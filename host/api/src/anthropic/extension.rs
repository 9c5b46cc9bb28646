//! What a Messages request says that the canonical chat format has no place for, gathered into
//! the canonical request's Anthropic extension ([`ANTHROPIC_EXTENSION`]) so that an
//! Anthropic-native upstream still gets it: the client's `anthropic-beta` and
//! `anthropic-version` headers, `cache_control` on tools, the details of tool results
//! (`is_error`, `cache_control`, and content that is more than text, such as images), and the
//! blocks that canonical parts only approximate (documents with their `citations`, `title` and
//! `context`, search results, cited text), by the position of the part they stand for. Adapters
//! for other wire formats never send the extension upstream.

use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use switchyard_sdk::openai::ANTHROPIC_EXTENSION;

/// The extension being gathered while a request is translated.
#[derive(Debug, Default)]
pub struct Extension {
    beta: Vec<String>,
    version: Option<String>,
    tool_cache_control: Map<String, Value>,
    tool_results: Map<String, Value>,
    blocks: Vec<Value>,
}

/// Document source types the Anthropic adapter rebuilds from the canonical part (a `file`
/// part's data or URL, a text part's text), so the extension need not repeat the data.
const REBUILT_SOURCES: [&str; 3] = ["base64", "url", "text"];

impl Extension {
    /// Remembers the `cache_control` of the tool sent upstream as `name`.
    pub fn tool(&mut self, name: &str, tool: &Value) {
        if let Some(cache_control) = tool.get("cache_control").filter(|c| !c.is_null()) {
            self.tool_cache_control
                .insert(name.to_owned(), cache_control.clone());
        }
    }

    /// Remembers what a `tool_result` block says beyond its text: `is_error`, `cache_control`,
    /// and its content blocks whole when any of them is more than plain text.
    pub fn tool_result(&mut self, id: &str, block: &Value) {
        let mut details = Map::new();
        if let Some(is_error) = block.get("is_error").filter(|e| e.is_boolean()) {
            details.insert("is_error".to_owned(), is_error.clone());
        }
        if let Some(cache_control) = block.get("cache_control").filter(|c| !c.is_null()) {
            details.insert("cache_control".to_owned(), cache_control.clone());
        }
        if let Some(Value::Array(content)) = block.get("content")
            && !content.iter().all(is_plain_text)
        {
            details.insert("content".to_owned(), Value::Array(content.clone()));
        }
        if !details.is_empty() {
            self.tool_results
                .insert(id.to_owned(), Value::Object(details));
        }
    }

    /// Remembers `block` as what canonical part `part` of message `message` stands for, when
    /// the part loses something of it: a document (less a source the adapter rebuilds from the
    /// part), a search result, or text with citations.
    pub fn block(&mut self, message: usize, part: usize, block: &Value) {
        let Value::Object(fields) = block else {
            return;
        };
        let mut fields = fields.clone();
        match fields.get("type").and_then(Value::as_str) {
            Some("document") => {
                let rebuilt = fields
                    .get("source")
                    .and_then(|source| source.get("type"))
                    .and_then(Value::as_str)
                    .is_some_and(|kind| REBUILT_SOURCES.contains(&kind));
                if rebuilt {
                    fields.remove("source");
                }
            }
            Some("search_result") => {}
            Some("text") if fields.get("citations").is_some_and(|c| !c.is_null()) => {}
            _ => return,
        }
        self.blocks
            .push(json!({"message": message, "part": part, "block": fields}));
    }

    /// Takes the client's `anthropic-beta` values (each header may list several, separated by
    /// commas) and its `anthropic-version`.
    pub fn headers(&mut self, headers: &HeaderMap) {
        self.beta = headers
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|beta| !beta.is_empty())
            .map(str::to_owned)
            .collect();
        self.version = headers
            .get("anthropic-version")
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|version| !version.is_empty())
            .map(str::to_owned);
    }

    /// Writes the extension into the canonical request `chat`, when there is anything to say.
    pub fn write(self, chat: &mut Map<String, Value>) {
        let mut extension = Map::new();
        if !self.beta.is_empty() {
            let beta = self.beta.into_iter().map(Value::String).collect();
            extension.insert("beta".to_owned(), Value::Array(beta));
        }
        if let Some(version) = self.version {
            extension.insert("version".to_owned(), Value::String(version));
        }
        if !self.tool_cache_control.is_empty() {
            extension.insert(
                "tool_cache_control".to_owned(),
                Value::Object(self.tool_cache_control),
            );
        }
        if !self.tool_results.is_empty() {
            extension.insert("tool_results".to_owned(), Value::Object(self.tool_results));
        }
        if !self.blocks.is_empty() {
            extension.insert("blocks".to_owned(), Value::Array(self.blocks));
        }
        if !extension.is_empty() {
            chat.insert(ANTHROPIC_EXTENSION.to_owned(), Value::Object(extension));
        }
    }
}

/// A `{"type": "text", "text": ...}` block with nothing else (no `cache_control`, no
/// citations), which the canonical tool message's text carries whole.
fn is_plain_text(block: &Value) -> bool {
    block.as_object().is_some_and(|block| {
        block.get("type").and_then(Value::as_str) == Some("text")
            && block.get("text").is_some_and(Value::is_string)
            && block.len() == 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn written(extension: Extension) -> Value {
        let mut chat = Map::new();
        extension.write(&mut chat);
        chat.get(ANTHROPIC_EXTENSION)
            .cloned()
            .unwrap_or(Value::Null)
    }

    #[test]
    fn headers_are_split_on_commas_across_repeated_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            "anthropic-beta",
            HeaderValue::from_static("claude-code-20250219, interleaved-thinking-2025-05-14"),
        );
        headers.append(
            "anthropic-beta",
            HeaderValue::from_static("fine-grained-tool-streaming-2025-05-14,"),
        );
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        let mut extension = Extension::default();
        extension.headers(&headers);
        assert_eq!(
            written(extension),
            json!({
                "beta": ["claude-code-20250219", "interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"],
                "version": "2023-06-01",
            })
        );
    }

    #[test]
    fn tool_results_keep_only_what_their_text_loses() {
        let mut extension = Extension::default();
        extension.tool_result(
            "plain",
            &json!({"type": "tool_result", "tool_use_id": "plain", "content": [{"type": "text", "text": "ok"}]}),
        );
        extension.tool_result(
            "failed",
            &json!({"type": "tool_result", "tool_use_id": "failed", "content": "boom", "is_error": true, "cache_control": {"type": "ephemeral"}}),
        );
        let picture = json!([
            {"type": "text", "text": "a chart"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
        ]);
        extension.tool_result(
            "picture",
            &json!({"type": "tool_result", "tool_use_id": "picture", "content": picture}),
        );
        extension.tool(
            "weather",
            &json!({"name": "weather", "cache_control": {"type": "ephemeral"}}),
        );
        extension.tool("plain", &json!({"name": "plain"}));
        assert_eq!(
            written(extension),
            json!({
                "tool_cache_control": {"weather": {"type": "ephemeral"}},
                "tool_results": {
                    "failed": {"is_error": true, "cache_control": {"type": "ephemeral"}},
                    "picture": {"content": picture},
                },
            })
        );
        assert_eq!(written(Extension::default()), Value::Null);
    }

    #[test]
    fn blocks_keep_what_their_part_loses_but_not_data_it_repeats() {
        let mut extension = Extension::default();
        let pdf = json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
            "title": "Report", "context": "Q3", "citations": {"enabled": true}});
        let custom = json!({"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "a"}]}});
        let search = json!({"type": "search_result", "source": "https://example.com", "title": "t", "content": []});
        extension.block(1, 0, &pdf);
        extension.block(1, 1, &custom);
        extension.block(1, 2, &search);
        extension.block(1, 3, &json!({"type": "text", "text": "plain"}));
        extension.block(
            2,
            0,
            &json!({"type": "text", "text": "cited", "citations": []}),
        );
        extension.block(
            2,
            1,
            &json!({"type": "text", "text": "uncited", "citations": null}),
        );
        assert_eq!(
            written(extension)["blocks"],
            json!([
                {"message": 1, "part": 0, "block": {"type": "document", "title": "Report", "context": "Q3", "citations": {"enabled": true}}},
                {"message": 1, "part": 1, "block": custom},
                {"message": 1, "part": 2, "block": search},
                {"message": 2, "part": 0, "block": {"type": "text", "text": "cited", "citations": []}},
            ])
        );
    }
}
