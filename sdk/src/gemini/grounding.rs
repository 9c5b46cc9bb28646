//! Gemini's Google Search grounding (see [`crate::web_search`]): the `google_search` tool a
//! request for search adds, and the candidate's `groundingMetadata` read back as the searches
//! made (`webSearchQueries`) and as `text_citations` (each `groundingSupports` segment citing
//! its `groundingChunks` web pages).

use serde_json::{Value, json};

use crate::openai::{ChatRequest, TextCitations};
use crate::web_search;

/// The tool asking Gemini to ground its answer in Google Search, when the request asks for web
/// search.
pub fn tool(request: &ChatRequest) -> Option<Value> {
    web_search::options(request).map(|_| json!({"google_search": {}}))
}

/// The searches a candidate's grounding reports: its queries, at least one when it cites pages.
pub fn searches(candidate: &Value) -> u64 {
    let Some(metadata) = candidate.get("groundingMetadata") else {
        return 0;
    };
    let queries = (metadata.get("webSearchQueries").and_then(Value::as_array)).map_or(0, Vec::len);
    let cited = (metadata.get("groundingChunks").and_then(Value::as_array))
        .is_some_and(|chunks| !chunks.is_empty());
    let queries = u64::try_from(queries).unwrap_or(u64::MAX);
    if cited { queries.max(1) } else { queries }
}

/// The web pages a candidate's answer `content` cites: one entry per supported segment, with
/// Gemini's byte offsets turned into the character offsets of `text_citations`.
pub fn citations(candidate: &Value, content: &str) -> Vec<TextCitations> {
    let Some(metadata) = candidate.get("groundingMetadata") else {
        return Vec::new();
    };
    let pages: Vec<Option<&Value>> = (metadata.get("groundingChunks").and_then(Value::as_array))
        .map(|chunks| chunks.iter().map(|chunk| chunk.get("web")).collect())
        .unwrap_or_default();
    let supports = (metadata.get("groundingSupports").and_then(Value::as_array))
        .into_iter()
        .flatten();
    let mut cited = Vec::new();
    for support in supports {
        let segment = support.get("segment");
        let offset = |name: &str| {
            let byte = segment
                .and_then(|segment| segment.get(name))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            characters_before(content, byte)
        };
        let text = segment
            .and_then(|segment| segment.get("text"))
            .and_then(Value::as_str);
        let citations: Vec<Value> = (support.get("groundingChunkIndices"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .filter_map(|index| pages.get(usize::try_from(index).ok()?).copied().flatten())
            .filter_map(|page| {
                let url = page.get("uri").and_then(Value::as_str)?;
                let title = page.get("title").and_then(Value::as_str);
                Some(web_search::citation(url, title, text))
            })
            .collect();
        if !citations.is_empty() {
            cited.push(TextCitations {
                start: offset("startIndex"),
                end: Some(offset("endIndex")),
                citations,
            });
        }
    }
    cited
}

/// The characters of `text` in its first `bytes` bytes (all of them past its end).
fn characters_before(text: &str, bytes: u64) -> u64 {
    let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
    let count = text
        .char_indices()
        .take_while(|(index, _)| *index < bytes)
        .count();
    u64::try_from(count).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supports_cite_their_pages_at_character_offsets() {
        let candidate = json!({"groundingMetadata": {
            "webSearchQueries": ["weather paris"],
            "groundingChunks": [{"web": {"uri": "https://a.example", "title": "A"}}],
            "groundingSupports": [{"segment": {"startIndex": 3, "endIndex": 9, "text": "sunny"},
                "groundingChunkIndices": [0, 7]}],
        }});
        assert_eq!(searches(&candidate), 1);
        let cited = citations(&candidate, "é: sunny!");
        assert_eq!(cited.len(), 1);
        assert_eq!((cited[0].start, cited[0].end), (2, Some(8)));
        assert_eq!(cited[0].citations[0]["url"], "https://a.example");
        assert_eq!(searches(&json!({})), 0);
    }
}
